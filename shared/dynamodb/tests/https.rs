//! The SDK's HTTP client (`wristband_dynamodb::https`) over real TLS: a local server with a
//! certificate made for this test, and the DynamoDB client talking to it. DynamoDB Local
//! is plain HTTP, so these are the tests that hold the client to verifying servers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use wristband_dynamodb::aws::{dynamodb_config, AwsEnv};
use wristband_dynamodb::https;
use wristband_dynamodb_lite::env::Credentials;

const ITEM: &str = r#"{"Item":{"jti":{"S":"from-the-tls-server"}}}"#;

/// What the server saw: one entry per HTTP request that got through the handshake.
type Seen = Arc<Mutex<Vec<String>>>;

struct Server {
    port: u16,
    seen: Seen,
    cert: rustls::pki_types::CertificateDer<'static>,
}

/// A TLS server for `localhost` answering every request with `ITEM`, or never answering
/// when `silent`.
async fn server(silent: bool) -> Server {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = made.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                loop {
                    let Some(head) = read_request(&mut tls).await else {
                        return;
                    };
                    log.lock().unwrap().push(head);
                    if silent {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                         content-length: {}\r\n\r\n{ITEM}",
                        ITEM.len()
                    );
                    if tls.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { port, seen, cert }
}

/// One request's head (lower-cased), its body read and dropped; `None` at end of stream.
async fn read_request(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).ok()?.to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head)
}

fn dynamodb(endpoint: String, roots: https::Roots) -> aws_sdk_dynamodb::Client {
    let env = AwsEnv {
        region: "eu-west-1".into(),
        endpoint_url: Some(endpoint),
        credentials: Some(Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret".into(),
            session_token: Some("session-token-from-the-environment".into()),
            account_id: None,
        }),
        app_name: Some("wristband-LoginFunction-1x".into()),
    };
    let conf = dynamodb_config(env)
        .http_client(https::client(roots))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1000))
                .read_timeout(Duration::from_millis(300))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn trusting(cert: &rustls::pki_types::CertificateDer<'static>) -> https::Roots {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    https::Roots::Only(roots)
}

async fn get_item(
    client: &aws_sdk_dynamodb::Client,
) -> Result<Option<String>, aws_sdk_dynamodb::Error> {
    let out = client
        .get_item()
        .table_name("revoked")
        .key("jti", AttributeValue::S("abc".into()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out
        .item()
        .and_then(|i| i.get("jti"))
        .and_then(|v| v.as_s().ok())
        .cloned())
}

#[tokio::test]
async fn sdk_requests_go_over_verified_tls_as_http1() {
    let server = server(false).await;
    let client = dynamodb(
        format!("https://localhost:{}", server.port),
        trusting(&server.cert),
    );
    for _ in 0..2 {
        let jti = get_item(&client).await.expect("answered over TLS");
        assert_eq!(jti.as_deref(), Some("from-the-tls-server"));
    }
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for head in &seen {
        assert!(head.starts_with("post / http/1.1\r\n"), "{head}");
        assert!(
            head.contains("\r\nauthorization: aws4-hmac-sha256 credential=akidtest/"),
            "signed with the environment's keys: {head}"
        );
        assert!(
            head.contains("/eu-west-1/dynamodb/aws4_request"),
            "for the environment's region: {head}"
        );
        assert!(
            head.contains("\r\nx-amz-security-token: session-token-from-the-environment\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nx-amz-target: dynamodb_20120810.getitem\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("\r\nhost: localhost:{}\r\n", server.port)));
        assert!(
            head.lines().any(|l| l.starts_with("x-amz-user-agent:")
                && l.contains(" app/wristband-loginfunction-1x")),
            "the function's name as the app name: {head}"
        );
    }
}

#[tokio::test]
async fn a_server_the_roots_do_not_vouch_for_is_refused() {
    let server = server(false).await;
    // The platform's roots do not include a certificate made a moment ago.
    let client = dynamodb(
        format!("https://localhost:{}", server.port),
        https::Roots::Platform,
    );
    let err = get_item(&client).await.expect_err("untrusted certificate");
    assert!(
        format!("{err:?}").contains("UnknownIssuer"),
        "refused for its issuer: {err:?}"
    );
    assert!(server.seen.lock().unwrap().is_empty(), "no request sent");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let server = server(false).await;
    // Trusted certificate, but made for `localhost`, not for 127.0.0.1.
    let client = dynamodb(
        format!("https://127.0.0.1:{}", server.port),
        trusting(&server.cert),
    );
    let err = get_item(&client).await.expect_err("name mismatch");
    assert!(
        format!("{err:?}").contains("NotValidForName"),
        "refused for its name: {err:?}"
    );
    assert!(server.seen.lock().unwrap().is_empty(), "no request sent");
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_not_a_hang() {
    let server = server(true).await;
    let client = dynamodb(
        format!("https://localhost:{}", server.port),
        trusting(&server.cert),
    );
    let started = Instant::now();
    let err = get_item(&client).await.expect_err("no answer");
    // read timeout 300 ms; the bound is loose (a loaded machine), the point is no hang.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(format!("{err:?}").contains("Timeout"), "{err:?}");
    assert_eq!(server.seen.lock().unwrap().len(), 1, "the request was sent");
}

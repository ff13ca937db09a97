//! SesMailer against a local HTTP server that records what it gets and answers as told:
//! the request (method, path, signed headers, JSON), the retries and their bounds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials as SdkCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use proptest::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wristband_core::mail::{Mail, Mailer};
use wristband_core::StoreError;
use wristband_dynamodb_lite::env::Credentials;
use wristband_dynamodb_lite::tls::Roots;
use wristband_dynamodb_lite::Policy;
use wristband_ses::{send_email_body, SesMailer};

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Names lower-cased, in the order sent.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers, in turn (the last one from then on).
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str, &'static [(&'static str, &'static str)]),
    /// Reads the request and never answers.
    Hang,
}

const OK: Reply = Reply::Status(200, r#"{"MessageId":"m-1"}"#, &[]);

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn server(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let log = log.clone();
            let replies = replies.clone();
            tokio::spawn(async move {
                // Requests on one connection, one after another (the pool keeps it alive).
                while let Some(request) = read_request(&mut tcp).await {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(request);
                        log.len()
                    };
                    let reply = replies[(n - 1).min(replies.len() - 1)].clone();
                    let Reply::Status(status, body, headers) = reply else {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    };
                    let mut answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        answer.push_str(&format!("{k}: {v}\r\n"));
                    }
                    answer.push_str("\r\n");
                    answer.push_str(body);
                    if tcp.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { url, seen }
}

async fn read_request(tcp: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap().split(' ');
    let (method, path) = (start.next().unwrap(), start.next().unwrap());
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    })
}

fn keys(session_token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: session_token.map(str::to_owned),
        account_id: None,
    }
}

/// Short enough for tests, the shape of the default.
fn quick() -> Policy {
    Policy {
        connect_timeout: Duration::from_millis(300),
        attempt_timeout: Duration::from_millis(400),
        total_timeout: Duration::from_millis(1500),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

fn mailer(url: &str, credentials: Option<Credentials>) -> SesMailer {
    SesMailer::new(
        "Wristband <no-reply@example.com>",
        url,
        "eu-west-1".into(),
        credentials,
        Roots::Platform,
        quick(),
    )
    .unwrap()
}

fn mail() -> Mail {
    Mail {
        to: "ann@example.com".into(),
        subject: "Verify your address".into(),
        text: "Open https://app.example.com/verify-email#token=SECRET-LINK-TOKEN".into(),
        html: "<p><a href=\"https://app.example.com/verify-email#token=SECRET-LINK-TOKEN\">Verify</a> \u{e9}</p>".into(),
    }
}

/// The SDK's signature of the request the server saw (`x-amz-date` as sent).
fn sdk_signature(seen: &Seen, keys: &Credentials) -> String {
    let date = seen.header("x-amz-date").expect("x-amz-date");
    let at = parse_amz_date(date);
    let identity: Identity = SdkCredentials::new(
        &keys.access_key_id,
        &keys.secret_access_key,
        keys.session_token.clone(),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("ses")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = seen.header("host").unwrap();
    let headers = [
        ("content-type", seen.header("content-type").unwrap()),
        ("host", host),
    ];
    let request = SignableRequest::new(
        "POST",
        format!("http://{host}{}", seen.path),
        headers.into_iter(),
        SignableBody::Bytes(&seen.body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let authorization = instructions
        .headers()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_owned());
    authorization.unwrap()
}

/// `YYYYMMDDTHHMMSSZ` back to a time (days from civil, Howard Hinnant's algorithm).
fn parse_amz_date(date: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (hh, mm, ss) = (n(9..11), n(11..13), n(13..15));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    SystemTime::UNIX_EPOCH + Duration::from_secs((days * 86_400 + hh * 3600 + mm * 60 + ss) as u64)
}

#[tokio::test]
async fn one_signed_post_with_the_send_email_json() {
    for token in [None, Some("IQoJb3JpZ2luX2VjEJr//session/token==")] {
        let server = server(vec![OK]).await;
        let keys = keys(token);
        mailer(&server.url, Some(keys.clone()))
            .send(&mail())
            .await
            .expect("sent");
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let seen = &seen[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/v2/email/outbound-emails");
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert_eq!(
            seen.header("host"),
            Some(server.url.trim_start_matches("http://"))
        );
        assert_eq!(seen.header("x-amz-target"), None);
        assert_eq!(seen.header("x-amz-security-token"), token);
        let authorization = seen.header("authorization").unwrap();
        let signed = if token.is_some() {
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
        } else {
            "SignedHeaders=content-type;host;x-amz-date,"
        };
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/eu-west-1/ses/aws4_request, ")
                && authorization.contains(signed),
            "{authorization}"
        );
        assert_eq!(authorization, sdk_signature(seen, &keys));

        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        let m = mail();
        assert_eq!(
            body,
            json!({
                "FromEmailAddress": "Wristband <no-reply@example.com>",
                "Destination": {"ToAddresses": ["ann@example.com"]},
                "Content": {"Simple": {
                    "Subject": {"Data": m.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": m.text, "Charset": "UTF-8"},
                        "Html": {"Data": m.html, "Charset": "UTF-8"},
                    },
                }},
            })
        );
    }
}

#[tokio::test]
async fn the_function_name_travels_in_the_user_agent() {
    let server = server(vec![OK, OK]).await;
    for (function, agent) in [
        (None, "wristband"),
        (
            Some("stack-EmailFunction-9Xy"),
            "wristband app/stack-EmailFunction-9Xy",
        ),
    ] {
        let vars = |key: &str| match key {
            "AWS_ENDPOINT_URL_SESV2" => Some(server.url.clone()),
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
            "AWS_LAMBDA_FUNCTION_NAME" => function.map(str::to_owned),
            _ => None,
        };
        SesMailer::from_vars("no-reply@example.com", vars, Roots::Platform, quick())
            .unwrap()
            .send(&mail())
            .await
            .expect("sent");
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen.last().unwrap().header("user-agent"), Some(agent));
    }
}

#[tokio::test]
async fn a_500_is_retried() {
    let server = server(vec![Reply::Status(500, "{}", &[]), OK]).await;
    mailer(&server.url, Some(keys(None)))
        .send(&mail())
        .await
        .expect("sent on the second attempt");
    assert_eq!(server.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn throttling_is_retried() {
    for throttled in [
        Reply::Status(429, r#"{"message":"slow down"}"#, &[]),
        Reply::Status(
            400,
            r#"{"message":"Maximum sending rate exceeded."}"#,
            &[(
                "x-amzn-errortype",
                "TooManyRequestsException:http://internal/",
            )],
        ),
        Reply::Status(400, r#"{"__type":"TooManyRequestsException"}"#, &[]),
    ] {
        let server = server(vec![throttled, OK]).await;
        mailer(&server.url, Some(keys(None)))
            .send(&mail())
            .await
            .expect("sent after the throttling");
        assert_eq!(server.seen.lock().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn retries_stop_at_the_policy_then_unavailable() {
    let server = server(vec![Reply::Status(503, "{}", &[])]).await;
    let started = Instant::now();
    let err = mailer(&server.url, Some(keys(None)))
        .send(&mail())
        .await
        .expect_err("never answered 2xx");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(server.seen.lock().unwrap().len(), 3, "max_attempts");
    assert!(
        started.elapsed() < quick().total_timeout,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_gives_up_within_the_total_time() {
    let server = server(vec![Reply::Hang]).await;
    let started = Instant::now();
    let err = mailer(&server.url, Some(keys(None)))
        .send(&mail())
        .await
        .expect_err("no answer");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let took = started.elapsed();
    assert!(
        took < quick().total_timeout + Duration::from_millis(300),
        "{took:?}"
    );
    let sent = server.seen.lock().unwrap().len();
    assert!((1..=3).contains(&sent), "{sent}");
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let err = mailer(&dead, Some(keys(None)))
        .send(&mail())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

/// Other 4xx: not retried, and `Unavailable` too (the caller answers 503): the text has
/// SES's code, never the message, the recipient or what SES said about them.
#[tokio::test]
async fn a_refusal_fails_closed_at_once_naming_only_the_code() {
    let server = server(vec![Reply::Status(
        400,
        r#"{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: ann@example.com"}"#,
        &[("x-amzn-errortype", "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/")],
    )])
    .await;
    let err = mailer(&server.url, Some(keys(None)))
        .send(&mail())
        .await
        .expect_err("refused");
    assert_eq!(server.seen.lock().unwrap().len(), 1, "not retried");
    let StoreError::Unavailable(source) = &err else {
        panic!("{err:?}")
    };
    let text = format!("{source} {err:?}");
    assert!(
        text.contains("MessageRejected") && text.contains("400"),
        "{text}"
    );
    for secret in [
        "ann@example.com",
        "SECRET-LINK-TOKEN",
        "not verified",
        "Verify",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn without_credentials_nothing_is_sent() {
    let server = server(vec![OK]).await;
    let err = mailer(&server.url, None)
        .send(&mail())
        .await
        .expect_err("no keys");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(server.seen.lock().unwrap().is_empty());
}

#[test]
fn debug_shows_neither_keys_nor_mail() {
    let m = mailer("http://127.0.0.1:9", Some(keys(Some("the-session-token"))));
    let debug = format!("{m:?} {:?}", mail());
    for secret in [
        "EXAMPLEKEY",
        "the-session-token",
        "SECRET-LINK-TOKEN",
        "ann@",
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the texts (quotes, backslashes, controls, any Unicode), the body is JSON
    /// that gives each back exactly, where SES reads it.
    #[test]
    fn the_body_carries_any_text_exactly(
        from in "\\PC{0,40}",
        to in any::<String>(),
        subject in any::<String>(),
        text in any::<String>(),
        html in "(\\PC|[\"\\\\<>&\u{0}-\u{1f}\u{2028}])*",
    ) {
        let mail = Mail { to: to.clone(), subject: subject.clone(), text: text.clone(), html: html.clone() };
        let body: Value = serde_json::from_slice(&send_email_body(&from, &mail)).unwrap();
        prop_assert_eq!(&body["FromEmailAddress"], &json!(from));
        prop_assert_eq!(&body["Destination"]["ToAddresses"], &json!([to]));
        let simple = &body["Content"]["Simple"];
        prop_assert_eq!(&simple["Subject"], &json!({"Data": subject, "Charset": "UTF-8"}));
        prop_assert_eq!(&simple["Body"]["Text"], &json!({"Data": text, "Charset": "UTF-8"}));
        prop_assert_eq!(&simple["Body"]["Html"], &json!({"Data": html, "Charset": "UTF-8"}));
        prop_assert_eq!(body.as_object().unwrap().len(), 3);
    }
}

//! Our SigV4 against the AWS SDK's own signer (`aws-sigv4`, a dev-dependency only): the
//! same request, keys, region and time must give the same `Authorization` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as SdkCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use wristband_dynamodb_lite::env::Credentials;
use wristband_dynamodb_lite::sigv4::{Request, Signer, CONTENT_TYPE};

fn sdk_authorization(
    keys: &Credentials,
    region: &str,
    host: &str,
    target: &str,
    body: &[u8],
    at: SystemTime,
) -> (String, Vec<(String, String)>) {
    let request = Request {
        path: "/",
        content_type: CONTENT_TYPE,
        target: Some(target),
        body,
    };
    sdk_sign("dynamodb", keys, region, host, &request, at)
}

/// The SDK's signature of `POST https://{host}{path}` with the request's headers.
fn sdk_sign(
    service: &str,
    keys: &Credentials,
    region: &str,
    host: &str,
    request: &Request<'_>,
    at: SystemTime,
) -> (String, Vec<(String, String)>) {
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
        .region(region)
        .name(service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![("content-type", request.content_type), ("host", host)];
    if let Some(target) = request.target {
        headers.push(("x-amz-target", target));
    }
    let request = SignableRequest::new(
        "POST",
        format!("https://{host}{}", request.path),
        headers.into_iter(),
        SignableBody::Bytes(request.body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let added: Vec<(String, String)> = instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let authorization = added
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
        .expect("an Authorization header");
    (authorization, added)
}

fn keys(session_token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: session_token.map(str::to_owned),
        account_id: None,
    }
}

#[test]
fn same_signature_as_the_sdk() {
    let body = br#"{"RequestItems":{"revoked":{"Keys":[{"jti":{"S":"abc"}},{"jti":{"S":"sid#x"}},{"jti":{"S":"user#\u00e9l\u00e8ve"}}],"ConsistentRead":true}}}"#;
    let cases = [
        (
            None,
            "eu-west-1",
            "dynamodb.eu-west-1.amazonaws.com",
            1_795_219_199u64,
        ),
        (
            Some("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+session/token=="),
            "us-east-1",
            "dynamodb.us-east-1.amazonaws.com",
            1_795_219_200,
        ),
        (None, "us-east-1", "127.0.0.1:8000", 951_782_400),
    ];
    for (token, region, host, secs) in cases {
        let at = UNIX_EPOCH + Duration::from_secs(secs);
        let keys = keys(token);
        let signer = Signer::new(region, keys.clone());
        for (target, body) in [
            ("DynamoDB_20120810.BatchGetItem", &body[..]),
            ("DynamoDB_20120810.GetItem", b"{}"),
            ("DynamoDB_20120810.BatchGetItem", b""),
        ] {
            let ours = signer.sign(host, target, body, at);
            let (theirs, added) = sdk_authorization(&keys, region, host, target, body, at);
            assert_eq!(ours.authorization, theirs, "{region} {host} {target}");
            let header = |name: &str| {
                added
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(Some(ours.amz_date), header("x-amz-date"));
            assert_eq!(ours.session_token, header("x-amz-security-token"));
        }
    }
}

/// SES API v2's SendEmail: REST-JSON, `POST /v2/email/outbound-emails`, no X-Amz-Target,
/// signing name `ses`.
#[test]
fn same_signature_as_the_sdk_for_ses_send_email() {
    let body = br#"{"FromEmailAddress":"no-reply@example.com","Destination":{"ToAddresses":["ann@example.com"]},"Content":{"Simple":{"Subject":{"Data":"Verify","Charset":"UTF-8"},"Body":{"Text":{"Data":"https://app.example.com/verify-email#token=x","Charset":"UTF-8"},"Html":{"Data":"<p>\u00e9</p>","Charset":"UTF-8"}}}}}"#;
    let cases = [
        (
            None,
            "eu-west-1",
            "email.eu-west-1.amazonaws.com",
            1_795_219_199u64,
        ),
        (
            Some("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+session/token=="),
            "us-east-1",
            "email.us-east-1.amazonaws.com",
            1_795_219_200,
        ),
        (None, "us-east-1", "127.0.0.1:8005", 951_782_400),
    ];
    for (token, region, host, secs) in cases {
        let at = UNIX_EPOCH + Duration::from_secs(secs);
        let keys = keys(token);
        let signer = Signer::for_service("ses", region, keys.clone());
        for body in [&body[..], b"{}", b""] {
            let request = Request {
                path: "/v2/email/outbound-emails",
                content_type: "application/json",
                target: None,
                body,
            };
            let ours = signer.sign_request(host, &request, at);
            let (theirs, added) = sdk_sign("ses", &keys, region, host, &request, at);
            assert_eq!(ours.authorization, theirs, "{region} {host}");
            assert!(
                ours.authorization.contains("/ses/aws4_request")
                    && !ours.authorization.contains("x-amz-target"),
                "{}",
                ours.authorization
            );
            let header = |name: &str| {
                added
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(Some(ours.amz_date), header("x-amz-date"));
            assert_eq!(ours.session_token, header("x-amz-security-token"));
        }
    }
}

/// The derived key is kept per day: a request on the next day must not reuse it.
#[test]
fn a_new_day_gets_a_new_signing_key() {
    let keys = keys(None);
    let signer = Signer::new("us-east-1", keys.clone());
    let host = "dynamodb.us-east-1.amazonaws.com";
    let target = "DynamoDB_20120810.BatchGetItem";
    for secs in [1_795_219_199u64, 1_795_219_200, 1_795_219_199] {
        let at = UNIX_EPOCH + Duration::from_secs(secs);
        let ours = signer.sign(host, target, b"{}", at);
        let (theirs, _) = sdk_authorization(&keys, "us-east-1", host, target, b"{}", at);
        assert_eq!(ours.authorization, theirs, "{secs}");
    }
}

#[test]
fn credentials_never_show_in_debug() {
    let keys = keys(Some("the-session-token"));
    let debug = format!("{keys:?}");
    assert!(!debug.contains("EXAMPLEKEY"), "{debug}");
    assert!(!debug.contains("the-session-token"), "{debug}");
    assert!(debug.contains("AKIDEXAMPLE"), "{debug}");
}

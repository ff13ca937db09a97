//! lambda_http turns an HTTP API event into a `Request` with `Url::parse(..).unwrap()` on
//! the Host, X-Forwarded-Proto and path: `serve` answers 400 to exactly the events that
//! would panic there (`conversion_would_panic`), and lets every other one through.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lambda_http::request::LambdaRequest;
use proptest::prelude::*;
use serde_json::json;
use wristband_http::lambda::conversion_would_panic;

fn event(host: Option<&str>, proto: Option<&str>, stage: &str, path: &str) -> LambdaRequest {
    full_event(host, proto, stage, path, "", None)
}

fn full_event(
    host: Option<&str>,
    proto: Option<&str>,
    stage: &str,
    path: &str,
    query: &str,
    base64_body: Option<&str>,
) -> LambdaRequest {
    let mut headers = serde_json::Map::new();
    if let Some(host) = host {
        headers.insert("host".into(), json!(host));
    }
    if let Some(proto) = proto {
        headers.insert("x-forwarded-proto".into(), json!(proto));
    }
    serde_json::from_value(json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "1", "apiId": "a", "domainName": "api.example", "domainPrefix": "api",
            "requestId": "r", "routeKey": "$default", "stage": stage, "time": "t", "timeEpoch": 0,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "u"}
        },
        "isBase64Encoded": base64_body.is_some(),
        "body": base64_body,
    }))
    .expect("an HTTP API event")
}

/// Whether lambda_http's conversion panics on `event`. Its panics are expected here and
/// kept out of the output; any other panic is reported as usual.
fn conversion_panics(event: LambdaRequest) -> bool {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or_default();
            if !(file.contains("lambda_http") || file.contains("aws_lambda_events")) {
                default(info);
            }
        }));
    });
    catch_unwind(AssertUnwindSafe(|| lambda_http::Request::from(event))).is_err()
}

#[test]
fn headers_that_are_no_part_of_a_url_are_caught() {
    let cases = [
        (Some("a b"), None),
        (Some("[::1"), None),
        (Some("api.example"), Some("x y")),
        (Some("api.example"), Some("")),
        (Some("host:99999999"), None),
    ];
    for (host, proto) in cases {
        let e = event(host, proto, "$default", "/protected");
        assert!(conversion_would_panic(&e), "{host:?} {proto:?}");
        assert!(
            conversion_panics(e),
            "lambda_http still panics on {host:?} {proto:?}"
        );
    }
}

#[test]
fn ordinary_requests_pass() {
    let cases = [
        (Some("api.example"), None, "$default", "/protected"),
        (
            Some("xn--bcher-kva.example"),
            Some("https"),
            "$default",
            "/me",
        ),
        (
            Some("127.0.0.1:9000"),
            Some("http"),
            "$default",
            "/sessions/abc",
        ),
        (None, None, "$default", "/protected"),
        (Some("api.example"), None, "prod", "/protected"),
        (Some("api.example"), None, "prod", "/prod/protected"),
        (Some("api.example"), None, "$default", "/a b/%zz/é"),
    ];
    for (host, proto, stage, path) in cases {
        let e = event(host, proto, stage, path);
        assert!(
            !conversion_would_panic(&e),
            "{host:?} {proto:?} {stage} {path}"
        );
        assert!(!conversion_panics(e));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Exactly the panicking events are refused: none slips through, none is refused
    /// that would have worked.
    #[test]
    fn refused_exactly_when_the_conversion_would_panic(
        host in proptest::option::of("[a-z0-9.:\\[\\] %@/#?\\-]{0,12}|\\PC{0,6}"),
        proto in proptest::option::of("https?|[a-z +.:/]{0,6}|\\PC{0,4}"),
        stage in "\\$default|prod|[a-z ]{0,4}",
        path in "/[a-z0-9/ %#?.\\-]{0,12}|\\PC{0,6}",
        query in "[a-z0-9=&% \"<>{}|^`]{0,8}|\\PC{0,4}",
        body in proptest::option::of("[A-Za-z0-9+/=]{0,8}|\\PC{0,4}"),
    ) {
        let e = full_event(host.as_deref(), proto.as_deref(), &stage, &path, &query, body.as_deref());
        let refused = conversion_would_panic(&e);
        prop_assert_eq!(refused, conversion_panics(e));
    }
}

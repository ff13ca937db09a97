//! `wristband_http::lambda::http_request`, the HTTP API event -> `Request` conversion of
//! `serve`: the same request as lambda_http's own conversion, without its panics (it
//! unwraps a URL parse of the client's `Host` and `X-Forwarded-Proto`, and base64 bodies).

use std::panic::{catch_unwind, AssertUnwindSafe};

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, Context, Request, RequestExt};
use proptest::prelude::*;
use serde_json::json;
use wristband_http::lambda::http_request;
use wristband_http::ErrorResponse as _;

fn event_json(
    host: Option<&str>,
    proto: Option<&str>,
    stage: &str,
    path: &str,
    query: &str,
    base64_body: Option<&str>,
) -> serde_json::Value {
    let mut headers = serde_json::Map::new();
    if let Some(host) = host {
        headers.insert("host".into(), json!(host));
    }
    if let Some(proto) = proto {
        headers.insert("x-forwarded-proto".into(), json!(proto));
    }
    headers.insert("authorization".into(), json!("Bearer abc"));
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "cookies": ["a=1", "b=2"],
        "headers": headers,
        "pathParameters": {"sid": "abc"},
        "requestContext": {
            "accountId": "1", "apiId": "a", "domainName": "api.example", "domainPrefix": "api",
            "requestId": "r-1", "routeKey": "$default", "stage": stage, "time": "t",
            "timeEpoch": 0,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "u"}
        },
        "isBase64Encoded": base64_body.is_some(),
        "body": base64_body.unwrap_or("{\"username\":\"alice\"}"),
    })
}

fn ours(event: &serde_json::Value) -> Result<Request, wristband_http::ApiError> {
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
    http_request(event, Context::default())
}

/// lambda_http's conversion, `None` where it panics. Its panics are expected here and
/// kept out of the output; any other panic is reported as usual.
fn theirs(event: &serde_json::Value) -> Option<Request> {
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
    let event: LambdaRequest = serde_json::from_value(event.clone()).unwrap();
    catch_unwind(AssertUnwindSafe(|| Request::from(event))).ok()
}

fn body(req: &Request) -> Vec<u8> {
    match req.body() {
        Body::Empty => vec![],
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => unreachable!("no other body kinds"),
    }
}

/// Everything wristband reads from a request, and what else lambda_http's carries.
fn assert_same(ours: &Request, theirs: &Request) {
    assert_eq!(ours.method(), theirs.method());
    assert_eq!(ours.uri().path(), theirs.uri().path());
    assert_eq!(ours.uri().query(), theirs.uri().query());
    assert_eq!(ours.headers(), theirs.headers());
    assert_eq!(body(ours), body(theirs));
    assert_eq!(ours.raw_http_path(), theirs.raw_http_path());
    assert_eq!(
        ours.query_string_parameters(),
        theirs.query_string_parameters()
    );
    assert_eq!(ours.path_parameters(), theirs.path_parameters());
    assert_eq!(ours.stage_variables(), theirs.stage_variables());
    let id = |r: &Request| match r.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (c.request_id.clone(), c.http.source_ip.clone()),
        _ => panic!("no HTTP API request context"),
    };
    assert_eq!(id(ours), id(theirs));
}

#[test]
fn the_same_request_as_lambda_http() {
    let cases = [
        (Some("api.example"), None, "$default", "/protected", ""),
        (
            Some("api.example"),
            Some("https"),
            "$default",
            "/sessions/abc",
            "a=1&b=%20&a=2",
        ),
        (
            Some("127.0.0.1:9000"),
            Some("http"),
            "$default",
            "/login",
            "x",
        ),
        (None, None, "$default", "/me", ""),
        (Some("api.example"), None, "prod", "/protected", ""),
        (Some("api.example"), None, "prod", "/prod/protected", ""),
        (
            Some("api.example"),
            None,
            "$default",
            "/a b/%zz/é\"{}",
            "q=1",
        ),
    ];
    for (host, proto, stage, path, query) in cases {
        let event = event_json(host, proto, stage, path, query, None);
        let theirs = theirs(&event).expect("lambda_http converts it");
        assert_same(&ours(&event).expect("we convert it"), &theirs);
    }
    let event = event_json(
        Some("api.example"),
        None,
        "$default",
        "/login",
        "",
        Some("eyJhIjoxfQ=="),
    );
    let req = ours(&event).unwrap();
    assert_eq!(body(&req), b"{\"a\":1}");
    assert_same(&req, &theirs(&event).unwrap());
}

#[test]
fn what_lambda_http_panics_on() {
    // Host and X-Forwarded-Proto are not ours to read: the request is served as usual.
    for (host, proto) in [("a b", "https"), ("[::1", "https"), ("api.example", "x y")] {
        let event = event_json(Some(host), Some(proto), "$default", "/protected", "", None);
        assert!(
            theirs(&event).is_none(),
            "lambda_http no longer panics on {host:?} {proto:?}"
        );
        let req = ours(&event).expect("served");
        assert_eq!(req.uri().path(), "/protected");
    }
    // A query that no URI can hold, a body that is not base64: 400.
    for (query, body) in [("a b", None), ("x\"y", None), ("", Some("not base64!"))] {
        let event = event_json(Some("api.example"), None, "$default", "/me", query, body);
        assert!(
            theirs(&event).is_none(),
            "lambda_http no longer panics on {query:?} {body:?}"
        );
        let err = ours(&event).expect_err("refused");
        assert_eq!(err.status().as_u16(), 400, "{query:?} {body:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Never a panic; where lambda_http converts the event, the same request. Compared on
    /// paths without what its URL parser rewrites: dot segments and backslashes, and `#`
    /// and `?`, which it takes for a fragment and a query and cuts off the path (ours keeps
    /// them, percent-encoded), and trailing spaces, which it trims from the whole URL. And
    /// only with a Host and scheme its `https://{Host}{path}` reads back as host + path:
    /// `Host: ""` makes `https:///prod/` (host `prod`, path `/`), `Host: a/b` moves `/b`
    /// into the path, another scheme is parsed by other rules.
    #[test]
    fn never_panics_and_agrees_with_lambda_http(
        host in proptest::option::of("[a-z0-9.:\\[\\] %@/#?\\-]{0,12}|\\PC{0,6}"),
        proto in proptest::option::of("https?|[a-z +.:/]{0,6}|\\PC{0,4}"),
        stage in "\\$default|prod|[a-z ]{0,4}",
        path in "/[a-z0-9/ %#?\\-]{0,12}|\\PC{0,6}",
        query in "[a-z0-9=&% \"<>{}|^`]{0,8}|\\PC{0,4}",
        base64_body in proptest::option::of("[A-Za-z0-9+/=]{0,8}|\\PC{0,4}"),
    ) {
        let event = event_json(host.as_deref(), proto.as_deref(), &stage, &path, &query, base64_body.as_deref());
        let ours = ours(&event);
        let plain = path.starts_with('/')
            && !path.contains(['.', '\\', '#', '?'])
            && !path.ends_with(|c: char| c <= ' ')
            && host.as_deref().is_none_or(|h| !h.is_empty() && !h.contains(['/', '\\', '?', '#', '@', '%']))
            && proto.as_deref().is_none_or(|p| p == "http" || p == "https");
        if let (Ok(ours), Some(theirs), true) = (&ours, theirs(&event), plain) {
            assert_same(ours, &theirs);
        }
        if let Err(err) = &ours {
            prop_assert_eq!(err.status().as_u16(), 400);
        }
    }
}

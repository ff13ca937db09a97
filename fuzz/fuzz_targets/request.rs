//! Fuzz target: request parsing, from a `lambda_http::Request` built from fuzz bytes (method,
//! path, content type, `Authorization` and `User-Agent` bytes, body bytes) to the whole
//! `wristband_http::respond` with a handler that reads everything a real endpoint reads.
//!
//! Half of the inputs arrive as API Gateway sends them: a payload 2.0 event (JSON, the
//! body base64-encoded when it is not UTF-8, repeated headers comma-joined) turned into a
//! request by `lambda_http`, as `wristband_http::serve` does. The others are built directly,
//! with header bytes that are not UTF-8 (what `cargo lambda watch` could pass on).
//!
//! Checked: never a panic; `Fields::from_request` gives fields or a 400, for form bodies
//! exactly the fields of a byte-level model (never a lossy decode); `bearer_token` a
//! token without whitespace or comma that ends the header, or a 400/401; `respond` a
//! contract status with a JSON body (an error object on every 4xx), never a 5xx; bodies over
//! 16 KiB are a 400 on every routed path and method.

#![no_main]

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use wristband_http::api;
use wristband_http::request::{
    basic_credentials, bearer_token, client_info, parse_basic, Fields, MAX_BODY_BYTES,
};
use wristband_http::routes::{self, Route};
use wristband_http::{respond, ApiError, Cors, Reply};

const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "OPTIONS", "PATCH", "HEAD"];
const PATHS: &[&str] = &[
    "/register",
    "/login",
    "/refresh",
    "/protected",
    "/me",
    "/logout",
    "/logout/all",
    "/sessions",
    "/password",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/",
    "/nope",
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "text/plain",
    "application/json; charset=latin-1",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: u8,
    path: u8,
    /// `/sessions/<sid>` when `path` points past the table.
    sid: &'a str,
    content_type: Option<u8>,
    authorization: Option<&'a [u8]>,
    second_authorization: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    origin: bool,
    via_event: bool,
    oversized: bool,
    body: &'a [u8],
}

impl Input<'_> {
    fn method(&self) -> &'static str {
        METHODS[usize::from(self.method) % METHODS.len()]
    }

    fn path(&self) -> String {
        match PATHS.get(usize::from(self.path) % (PATHS.len() + 1)) {
            Some(path) => (*path).to_owned(),
            None => format!("/sessions/{}", self.sid),
        }
    }

    fn content_type(&self) -> Option<&'static str> {
        self.content_type
            .map(|i| CONTENT_TYPES[usize::from(i) % CONTENT_TYPES.len()])
    }

    fn body(&self) -> Vec<u8> {
        let mut body = self.body.to_vec();
        if self.oversized {
            body.resize(MAX_BODY_BYTES + 1 + body.len() % 7, b'a');
        }
        body
    }

    /// Built directly: header values are any bytes HTTP allows, UTF-8 or not.
    fn direct(&self) -> Option<Request> {
        let mut builder = lambda_http::http::Request::builder()
            .method(Method::from_bytes(self.method().as_bytes()).ok()?)
            .uri(self.path().as_str());
        if let Some(ct) = self.content_type() {
            builder = builder.header("content-type", ct);
        }
        for value in [self.authorization, self.second_authorization]
            .into_iter()
            .flatten()
        {
            builder = builder.header("authorization", HeaderValue::from_bytes(value).ok()?);
        }
        if let Some(ua) = self.user_agent {
            builder = builder.header("user-agent", HeaderValue::from_bytes(ua).ok()?);
        }
        if self.origin {
            builder = builder.header("origin", "http://localhost:3000");
        }
        builder.body(Body::Binary(self.body())).ok()
    }

    /// As API Gateway (HTTP API, payload 2.0) hands it over: a JSON event, text only.
    fn event(&self) -> Option<Request> {
        let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
        let mut headers = serde_json::Map::new();
        headers.insert("host".into(), json!("wristband.example"));
        if let Some(ct) = self.content_type() {
            headers.insert("content-type".into(), json!(ct));
        }
        let authorization: Vec<String> = [self.authorization, self.second_authorization]
            .into_iter()
            .flatten()
            .map(text)
            .collect::<Option<_>>()?;
        if !authorization.is_empty() {
            headers.insert("authorization".into(), json!(authorization.join(",")));
        }
        if let Some(ua) = self.user_agent {
            headers.insert("user-agent".into(), json!(text(ua)?));
        }
        if self.origin {
            headers.insert("origin".into(), json!("http://localhost:3000"));
        }
        let body = self.body();
        let (body, is_base64) = match String::from_utf8(body) {
            Ok(text) => (text, false),
            Err(err) => (STANDARD.encode(err.into_bytes()), true),
        };
        let path = self.path();
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "wristband",
                "domainName": "wristband.example",
                "http": {
                    "method": self.method(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.10",
                    "userAgent": "fuzz"
                },
                "requestId": "fuzz-request",
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1795348800000u64
            },
            "body": body,
            "isBase64Encoded": is_base64
        });
        // A path API Gateway could not have routed (the event's path is a URI path).
        if lambda_http::http::Uri::try_from(path.as_str()).is_err() {
            return None;
        }
        let event: LambdaRequest = serde_json::from_value(event).ok()?;
        Some(Request::from(event))
    }
}

/// Reads everything a real endpoint reads, and answers what it read.
async fn reading_handler(route: &Route, req: Request) -> Result<Reply, ApiError> {
    let token = bearer_token(&req)?.map(str::len);
    let client = client_info(&req)?;
    let fields = Fields::from_request(&req)?;
    let username = fields.optional_str("username")?.map(str::to_owned);
    let password = fields.optional_str("password")?.map(str::len);
    Reply::ok(json!({
        "route": format!("{} {}", route.method, route.path),
        "token_len": token,
        "user_agent": client.user_agent,
        "username": username,
        "password_len": password,
    }))
}

/// `+` is a space, `%` and two hex digits a byte, anything else itself: the byte-level
/// model of a form component (as in http/tests/properties.rs, independent of the code).
fn model_decode(component: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    while i < component.len() {
        match component[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < component.len() => {
                if let (Some(h), Some(l)) = (hex(component[i + 1]), hex(component[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The fields of a form body, `None` where it must be refused (not UTF-8, a decoded name
/// or value not UTF-8, a name given twice, over 16 KiB).
fn model_form(body: &[u8]) -> Option<BTreeMap<String, String>> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    std::str::from_utf8(body).ok()?;
    let mut fields = BTreeMap::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        let key = String::from_utf8(model_decode(key)).ok()?;
        let value = String::from_utf8(model_decode(value)).ok()?;
        if fields.insert(key, value).is_some() {
            return None;
        }
    }
    Some(fields)
}

fn is_form(req: &Request) -> bool {
    let Some(ct) = req.headers().get("content-type") else {
        return false;
    };
    let ct = ct.to_str().unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn check_parsers(req: &Request) {
    let body = req.body().as_ref();
    let parsed = Fields::from_request(req);
    if is_form(req) {
        // Never lossy: exactly the model's fields, or a 400 exactly where it refuses.
        match (model_form(body), &parsed) {
            (Some(expected), Ok(fields)) => {
                for (key, value) in &expected {
                    assert_eq!(fields.optional_str(key).unwrap(), Some(value.as_str()));
                }
            }
            (None, Err(_)) => {}
            (expected, parsed) => panic!("model {expected:?}, parsed {:?}", parsed.is_ok()),
        }
    }
    match parsed {
        Ok(fields) => {
            // Fields only ever come from UTF-8 text (or an empty body).
            assert!(std::str::from_utf8(body).is_ok());
            if let Err(err) = fields.optional_str("password") {
                assert_eq!(err.code(), "invalid_request");
            }
        }
        Err(err) => assert_eq!(err.code(), "invalid_request", "{err}"),
    }
    // HTTP Basic client credentials (/oauth/introspect): a pair, no credentials, or the
    // one invalid_client, never a panic; a pair is what parse_basic makes of the header.
    match basic_credentials(req) {
        Ok(Some(pair)) => {
            let header = req
                .headers()
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(parse_basic(header), Some(pair));
        }
        Ok(None) => assert!(req.headers().get("authorization").is_none()),
        Err(err) => assert_eq!(err.code(), "invalid_client"),
    }
    match bearer_token(req) {
        Ok(Some(token)) => {
            assert!(!token.is_empty());
            assert!(!token.contains(char::is_whitespace) && !token.contains(','));
            let header = req.headers().get("authorization").unwrap();
            assert!(header.as_bytes().ends_with(token.as_bytes()));
            assert_eq!(req.headers().get_all("authorization").iter().count(), 1);
        }
        Ok(None) => {}
        Err(err) => assert!(
            ["invalid_request", "invalid_token"].contains(&err.code()),
            "{err}"
        ),
    }
}

fuzz_target!(|input: Input<'_>| {
    let req = if input.via_event {
        input.event()
    } else {
        input.direct()
    };
    let Some(req) = req else {
        return;
    };
    check_parsers(&req);

    let routed = routes::match_route(api::all_routes(), &req).is_ok();
    let oversized = req.body().as_ref().len() > MAX_BODY_BYTES;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = runtime.block_on(respond(
        api::all_routes(),
        &Cors::new(vec!["http://localhost:3000".to_owned()]),
        req,
        reading_handler,
    ));
    let status = response.status().as_u16();
    assert!(
        [200, 204, 400, 401, 404, 405].contains(&status),
        "status {status}"
    );
    if routed && oversized {
        assert_eq!(status, 400, "a body over 16 KiB");
    }
    match response.body() {
        Body::Empty => assert_eq!(status, 204),
        Body::Text(text) => {
            let json: Value = serde_json::from_str(text).expect("a JSON body");
            if status >= 400 {
                assert!(
                    json["error"].is_string() && json["message"].is_string(),
                    "{text}"
                );
            }
        }
        _ => panic!("a binary response body"),
    }
});

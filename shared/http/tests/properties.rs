//! Properties of request parsing (issue 9: proptest for the parsers): form and JSON
//! bodies, `Authorization: Bearer`, path matching and the whole `respond`.
//!
//! Form bodies are checked against a byte-level model of `application/x-www-form-urlencoded`
//! written here independently of the implementation: whatever the bytes, the body is either
//! parsed into exactly the model's UTF-8 fields or refused with a 400, never a panic, never
//! a lossy decode. Case counts are modest so that `cargo test` stays fast; the fuzz target
//! `fuzz/fuzz_targets/request.rs` runs the same code for minutes.

use std::collections::BTreeMap;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use serde_json::Value;
use wristband_http::api;
use wristband_http::request::{bearer_token, parse_bearer, Fields, MAX_BODY_BYTES};
use wristband_http::routes::{self, Route};
use wristband_http::ErrorResponse as _;
use wristband_http::{respond, ApiError, Cors, Reply};

const FORM: &str = "application/x-www-form-urlencoded";

fn post(content_type: Option<&str>, body: Vec<u8>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/login");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::Binary(body)).unwrap()
}

fn assert_400(err: &ApiError) -> Result<(), TestCaseError> {
    prop_assert_eq!(err.code(), "invalid_request", "{}", err);
    prop_assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    Ok(())
}

// --- the model of a form body ------------------------------------------------------------

/// `+` is a space, `%` and two hex digits a byte, anything else itself (a `%` without two
/// hex digits stays a `%`, as in the WHATWG URL standard's percent-decode).
fn model_decode(component: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    while i < component.len() {
        match component[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < component.len() => {
                match (hex(component[i + 1]), hex(component[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The fields of a form body, or `None` where wristband must refuse it: a body that is not
/// UTF-8, a decoded name or value that is not, or a name given twice.
fn model_form(body: &[u8]) -> Option<BTreeMap<String, String>> {
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

/// Bytes that make form bodies interesting: separators, escapes (good and broken), hex
/// digits, ASCII letters, UTF-8 lead and continuation bytes, and a whole multi-byte char.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => proptest::sample::select(b"&=+%".to_vec()),
        4 => proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
        2 => proptest::sample::select(b"xyz_.-~ ".to_vec()),
        2 => 0x80u8..=0xff,
        1 => any::<u8>(),
    ];
    let piece = prop_oneof![
        8 => byte.prop_map(|b| vec![b]),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("%C3%A9".as_bytes().to_vec()),
        1 => Just("%ED%A0%80".as_bytes().to_vec()),
    ];
    proptest::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

fn form_content_type() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        FORM,
        "application/x-www-form-urlencoded; charset=utf-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        " application/x-www-form-urlencoded ;charset=UTF-8",
    ])
}

/// Percent-encodes every byte but ASCII letters and digits; spaces as `+` or `%20`, hex
/// digits in either case.
fn form_encode(text: &str, plus_for_space: bool, lower_hex: bool) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(b as char),
            b' ' if plus_for_space => out.push('+'),
            _ if lower_hex => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes: exactly the model's fields, or a 400 exactly where the model refuses.
    #[test]
    fn form_bodies_parse_as_the_model_says_or_are_refused(
        body in form_bytes(),
        content_type in form_content_type(),
    ) {
        let parsed = Fields::from_request(&post(Some(content_type), body.clone()));
        match (model_form(&body), parsed) {
            (Some(expected), Ok(fields)) => {
                for (key, value) in &expected {
                    prop_assert_eq!(fields.optional_str(key).unwrap(), Some(value.as_str()));
                }
                // No field the model does not have (a name that cannot occur in the body).
                prop_assert_eq!(fields.optional_str("\u{1}absent").unwrap(), None);
            }
            (None, Err(err)) => assert_400(&err)?,
            (expected, parsed) => prop_assert!(
                false,
                "model {:?} but parsed {:?} for {:?}",
                expected,
                parsed.map(|_| "fields"),
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// Never lossy: a value given as percent-encoded bytes comes back as exactly those bytes,
    /// or (when they are not UTF-8) the body is refused. Two different byte strings can
    /// never become the same password.
    #[test]
    fn encoded_bytes_come_back_exactly_or_are_refused(
        value in proptest::collection::vec(any::<u8>(), 0..48),
        lower_hex in any::<bool>(),
    ) {
        let encoded: String = value
            .iter()
            .map(|b| if lower_hex { format!("%{b:02x}") } else { format!("%{b:02X}") })
            .collect();
        let body = format!("username=alice&password={encoded}").into_bytes();
        match (std::str::from_utf8(&value), Fields::from_request(&post(Some(FORM), body))) {
            (Ok(text), Ok(fields)) => {
                prop_assert_eq!(fields.required_str("password").unwrap().as_bytes(), text.as_bytes());
            }
            (Err(_), Err(err)) => assert_400(&err)?,
            (text, parsed) => prop_assert!(false, "{:?} parsed as {:?}", text, parsed.is_ok()),
        }
    }

    /// The same for raw (unencoded) bytes in the body.
    #[test]
    fn raw_bytes_come_back_exactly_or_are_refused(
        value in proptest::collection::vec(any::<u8>().prop_filter("not a separator", |b| !b"&=+%".contains(b)), 0..48),
    ) {
        let mut body = b"password=".to_vec();
        body.extend_from_slice(&value);
        match (std::str::from_utf8(&value), Fields::from_request(&post(Some(FORM), body))) {
            (Ok(text), Ok(fields)) => prop_assert_eq!(fields.required_str("password").unwrap(), text),
            (Err(_), Err(err)) => assert_400(&err)?,
            (text, parsed) => prop_assert!(false, "{:?} parsed as {:?}", text, parsed.is_ok()),
        }
    }

    /// Round trip: any UTF-8 fields, url-encoded, parse back to themselves.
    #[test]
    fn url_encoded_utf8_fields_round_trip(
        fields in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..6),
        plus_for_space in any::<bool>(),
        lower_hex in any::<bool>(),
        content_type in form_content_type(),
    ) {
        let body = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    form_encode(k, plus_for_space, lower_hex),
                    form_encode(v, plus_for_space, lower_hex)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        prop_assume!(body.len() <= MAX_BODY_BYTES);
        let parsed = Fields::from_request(&post(Some(content_type), body.into_bytes())).unwrap();
        for (key, value) in &fields {
            prop_assert_eq!(parsed.required_str(key).unwrap(), value.as_str());
        }
    }

    /// JSON objects round trip: strings are kept exactly, other types are named as such.
    #[test]
    fn json_objects_round_trip(
        strings in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..6),
        numbers in proptest::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..3),
        content_type in proptest::sample::select(vec![None, Some("application/json"), Some("application/json; charset=utf-8"), Some("text/plain")]),
    ) {
        let mut object = serde_json::Map::new();
        for (k, v) in &strings {
            object.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, n) in &numbers {
            object.insert(format!("#{k}"), Value::from(*n));
        }
        let body = serde_json::to_vec(&Value::Object(object)).unwrap();
        prop_assume!(body.len() <= MAX_BODY_BYTES);
        let parsed = Fields::from_request(&post(content_type, body)).unwrap();
        for (key, value) in &strings {
            prop_assert_eq!(parsed.required_str(key).unwrap(), value.as_str());
        }
        for key in numbers.keys() {
            let err = parsed.required_str(&format!("#{key}")).unwrap_err();
            assert_400(&err)?;
        }
    }

    /// Any bytes as a JSON body: fields or a 400, and fields only from UTF-8 text.
    #[test]
    fn json_bodies_are_parsed_or_refused_never_a_panic(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..128),
            r#"[{}\[\]":,0-9a-z\\ ]{0,64}"#.prop_map(String::into_bytes),
            (any::<String>(), any::<u16>()).prop_map(|(s, u)| format!(r#"{{"password":"{s}\u{u:04x}"}}"#).into_bytes()),
        ],
    ) {
        match Fields::from_request(&post(Some("application/json"), body.clone())) {
            Ok(fields) => {
                prop_assert!(std::str::from_utf8(&body).is_ok());
                // Whatever the password field holds is a string or a typed refusal.
                if let Err(err) = fields.optional_str("password") {
                    assert_400(&err)?;
                }
            }
            Err(err) => assert_400(&err)?,
        }
    }

    /// `parse_bearer` on any text: `None` only for blank text, a token only when the text is
    /// exactly `<bearer in any case> <token without whitespace>`, else `invalid_token`.
    #[test]
    fn parse_bearer_accepts_exactly_the_bearer_shape(
        value in prop_oneof![
            any::<String>(),
            "(?i:bearer)[ \t]{0,2}[!-~ \t\u{a0}é]{0,20}",
        ],
    ) {
        match parse_bearer(&value) {
            Ok(None) => prop_assert!(value.trim().is_empty()),
            Ok(Some(token)) => {
                let scheme = value.strip_suffix(token).and_then(|s| s.strip_suffix(' '));
                prop_assert!(scheme.is_some_and(|s| s.eq_ignore_ascii_case("bearer")), "{:?}", value);
                prop_assert!(!token.is_empty() && !token.contains(char::is_whitespace));
            }
            Err(err) => {
                prop_assert_eq!(err.code(), "invalid_token");
                prop_assert!(!value.trim().is_empty());
            }
        }
    }

    /// Round trip: any token without whitespace, after any spelling of the scheme.
    #[test]
    fn bearer_tokens_round_trip(scheme in "(?i:bearer)", token in r"[!-~\u{80}-\u{10ffff}]{1,64}") {
        prop_assume!(!token.contains(char::is_whitespace));
        let header = format!("{scheme} {token}");
        prop_assert_eq!(parse_bearer(&header).unwrap(), Some(token.as_str()));
        if !token.contains(',') {
            let req = lambda_http::http::Request::builder()
                .header("authorization", HeaderValue::from_bytes(header.as_bytes()).unwrap())
                .body(Body::Empty)
                .unwrap();
            prop_assert_eq!(bearer_token(&req).unwrap(), Some(token.as_str()));
        }
    }

    /// Any header bytes (that HTTP allows in a value): a token that is UTF-8 and has no
    /// comma, or a 400 / 401, never a panic.
    #[test]
    fn authorization_header_bytes_never_panic(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..32).prop_map(|t| [b"Bearer ".to_vec(), t].concat()),
        ],
        twice in any::<bool>(),
    ) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            return Ok(()); // not a header value at all: never reaches a function
        };
        let mut req = lambda_http::http::Request::builder()
            .header("authorization", value.clone())
            .body(Body::Empty)
            .unwrap();
        if twice {
            req.headers_mut().append("authorization", value);
        }
        match bearer_token(&req) {
            Ok(Some(token)) => {
                prop_assert!(!twice);
                prop_assert!(!token.contains(',') && !token.is_empty());
                prop_assert!(bytes.ends_with(token.as_bytes()));
            }
            Ok(None) => prop_assert!(!twice),
            Err(err) => prop_assert!(["invalid_request", "invalid_token"].contains(&err.code())),
        }
    }
}

// --- paths ---------------------------------------------------------------------------------

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "", "register", "login", "refresh", "protected", "me", "logout", "all", "sessions",
            "password", ".well-known", "jwks.json", "openid-configuration", "LOGIN", "..", ".",
        ]).prop_map(str::to_owned),
        2 => "[A-Za-z0-9._~%-]{1,30}",
    ]
}

/// The route template a path is, by API.md, written out separately from the route table.
fn expected_template(path: &str) -> Option<(&'static str, Option<&str>)> {
    let fixed = [
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
    ];
    if let Some(template) = fixed.iter().find(|p| **p == path) {
        return Some((template, None));
    }
    let sid = path.strip_prefix("/sessions/")?;
    (!sid.is_empty() && !sid.contains('/')).then_some(("/sessions/{sid}", Some(sid)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A path is a route exactly when it spells one (`{sid}`: one non-empty segment),
    /// and the `sid` parameter is that segment, unchanged.
    #[test]
    fn paths_match_routes_exactly(segments in proptest::collection::vec(segment(), 0..4)) {
        let path = format!("/{}", segments.join("/"));
        let Ok(req) = lambda_http::http::Request::builder().uri(path.as_str()).body(Body::Empty) else {
            return Ok(()); // not a URI path (e.g. a stray `%`): never reaches a function
        };
        let found = api::all_routes()
            .iter()
            .find(|r| routes::path_param_of(r.path, req.uri().path()).is_some());
        let matched = routes::match_route(api::all_routes(), &req);
        match expected_template(req.uri().path()) {
            None => {
                prop_assert!(found.is_none(), "{} matched {:?}", path, found);
                prop_assert_eq!(matched.unwrap_err().code(), "not_found");
            }
            Some((template, sid)) => {
                let route = found.expect("a route");
                prop_assert_eq!(route.path, template, "{}", path);
                prop_assert!(matched.is_ok(), "{}", path);
                let param = routes::path_param(&req, route, "sid");
                prop_assert_eq!(param.as_deref(), sid);
            }
        }
    }
}

// --- the whole respond ----------------------------------------------------------------------

/// A handler that reads everything a real endpoint reads, and answers what it read.
async fn reading_handler(route: &Route, req: Request) -> Result<Reply, ApiError> {
    let token = bearer_token(&req)?.map(str::len);
    let fields = Fields::from_request(&req)?;
    let username = fields.optional_str("username")?.map(str::to_owned);
    Reply::ok(serde_json::json!({
        "route": format!("{} {}", route.method, route.path),
        "token_len": token,
        "username": username,
    }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any method, path, content type, Authorization bytes and body through `respond`: a
    /// contract status with a JSON body (an error body on every 4xx), never a panic or 5xx.
    #[test]
    fn respond_answers_every_request_with_a_contract_status(
        method in proptest::sample::select(vec!["GET", "POST", "DELETE", "PUT", "OPTIONS", "PATCH"]),
        segments in proptest::collection::vec(segment(), 1..3),
        content_type in proptest::sample::select(vec![None, Some("application/json"), Some(FORM), Some("text/plain")]),
        authorization in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..48)),
        body in prop_oneof![form_bytes(), proptest::collection::vec(any::<u8>(), 0..64), Just(vec![b'a'; MAX_BODY_BYTES + 1])],
    ) {
        let mut builder = lambda_http::http::Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("/{}", segments.join("/")).as_str());
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        if let Some(value) = authorization.and_then(|a| HeaderValue::from_bytes(&a).ok()) {
            builder = builder.header("authorization", value);
        }
        let Ok(req) = builder.body(Body::Binary(body)) else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let response = runtime.block_on(respond(api::all_routes(), &Cors::default(), req, reading_handler));
        let status = response.status().as_u16();
        prop_assert!([200, 204, 400, 401, 404, 405].contains(&status), "status {}", status);
        match response.body() {
            Body::Empty => prop_assert_eq!(status, 204),
            Body::Text(text) => {
                let json: Value = serde_json::from_str(text).unwrap();
                if status >= 400 {
                    prop_assert!(json["error"].is_string() && json["message"].is_string(), "{}", text);
                }
            }
            Body::Binary(_) => prop_assert!(false, "a binary response body"),
            _ => prop_assert!(false, "an unexpected body kind"),
        }
    }
}

// --- the authorizer's events ---------------------------------------------------------------

/// A cookie-mode configuration, its authenticator, and one valid access token with its
/// CSRF value.
fn cookie_mode() -> &'static (
    std::sync::Arc<wristband_core::Authenticator>,
    String,
    String,
) {
    static STATE: std::sync::OnceLock<(
        std::sync::Arc<wristband_core::Authenticator>,
        String,
        String,
    )> = std::sync::OnceLock::new();
    STATE.get_or_init(|| {
        let mut config = wristband_test_support::test_config();
        config.token_location = wristband_core::config::TokenLocation::BOTH;
        let pair = wristband_test_support::issued_pair(&config, "alice", &[], true);
        let csrf = pair.access.csrf.clone().expect("cookie mode: a CSRF value");
        let (authenticator, _) = wristband_test_support::in_memory_authenticator(&config);
        (authenticator, pair.access_token, csrf)
    })
}

fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,24}",
        any::<String>().prop_map(|s| s.chars().take(24).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any authorizer event: answered (never a panic); allowed only with the valid token
    /// placed in it, and a token from the cookie opens a write only with its CSRF value in
    /// the one X-CSRF-TOKEN header and no other token in an Authorization header.
    #[test]
    fn authorizer_events_allow_only_what_the_credential_rules_allow(
        method in proptest::option::of(proptest::sample::select(vec!["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "get", "BREW", ""])),
        extra_headers in proptest::collection::vec((prop_oneof![Just("authorization".to_owned()), Just("Authorization".to_owned()), Just("x-csrf-token".to_owned()), "[a-zA-Z-]{1,12}", header_text()], header_text()), 0..3),
        extra_cookies in proptest::collection::vec(header_text(), 0..3),
        in_header in any::<bool>(),
        in_cookie in any::<bool>(),
        csrf_header in any::<bool>(),
    ) {
        let (authenticator, token, csrf) = cookie_mode();
        let mut headers = serde_json::Map::new();
        for (name, value) in &extra_headers {
            headers.insert(name.clone(), Value::String(value.clone()));
        }
        if in_header {
            headers.insert("authorization".into(), Value::String(format!("Bearer {token}")));
        }
        if csrf_header {
            headers.insert("x-csrf-token".into(), Value::String(csrf.clone()));
        }
        let mut cookies = extra_cookies.clone();
        if in_cookie {
            cookies.insert(0, format!("access_token_cookie={token}"));
        }
        let mut event = serde_json::json!({
            "type": "REQUEST",
            "headers": headers,
            "cookies": cookies,
            "requestContext": {"http": {}},
        });
        if let Some(method) = method {
            event["requestContext"]["http"]["method"] = Value::String(method.to_owned());
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let answer = runtime.block_on(wristband_http::authorizer::authorize(
            authenticator,
            &wristband_core::Requirements::access(),
            event,
        ));
        // What the rules allow at most, decided here from the event alone: the token in
        // the one Authorization header, or (no other header credential) in the cookie,
        // with its CSRF value in the one X-CSRF-TOKEN header for anything but a read.
        let named = |wanted: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| value.as_str().unwrap().to_owned())
                .collect()
        };
        let (auths, csrfs) = (named("authorization"), named("x-csrf-token"));
        let by_header = auths.len() == 1 && auths[0] == format!("Bearer {token}");
        let no_header = auths.len() <= 1 && auths.iter().all(|v| v.trim().is_empty());
        let csrf_ok = csrfs.len() == 1 && csrfs[0] == *csrf;
        let write = !matches!(method, Some("GET" | "HEAD" | "OPTIONS"));
        let may = by_header || (in_cookie && no_header && (!write || csrf_ok));
        if answer.is_authorized {
            prop_assert!(may, "allowed: {:?}", (method, &headers, &cookies));
        }
        if !in_header && !in_cookie {
            prop_assert!(!answer.is_authorized);
        }
    }
}

// --- HTTP Basic client credentials ------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any id without `:` and any secret, form-urlencoded and base64'd as RFC 6749 §2.3.1
    /// asks, read back exactly; any other text is no pair (never a panic).
    #[test]
    fn basic_credentials_read_back_what_a_client_encodes(
        id in "[^:]{0,40}",
        secret in any::<String>().prop_map(|s| s.chars().take(40).collect::<String>()),
        scheme in proptest::sample::select(vec!["Basic", "basic", "BASIC"]),
    ) {
        use base64::Engine as _;
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let pair = format!("{}:{}", encode(&id), encode(&secret));
        let header = format!("{scheme} {}", base64::engine::general_purpose::STANDARD.encode(pair));
        prop_assert_eq!(
            wristband_http::request::parse_basic(&header),
            Some((id.clone(), secret.clone()))
        );
        // Unencoded pairs read back too when they hold no `%` or `+`.
        if !id.contains(['%', '+']) && !secret.contains(['%', '+']) {
            let raw = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")));
            prop_assert_eq!(wristband_http::request::parse_basic(&raw), Some((id, secret)));
        }
    }

    #[test]
    fn basic_credentials_of_any_text_never_panic(text in any::<String>()) {
        if let Some((id, _)) = wristband_http::request::parse_basic(&text) {
            // Only the Basic scheme, and a decoded id never holds the separator.
            prop_assert!(text.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("basic ")), "{}", text);
            prop_assert!(!id.contains(':') || text.contains('%'), "{}", text);
        }
    }
}

//! Reading requests: JSON and form bodies, the bearer token, the caller's metadata.
//!
//! Everything here runs before any argon2 or DynamoDB work, so bad input is cheap to refuse.
//! Text is UTF-8, strictly (API.md "Requests"): bytes that are not are a 400, never
//! decoded lossily, so two different byte strings never become the same password.

use std::collections::HashMap;

use base64::Engine as _;
use lambda_http::http::header::{self, HeaderName, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use wristband_core::store::ClientInfo;

use crate::error::ApiError;

/// Largest accepted body (API.md: over 16 KiB is a 400).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The fields of a JSON object or form body.
#[derive(Debug, Default)]
pub struct Fields(HashMap<String, Value>);

impl Fields {
    /// Parses the request body (API Gateway's base64 bodies are already decoded by
    /// `lambda_http`). An empty body has no fields. (The 16 KiB limit is enforced for
    /// every endpoint by [`crate::respond`], and again here for direct callers.)
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: &[u8] = req.body().as_ref();
        check_body_size(body)?;
        if is_form(req)? {
            return Self::from_form(body);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        // serde_json refuses invalid UTF-8 and escaped lone surrogates in the strings it
        // keeps; checking the whole text first also covers the ones it would skip.
        let text = std::str::from_utf8(body).map_err(|_| not_utf8("Request body"))?;
        match serde_json::from_str::<JsonObject>(text) {
            Ok(JsonObject {
                duplicate: Some(key),
                ..
            }) => Err(ApiError::invalid_request(format!(
                "Field {key} is given more than once"
            ))),
            Ok(JsonObject { fields, .. }) => Ok(Self(fields)),
            Err(err) if err.classify() == serde_json::error::Category::Data => Err(
                ApiError::invalid_request("Request body must be a JSON object"),
            ),
            Err(_) => Err(ApiError::invalid_request("Request body is not valid JSON")),
        }
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte, and the decoded
    /// bytes of every name and value must be UTF-8.
    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let text = std::str::from_utf8(body).map_err(|_| not_utf8("Request body"))?;
        let mut fields = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_decode(key).ok_or_else(|| not_utf8("A form field name"))?;
            let value = form_decode(value).ok_or_else(|| not_utf8(&format!("Field {key}")))?;
            if fields.contains_key(&key) {
                return Err(ApiError::invalid_request(format!(
                    "Field {key} is given more than once"
                )));
            }
            fields.insert(key, Value::String(value));
        }
        Ok(Self(fields))
    }

    /// A string field that must be there: `Missing <name> parameter` otherwise.
    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_str(name)?
            .ok_or_else(|| ApiError::invalid_request(format!("Missing {name} parameter")))
    }

    /// A JSON object field that must be there (a WebAuthn credential): a form body has
    /// none.
    pub fn required_object(&self, name: &str) -> Result<&Value, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(ApiError::invalid_request(format!(
                "Missing {name} parameter"
            ))),
            Some(value @ Value::Object(_)) => Ok(value),
            Some(_) => Err(ApiError::invalid_request(format!(
                "Field {name} must be a JSON object"
            ))),
        }
    }

    /// A string field that may be absent (or null).
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_request(format!(
                "Field {name} must be a string"
            ))),
        }
    }
}

/// A JSON body's top-level object, remembering a key given twice: parsers disagree on
/// which of two values wins (first, last), so wristband takes neither (as for forms).
struct JsonObject {
    fields: HashMap<String, Value>,
    duplicate: Option<String>,
}

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonObject, A::Error> {
                let mut fields = HashMap::new();
                let mut duplicate = None;
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    match fields.entry(key) {
                        std::collections::hash_map::Entry::Occupied(taken) => {
                            duplicate.get_or_insert_with(|| taken.key().clone());
                        }
                        std::collections::hash_map::Entry::Vacant(free) => {
                            free.insert(value);
                        }
                    }
                }
                Ok(JsonObject { fields, duplicate })
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// One form component, `+` and `%XX` decoded; `None` if the bytes are not UTF-8.
fn form_decode(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

fn not_utf8(what: &str) -> ApiError {
    ApiError::invalid_request(format!("{what} is not valid UTF-8"))
}

/// The 16 KiB rule (API.md: on every endpoint, also those that read no body).
pub fn check_body_size(body: &[u8]) -> Result<(), ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid_request(format!(
            "Request body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The text of a header we read: `None` when absent; a 400 when it is not UTF-8 or (as
/// several headers, or API Gateway's comma-joined values) given more than once.
pub fn header_utf8<'r>(req: &'r Request, name: &HeaderName) -> Result<Option<&'r str>, ApiError> {
    let mut values = req.headers().get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(more_than_once(name));
    }
    std::str::from_utf8(value.as_bytes())
        .map(Some)
        .map_err(|_| not_utf8(&format!("Header {}", title_case(name))))
}

fn more_than_once(name: &HeaderName) -> ApiError {
    ApiError::invalid_request(format!("More than one {} header", title_case(name)))
}

/// `user-agent` as people write it: `User-Agent`.
fn title_case(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn is_form(req: &Request) -> Result<bool, ApiError> {
    Ok(header_utf8(req, &header::CONTENT_TYPE)?
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false))
}

/// A header's text, if present and visible ASCII.
pub fn header_text<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <jwt>`, `None` when the request has none (a blank
/// header counts as none). A header of another shape is refused, never ignored; more than
/// one `Authorization` header is a 400 (API.md), never "the first one wins".
pub fn bearer_token(req: &Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = header_utf8(req, &header::AUTHORIZATION)? else {
        return Ok(None);
    };
    // API Gateway (payload 2.0) joins repeated headers with commas; a JWT never has one.
    if value.contains(',') {
        return Err(more_than_once(&header::AUTHORIZATION));
    }
    parse_bearer(value)
}

/// `Bearer <jwt>` (scheme case-insensitive, one space, no other whitespace), from the
/// header's text; shared by the HTTP functions and the authorizer.
pub fn parse_bearer(value: &str) -> Result<Option<&str>, ApiError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer")
                && !token.is_empty()
                && !token.contains(char::is_whitespace) =>
        {
            Ok(Some(token))
        }
        _ => Err(bad_authorization()),
    }
}

fn bad_authorization() -> ApiError {
    ApiError::InvalidToken("Authorization header must be 'Bearer <token>'")
}

/// A client's id and secret from HTTP Basic authentication (RFC 7617), decoded as RFC
/// 6749 §2.3.1 asks: each form-urlencoded, then `id:secret` in base64. `None` without an
/// `Authorization` header; any other scheme, bad base64, text that is not UTF-8 or has no
/// `:`, or several headers, is [`ApiError::InvalidClient`] (the caller answers a 401 with
/// `WWW-Authenticate: Basic`, never a hint of which part was wrong).
pub fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, ApiError> {
    let value = match header_utf8(req, &header::AUTHORIZATION) {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(None),
        Err(_) => return Err(ApiError::InvalidClient),
    };
    parse_basic(value).map(Some).ok_or(ApiError::InvalidClient)
}

/// `Basic <base64 of id:secret>` (scheme case-insensitive, one space), decoded.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.contains(char::is_whitespace) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// A query string parameter (`?after=alice`), `+` and `%XX` decoded; `None` when absent.
/// Given more than once, or not UTF-8 once decoded, it is a 400 naming it. Read from the
/// request's URI, where the raw query of API Gateway's event goes, else from the query
/// parameters the request was built with.
pub fn query_param(req: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let twice = || ApiError::invalid_request(format!("Parameter {name} is given more than once"));
    let Some(query) = req.uri().query() else {
        let values = req
            .query_string_parameters_ref()
            .and_then(|params| params.all(name))
            .unwrap_or_default();
        return match values.as_slice() {
            [] => Ok(None),
            [value] => Ok(Some((*value).to_owned())),
            _ => Err(twice()),
        };
    };
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key).as_deref() != Some(name) {
            continue;
        }
        let value = form_decode(value).ok_or_else(|| not_utf8(&format!("Parameter {name}")))?;
        if found.replace(value).is_some() {
            return Err(twice());
        }
    }
    Ok(found)
}

/// Payload 2.0's `cookies` as the one `Cookie` header a request would have carried
/// (`None` for no cookies, or for cookie text that is no header value).
pub fn cookie_header(cookies: &[String]) -> Option<HeaderValue> {
    if cookies.is_empty() {
        return None;
    }
    HeaderValue::from_str(&cookies.join("; ")).ok()
}

/// Who is calling, for the session list: user agent (at most 256 characters) and source IP.
pub fn client_info(req: &Request) -> Result<ClientInfo, ApiError> {
    let user_agent =
        header_utf8(req, &header::USER_AGENT)?.map(|v| v.chars().take(256).collect::<String>());
    Ok(ClientInfo {
        user_agent,
        source_ip: source_ip(req),
    })
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
}

/// API Gateway's request id (`requestContext.requestId`).
pub fn request_id(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn get(uri: &str) -> Request {
        lambda_http::http::Request::builder()
            .uri(uri)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn query_parameters_are_decoded_once_and_given_once() {
        let after = |uri: &str| query_param(&get(uri), "after");
        assert_eq!(after("/admin/users").unwrap(), None);
        assert_eq!(after("/admin/users?").unwrap(), None);
        assert_eq!(
            after("/admin/users?after=ann").unwrap().as_deref(),
            Some("ann")
        );
        assert_eq!(
            after("/admin/users?x=1&after=a%40b+c&y")
                .unwrap()
                .as_deref(),
            Some("a@b c")
        );
        assert_eq!(after("/admin/users?after").unwrap().as_deref(), Some(""));
        assert_eq!(after("/admin/users?afters=x").unwrap(), None);
        for bad in ["/admin/users?after=a&after=b", "/admin/users?after=%FF"] {
            match after(bad) {
                Err(ApiError::InvalidRequest(message)) => assert!(message.contains("after")),
                other => panic!("{bad}: {other:?}"),
            }
        }
        // A request built with its parameters beside the URI (no query in the URI).
        let req = get("/admin/users").with_query_string_parameters(
            [("after".to_owned(), "ann".to_owned())]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        );
        assert_eq!(query_param(&req, "after").unwrap().as_deref(), Some("ann"));
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/login");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::from(body)).unwrap()
    }

    fn with_auth(value: &str) -> Request {
        lambda_http::http::Request::builder()
            .uri("/protected")
            .header("authorization", value)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn json_body() {
        let f = Fields::from_request(&request(
            Some("application/json"),
            r#"{"username":"a","password":"b"}"#,
        ))
        .unwrap();
        assert_eq!(f.required_str("username").unwrap(), "a");
    }

    #[test]
    fn form_body_with_charset_and_escapes() {
        let f = Fields::from_request(&request(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            "username=al%40ice&password=p+w%26d",
        ))
        .unwrap();
        assert_eq!(f.required_str("username").unwrap(), "al@ice");
        assert_eq!(f.required_str("password").unwrap(), "p w&d");
    }

    #[test]
    fn duplicate_json_field_is_refused() {
        for body in [
            r#"{"username":"a","username":"b"}"#,
            r#"{"password":"x","username":"a","password":"y"}"#,
        ] {
            let err = Fields::from_request(&request(None, body)).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}");
            assert!(err.to_string().contains("more than once"), "{body}: {err}");
        }
        // Nested objects may repeat keys we never read; only the top level matters.
        let f =
            Fields::from_request(&request(None, r#"{"username":"a","x":{"k":1,"k":2}}"#)).unwrap();
        assert_eq!(f.required_str("username").unwrap(), "a");
    }

    #[test]
    fn duplicate_form_field_is_refused() {
        let err = Fields::from_request(&request(
            Some("application/x-www-form-urlencoded"),
            "username=a&username=b",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("username"));
    }

    #[test]
    fn missing_field_names_it() {
        let f = Fields::from_request(&request(None, r#"{"username":"a"}"#)).unwrap();
        assert_eq!(
            f.required_str("password").unwrap_err().to_string(),
            "Missing password parameter"
        );
        let f = Fields::from_request(&request(None, "")).unwrap();
        assert_eq!(
            f.required_str("username").unwrap_err().to_string(),
            "Missing username parameter"
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let f = Fields::from_request(&request(None, r#"{"username":5}"#)).unwrap();
        let err = f.required_str("username").unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("username"));
    }

    #[test]
    fn malformed_and_non_object_json() {
        for body in ["{", "[1,2]", "\"x\"", "{\"a\":}"] {
            let err = Fields::from_request(&request(Some("application/json"), body)).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}");
        }
    }

    #[test]
    fn oversized_body_even_a_form() {
        let body = format!("username={}", "a".repeat(MAX_BODY_BYTES));
        let err = Fields::from_request(&request(Some("application/x-www-form-urlencoded"), &body))
            .unwrap_err();
        assert!(err.to_string().contains("larger than 16384 bytes"));
    }

    #[test]
    fn oversized_body() {
        let body = format!(r#"{{"username":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let err = Fields::from_request(&request(None, &body)).unwrap_err();
        assert!(err.to_string().contains("larger than 16384 bytes"));
    }

    fn raw_request(content_type: &str, body: Vec<u8>) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("/login")
            .header("content-type", content_type)
            .body(Body::Binary(body))
            .unwrap()
    }

    #[test]
    fn form_bytes_that_are_not_utf8_are_refused_never_replaced() {
        const FORM: &str = "application/x-www-form-urlencoded";
        // Both used to decode to U+FFFD U+FFFD U+FFFD: two passwords, one string.
        for body in [
            "username=alice&password=%FF%FE%FD",
            "username=alice&password=%80%81%82",
            "username=al%C3&password=x",
            "%FF=1",
            "password=%ED%A0%80", // an encoded surrogate (CESU-8), not UTF-8
        ] {
            let err = Fields::from_request(&request(Some(FORM), body)).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}");
            assert!(err.to_string().contains("UTF-8"), "{body}: {err}");
        }
        // Raw (unencoded) bytes that are not UTF-8.
        let err =
            Fields::from_request(&raw_request(FORM, b"password=\xff\xfe".to_vec())).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        // Valid multi-byte UTF-8, encoded or raw, is kept exactly.
        let f =
            Fields::from_request(&request(Some(FORM), "password=%C3%A9t%C3%A9+%E2%82%AC")).unwrap();
        assert_eq!(f.required_str("password").unwrap(), "été €");
        let f = Fields::from_request(&request(Some(FORM), "password=été")).unwrap();
        assert_eq!(f.required_str("password").unwrap(), "été");
    }

    #[test]
    fn json_bytes_that_are_not_utf8_are_refused() {
        let mut body = br#"{"username":"alice","password":""#.to_vec();
        body.extend_from_slice(b"\xff\xfe\"}");
        let err = Fields::from_request(&raw_request("application/json", body)).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        // Also where serde would skip it: in a field nobody reads.
        let mut body = br#"{"username":"alice","other":""#.to_vec();
        body.extend_from_slice(b"\x80\"}");
        let err = Fields::from_request(&raw_request("application/json", body)).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        // An escaped lone surrogate is not a character either.
        let err =
            Fields::from_request(&request(None, r#"{"password":"\ud800abcdefgh"}"#)).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        let f = Fields::from_request(&request(None, r#"{"password":"\ud83d\ude00"}"#)).unwrap();
        assert_eq!(f.required_str("password").unwrap(), "😀");
    }

    #[test]
    fn headers_we_read_must_be_utf8_and_single() {
        use lambda_http::http::HeaderValue;
        let mut req = with_auth("Bearer abc");
        req.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xffabc").unwrap(),
        );
        assert_eq!(bearer_token(&req).unwrap_err().code(), "invalid_request");
        let mut req = with_auth("Bearer abc");
        req.headers_mut().insert(
            header::USER_AGENT,
            HeaderValue::from_bytes(b"agent \xc3").unwrap(),
        );
        assert_eq!(client_info(&req).unwrap_err().code(), "invalid_request");
        // Valid non-ASCII UTF-8 is text, kept.
        let mut req = with_auth("Bearer abc");
        req.headers_mut().insert(
            header::USER_AGENT,
            HeaderValue::from_bytes("Nävigator".as_bytes()).unwrap(),
        );
        assert_eq!(
            client_info(&req).unwrap().user_agent.as_deref(),
            Some("Nävigator")
        );
    }

    #[test]
    fn more_than_one_authorization_header_is_a_400() {
        let mut req = with_auth("Bearer first");
        req.headers_mut().append(
            header::AUTHORIZATION,
            lambda_http::http::HeaderValue::from_static("Bearer second"),
        );
        let err = bearer_token(&req).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(err.to_string().contains("More than one"), "{err}");
        // API Gateway's comma-joined form of the same request.
        for joined in ["Bearer first,Bearer second", "Bearer first, Bearer second"] {
            let err = bearer_token(&with_auth(joined)).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{joined}");
        }
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(&with_auth("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&with_auth("bEaReR abc")).unwrap(), Some("abc"));
        for bad in ["Bearer", "Bearer  abc", "Basic abc", "abc", "Bearer a b"] {
            let err = bearer_token(&with_auth(bad)).unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{bad}");
        }
        let none = lambda_http::http::Request::builder()
            .body(Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&none).unwrap(), None);
        assert_eq!(bearer_token(&with_auth("")).unwrap(), None);
    }
}

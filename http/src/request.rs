//! Reading requests: JSON and form bodies, the bearer token, the caller's metadata.
//!
//! Everything here runs before any argon2 or DynamoDB work, so bad input is cheap to refuse.

use std::collections::HashMap;

use lambda_http::http::header;
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
    /// `lambda_http`). An empty body has no fields.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::invalid_request(format!(
                "Request body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        if is_form(req) {
            return Self::from_form(body);
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map.into_iter().collect())),
            Ok(_) => Err(ApiError::invalid_request(
                "Request body must be a JSON object",
            )),
            Err(_) => Err(ApiError::invalid_request("Request body is not valid JSON")),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self, ApiError> {
        let mut fields = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            let key = key.into_owned();
            if fields.contains_key(&key) {
                return Err(ApiError::invalid_request(format!(
                    "Field {key} is given more than once"
                )));
            }
            fields.insert(key, Value::String(value.into_owned()));
        }
        Ok(Self(fields))
    }

    /// A string field that must be there: `Missing <name> parameter` otherwise.
    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_str(name)?
            .ok_or_else(|| ApiError::invalid_request(format!("Missing {name} parameter")))
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

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// A header's text, if present and visible ASCII.
pub fn header_text<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <jwt>`, `None` when the request has none (a blank
/// header counts as none). A header of another shape is refused, never ignored.
pub fn bearer_token(req: &Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| bad_authorization())?;
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

/// Who is calling, for the session list: user agent (at most 256 characters) and source IP.
pub fn client_info(req: &Request) -> ClientInfo {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect::<String>());
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    ClientInfo {
        user_agent,
        source_ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

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
    fn oversized_body() {
        let body = format!(r#"{{"username":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let err = Fields::from_request(&request(None, &body)).unwrap_err();
        assert!(err.to_string().contains("larger than 16384 bytes"));
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

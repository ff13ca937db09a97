//! Helpers for tests and benches (ours and the integration tests'): a valid configuration
//! and request builders. Not used by the functions.

use lambda_http::{Body, Request};

use crate::config::Config;

/// A configuration with a test secret and the default lifetimes.
pub fn test_config() -> Config {
    Config::from_lookup(|name| match name {
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret-0123".to_owned()),
        "JWT_KID" => Some("test-kid".to_owned()),
        "CORS_ALLOW_ORIGINS" => Some("http://localhost:3000".to_owned()),
        _ => None,
    })
    .expect("test configuration is valid")
}

/// A request as API Gateway hands it over.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(if body.is_empty() {
            Body::Empty
        } else {
            Body::from(body)
        })
        .expect("a valid test request")
}

/// A JSON request.
pub fn json_request(method: &str, path: &str, body: &serde_json::Value) -> Request {
    request(
        method,
        path,
        &[("content-type", "application/json")],
        &body.to_string(),
    )
}

/// A request with `Authorization: Bearer <token>`.
pub fn bearer_request(method: &str, path: &str, token: &str, body: &str) -> Request {
    let auth = format!("Bearer {token}");
    request(
        method,
        path,
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ],
        body,
    )
}

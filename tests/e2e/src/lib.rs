//! Black-box HTTP tests live in `tests/`; they need a running `cargo lambda watch`
//! (`WRISTBAND_E2E_URL`), which `make test` starts on a free port. What several suites
//! need to reach it is here.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// A variable `make test` sets.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these with `make test`"))
}

/// The stack's base URL.
pub fn base() -> String {
    var("WRISTBAND_E2E_URL").trim_end_matches('/').to_owned()
}

/// The first request to each function may wait for it to start.
pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// `prefix-<nanoseconds>`: a name no other run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Registers `username` (201) and answers its JSON credentials.
pub async fn register(username: &str) -> Value {
    let credentials = json!({"username": username, "password": PASSWORD});
    let r = client()
        .post(format!("{}/register", base()))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    credentials
}

/// A login with `credentials` (200): the answer's body.
pub async fn login(credentials: &Value) -> Value {
    let r = client()
        .post(format!("{}/login", base()))
        .json(credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// A token's field of a login's body.
pub fn token(body: &Value, name: &str) -> String {
    body[name].as_str().expect("a token").to_owned()
}

/// The Lambda authorizer through the emulator's invoke API, as API Gateway calls it.
pub async fn invoke_authorizer(event: &Value) -> Value {
    let r = client()
        .post(format!(
            "{}/2015-03-31/functions/authorizer/invocations",
            base()
        ))
        .json(event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

//! Black-box HTTP tests live in `tests/`; they need a running `cargo lambda watch`
//! (`WRISTBAND_E2E_URL`), which `make test` starts on a free port. What several suites
//! need to reach it is here.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
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

/// One answer: status, JSON body (`Null` when empty) and `Retry-After`.
pub async fn call_with_headers(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = client().request(method, format!("{}{path}", base()));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, json, retry_after)
}

/// One answer: status and JSON body (`Null` when empty).
pub async fn call(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, json, _) = call_with_headers(method, path, token, body).await;
    (status, json)
}

/// The claims of a JWT, not verified (the stack's other suites verify signatures).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The authorizer's answer for a bearer token, as API Gateway asks it.
pub async fn authorize(access: &str) -> Value {
    let event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/hello",
        "identitySource": [],
        "routeKey": "ANY /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "headers": {"host": "api.example", "user-agent": "e2e", "authorization": format!("Bearer {access}")},
        "requestContext": {"http": {"method": "GET", "path": "/hello", "sourceIp": "203.0.113.9"}},
    });
    invoke_authorizer(&event).await
}

/// A login with `username` and `password`, whatever it answers: status and body.
pub async fn try_login(username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": password});
    call(Method::POST, "/login", None, Some(body)).await
}

/// `wristband-admin roles <username> set <roles>` (`WRISTBAND_ADMIN`), as an operator
/// gives an account its roles.
pub fn set_roles(username: &str, roles: &str) {
    let out = std::process::Command::new(var("WRISTBAND_ADMIN"))
        .args(["roles", username, "set", roles])
        .output()
        .expect("wristband-admin runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Logs `credentials` in `count` times (at least once): the first session is older than
/// the others by a second, as session timestamps are whole seconds, so it is the one the
/// session cap (`MAX_SESSIONS_PER_USER`) ends first. Answers the access tokens of the
/// oldest session and of the newest.
pub async fn sessions(credentials: &Value, count: usize) -> (String, String) {
    let oldest = token(&login(credentials).await, "access_token");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut newest = oldest.clone();
    for _ in 1..count {
        newest = token(&login(credentials).await, "access_token");
    }
    (oldest, newest)
}

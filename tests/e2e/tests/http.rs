//! The API over real HTTP, as a client sees it: `cargo lambda watch` (its router and
//! Lambda emulator) in front of the function binaries, DynamoDB Local behind them.

use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};

fn base() -> String {
    std::env::var("WRISTBAND_E2E_URL")
        .unwrap_or_else(|_| panic!("WRISTBAND_E2E_URL is not set: run these with `make test`"))
        .trim_end_matches('/')
        .to_owned()
}

fn client() -> Client {
    // The first request to each function may wait for it to start.
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn unique_user() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("e2e-{nanos}-{}", std::process::id())
}

const PASSWORD: &str = "correct horse battery staple";

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

impl Answer {
    async fn read(r: Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {status} {text}"))
        };
        Self {
            status,
            headers,
            json,
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    fn expect(&self, status: u16, error: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.json);
        if let Some(code) = error {
            assert_eq!(self.json["error"], code, "{}", self.json);
            assert!(self.json["message"].is_string(), "{}", self.json);
            assert!(
                self.header("content-type").starts_with("application/json"),
                "{:?}",
                self.headers
            );
        }
        self
    }
}

async fn call(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut req = client().request(method, format!("{}{path}", base()));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    Answer::read(req.send().await.unwrap()).await
}

async fn login(username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    call(Method::POST, "/login", None, Some(body)).await
}

async fn register_and_login(username: &str) -> (String, String) {
    call(
        Method::POST,
        "/register",
        None,
        Some(json!({"username": username, "password": PASSWORD})),
    )
    .await
    .expect(201, None);
    let r = login(username, PASSWORD).await;
    r.expect(200, None);
    (
        r.json["access_token"].as_str().unwrap().to_owned(),
        r.json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn walkthrough_register_login_protected_logout() {
    let name = unique_user();
    let r = call(
        Method::POST,
        "/register",
        None,
        Some(json!({"username": name.to_uppercase(), "password": PASSWORD})),
    )
    .await;
    r.expect(201, None);
    assert_eq!(r.json, json!({"username": name}));
    call(
        Method::POST,
        "/register",
        None,
        Some(json!({"username": name, "password": PASSWORD})),
    )
    .await
    .expect(409, Some("username_taken"));

    let r = login(&name, PASSWORD).await;
    r.expect(200, None);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    let access = r.json["access_token"].as_str().unwrap().to_owned();

    let r = call(Method::GET, "/protected", Some(&access), None).await;
    r.expect(200, None);
    assert_eq!(
        r.json["message"],
        format!("Hello, {name}! This is a protected route.")
    );
    assert_eq!(r.json["claims"]["sub"], name.as_str());

    let r = call(Method::DELETE, "/logout", Some(&access), None).await;
    r.expect(200, None);
    assert_eq!(r.json["message"], "Access token revoked");

    let r = call(Method::GET, "/protected", Some(&access), None).await;
    r.expect(401, Some("token_revoked"));
    assert_eq!(
        r.header("www-authenticate"),
        "Bearer error=\"invalid_token\""
    );
}

#[tokio::test]
async fn login_failures_look_the_same() {
    let name = unique_user();
    register_and_login(&name).await;
    let wrong = login(&name, "wrong password").await;
    let unknown = login(&unique_user(), "wrong password").await;
    wrong.expect(401, Some("invalid_credentials"));
    unknown.expect(401, Some("invalid_credentials"));
    assert_eq!(wrong.json, unknown.json);
    assert_eq!(wrong.json["message"], "Bad username or password");
}

#[tokio::test]
async fn form_bodies_and_bad_input() {
    let name = unique_user();
    let r = client()
        .post(format!("{}/register", base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={name}&password=correct+horse+battery+staple"
        ))
        .send()
        .await
        .unwrap();
    Answer::read(r).await.expect(201, None);

    let r = client()
        .post(format!("{}/login", base()))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    Answer::read(r).await.expect(400, Some("invalid_request"));

    let big = json!({"username": name, "password": "p".repeat(20_000)});
    call(Method::POST, "/login", None, Some(big))
        .await
        .expect(400, Some("invalid_request"));

    let r = call(
        Method::POST,
        "/login",
        None,
        Some(json!({"password": PASSWORD})),
    )
    .await;
    r.expect(400, Some("invalid_request"));
    assert_eq!(r.json["message"], "Missing username parameter");

    call(
        Method::POST,
        "/register",
        None,
        Some(json!({"username": unique_user(), "password": "short"})),
    )
    .await
    .expect(400, Some("weak_password"));
}

#[tokio::test]
async fn token_errors_over_http() {
    let r = call(Method::GET, "/protected", None, None).await;
    r.expect(401, Some("missing_token"));
    assert_eq!(r.json["message"], "Missing Authorization Header");
    assert_eq!(r.header("www-authenticate"), "Bearer");

    call(Method::GET, "/protected", Some("not.a.jwt"), None)
        .await
        .expect(401, Some("invalid_token"));

    let (_, refresh) = register_and_login(&unique_user()).await;
    call(Method::GET, "/protected", Some(&refresh), None)
        .await
        .expect(401, Some("invalid_token"));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    call(Method::GET, "/no/such/path", None, None)
        .await
        .expect(404, Some("not_found"));
    let r = call(Method::GET, "/login", None, None).await;
    r.expect(405, Some("method_not_allowed"));
    assert_eq!(r.header("allow"), "POST");
}

#[tokio::test]
async fn cors_preflight_for_an_allowed_origin() {
    let r = client()
        .request(Method::OPTIONS, format!("{}/login", base()))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    let r = Answer::read(r).await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://localhost:3000"
    );
}

#[tokio::test]
async fn refresh_sessions_and_logout_everywhere() {
    let name = unique_user();
    let (access, refresh) = register_and_login(&name).await;

    let r = call(Method::POST, "/refresh", Some(&refresh), None).await;
    r.expect(200, None);
    let new_access = r.json["access_token"].as_str().unwrap().to_owned();
    call(Method::POST, "/refresh", Some(&refresh), None)
        .await
        .expect(401, Some("token_revoked"));

    let r = call(Method::GET, "/sessions", Some(&new_access), None).await;
    r.expect(200, None);
    let sessions = r.json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);

    // A second session, ended from the first.
    let r = login(&name, PASSWORD).await;
    let other_access = r.json["access_token"].as_str().unwrap().to_owned();
    let r = call(Method::GET, "/sessions", Some(&access), None).await;
    let other_sid = r.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        Method::DELETE,
        &format!("/sessions/{other_sid}"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    call(Method::GET, "/protected", Some(&other_access), None)
        .await
        .expect(401, Some("token_revoked"));

    // A refreshed (non-fresh) token cannot change the password.
    call(
        Method::POST,
        "/password",
        Some(&new_access),
        Some(json!({"old_password": PASSWORD, "new_password": "another long passphrase"})),
    )
    .await
    .expect(401, Some("fresh_token_required"));

    call(Method::POST, "/logout/all", Some(&access), None)
        .await
        .expect(200, None);
    call(Method::GET, "/protected", Some(&access), None)
        .await
        .expect(401, Some("token_revoked"));
    call(Method::GET, "/protected", Some(&new_access), None)
        .await
        .expect(401, Some("token_revoked"));
}

#[tokio::test]
async fn me_over_http_and_revoked_after_logout() {
    let name = unique_user();
    let (access, refresh) = register_and_login(&name).await;
    let r = call(Method::GET, "/me", Some(&access), None).await;
    r.expect(200, None);
    assert_eq!(r.json["sub"], name.as_str());
    assert_eq!(r.json["fresh"], true);
    assert_eq!(r.json["roles"], json!([]));
    call(Method::GET, "/me", None, None)
        .await
        .expect(401, Some("missing_token"));
    call(Method::GET, "/me", Some(&refresh), None)
        .await
        .expect(401, Some("invalid_token"));
    call(Method::POST, "/me", Some(&access), None)
        .await
        .expect(405, Some("method_not_allowed"));
    call(Method::DELETE, "/logout", Some(&access), None)
        .await
        .expect(200, None);
    call(Method::GET, "/me", Some(&access), None)
        .await
        .expect(401, Some("token_revoked"));
}

/// The authorizer through the emulator's Lambda invoke API, as API Gateway calls it.
async fn authorize(authorization: Option<&str>) -> Value {
    let mut headers = json!({"host": "api.example", "user-agent": "e2e"});
    if let Some(value) = authorization {
        headers["authorization"] = json!(value);
    }
    authorize_event("GET", headers, &[]).await
}

/// A browser's request to a route behind the authorizer: its cookies apart from the
/// headers, as payload 2.0 carries them.
async fn authorize_event(method: &str, headers: Value, cookies: &[String]) -> Value {
    let event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:api/$default/{method}/hello"),
        "identitySource": [],
        "routeKey": "ANY /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "cookies": cookies,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/hello", "sourceIp": "203.0.113.9"}},
    });
    wristband_e2e::invoke_authorizer(&event).await
}

#[tokio::test]
async fn authorizer_allows_then_denies_after_logout() {
    let name = unique_user();
    let (access, refresh) = register_and_login(&name).await;
    let answer = authorize(Some(&format!("Bearer {access}"))).await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["sub"], name.as_str());
    assert_eq!(answer["context"]["fresh"], true);
    assert_eq!(answer["context"]["roles"], "");
    for denied in [
        None,
        Some("Bearer not-a-token".to_owned()),
        Some(format!("Bearer {refresh}")),
        Some(format!("Basic {access}")),
    ] {
        let answer = authorize(denied.as_deref()).await;
        assert_eq!(answer, json!({"isAuthorized": false}), "{denied:?}");
    }
    call(Method::DELETE, "/logout", Some(&access), None)
        .await
        .expect(200, None);
    let answer = authorize(Some(&format!("Bearer {access}"))).await;
    assert_eq!(answer, json!({"isAuthorized": false}));
}

/// Cookie mode (the stack runs with TOKEN_LOCATION=headers,cookies): the cookies /login
/// sets open a GET behind the authorizer; a POST needs X-CSRF-TOKEN equal to the token's
/// CSRF value.
#[tokio::test]
async fn authorizer_takes_the_access_cookie_with_the_csrf_rule() {
    let name = unique_user();
    register_and_login(&name).await;
    let r = login(&name, PASSWORD).await;
    let cookie = |wanted: &str| -> String {
        r.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find_map(|pair| pair.strip_prefix(&format!("{wanted}=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("{wanted} set by /login"))
    };
    let (access, csrf) = (cookie("access_token_cookie"), cookie("csrf_access_token"));
    let cookies = [
        format!("access_token_cookie={access}"),
        format!("csrf_access_token={csrf}"),
    ];
    let answer = authorize_event("GET", json!({}), &cookies).await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["sub"], name.as_str());
    let denied = json!({"isAuthorized": false});
    assert_eq!(authorize_event("POST", json!({}), &cookies).await, denied);
    let wrong = json!({"x-csrf-token": "not-the-value"});
    assert_eq!(authorize_event("POST", wrong, &cookies).await, denied);
    let right = json!({"x-csrf-token": csrf});
    assert_eq!(
        authorize_event("POST", right, &cookies).await["isAuthorized"],
        true
    );
}

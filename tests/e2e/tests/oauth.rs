//! `/oauth/introspect` and `/oauth/revoke` over real HTTP: the functions behind `cargo
//! lambda watch`, DynamoDB Local behind them, the client `make test` configures
//! (WRISTBAND_E2E_CLIENT_ID / _SECRET; INTROSPECTION_CLIENTS holds its hash).

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wristband_e2e::{base, client, invoke_authorizer, login, register, token, unique, var};

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A new user's name, access and refresh tokens.
async fn tokens() -> (String, String, String) {
    let name = unique("oauth");
    let body = login(&register(&name).await).await;
    (
        name,
        token(&body, "access_token"),
        token(&body, "refresh_token"),
    )
}

async fn introspect_with(authorization: &str, token: &str) -> (StatusCode, Option<String>, Value) {
    let r = client()
        .post(format!("{}/oauth/introspect", base()))
        .header("authorization", authorization)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, r.json().await.unwrap())
}

async fn introspect(token: &str) -> Value {
    let client = basic(
        &var("WRISTBAND_E2E_CLIENT_ID"),
        &var("WRISTBAND_E2E_CLIENT_SECRET"),
    );
    let (status, _, body) = introspect_with(&client, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn revoke(token: &str) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/oauth/revoke", base()))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn get(path: &str, token: &str) -> (StatusCode, Value) {
    let r = client()
        .get(format!("{}{path}", base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn introspection_answers_a_known_client_only() {
    let (name, access, refresh) = tokens().await;
    let answer = introspect(&access).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], name.as_str());
    assert_eq!(answer["token_type"], "access");
    let answer = introspect(&refresh).await;
    assert_eq!(answer["token_type"], "refresh", "{answer}");
    assert_eq!(introspect("garbage").await, json!({"active": false}));

    let id = var("WRISTBAND_E2E_CLIENT_ID");
    for authorization in [
        basic(&id, "wrong"),
        basic("stranger", &var("WRISTBAND_E2E_CLIENT_SECRET")),
        format!("Bearer {access}"),
    ] {
        let (status, challenge, body) = introspect_with(&authorization, &access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"wristband\""));
    }
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_everywhere() {
    let (_, access, refresh) = tokens().await;
    assert_eq!(revoke(&access).await, (StatusCode::OK, json!({})));
    let (status, body) = get("/protected", &access).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("token_revoked"))
    );
    assert_eq!(introspect(&access).await, json!({"active": false}));
    // The authorizer, through the emulator's invoke API.
    let event = json!({
        "version": "2.0", "type": "REQUEST", "routeKey": "ANY /hello", "rawPath": "/hello",
        "headers": {"authorization": format!("Bearer {access}")},
        "requestContext": {"http": {"method": "GET", "path": "/hello", "sourceIp": "203.0.113.9"}},
    });
    let answer = invoke_authorizer(&event).await;
    assert_eq!(answer, json!({"isAuthorized": false}));
    // The session goes on.
    assert_eq!(introspect(&refresh).await["active"], true);
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_its_session() {
    let (_, access, refresh) = tokens().await;
    assert_eq!(revoke(&refresh).await, (StatusCode::OK, json!({})));
    let r = client()
        .post(format!("{}/refresh", base()))
        .bearer_auth(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get("/protected", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&refresh).await, json!({"active": false}));
    // Garbage and a token given back twice: 200 {}.
    assert_eq!(revoke("garbage").await, (StatusCode::OK, json!({})));
    assert_eq!(revoke(&refresh).await, (StatusCode::OK, json!({})));
}

//! examples/own-function (a crate outside the workspace) served beside the stack by its
//! own `cargo lambda watch`: tokens from wristband's /login open its routes as its guards
//! say, and a logout at wristband closes them (the same revocation table).
//! `make test` sets WRISTBAND_E2E_URL, WRISTBAND_OWN_FUNCTION_URL and WRISTBAND_ADMIN.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wristband_e2e::{client, login, register, set_roles, token, unique, var};

async fn call(
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new user with `roles`, logged in: (username, access token, refresh token).
async fn user(roles: &str) -> (String, String, String) {
    let name = unique("orders");
    let credentials = register(&name).await;
    set_roles(&name, roles);
    let tokens = login(&credentials).await;
    (
        name,
        token(&tokens, "access_token"),
        token(&tokens, "refresh_token"),
    )
}

#[tokio::test]
async fn get_orders_needs_the_ops_role() {
    let orders = format!(
        "{}/orders",
        var("WRISTBAND_OWN_FUNCTION_URL").trim_end_matches('/')
    );
    let (name, access, _) = user("ops").await;
    let (status, body) = call(Method::GET, orders.clone(), &access, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["seen_by"], name.as_str());

    let (_, access, _) = user("").await;
    let (status, body) = call(Method::GET, orders, &access, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
}

#[tokio::test]
async fn post_orders_needs_a_fresh_token_and_stops_at_logout() {
    let api = wristband_e2e::base();
    let orders = format!(
        "{}/orders",
        var("WRISTBAND_OWN_FUNCTION_URL").trim_end_matches('/')
    );
    let (name, access, refresh) = user("").await;
    let (status, body) = call(Method::POST, orders.clone(), &access, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["placed_by"], name.as_str());

    // A refreshed access token is not fresh.
    let (status, refreshed) = call(Method::POST, format!("{api}/refresh"), &refresh, None).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let stale = refreshed["access_token"].as_str().unwrap().to_owned();
    let (status, body) = call(Method::POST, orders.clone(), &stale, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "fresh_token_required");

    // Logged out at wristband: refused here too.
    let (status, _) = call(Method::DELETE, format!("{api}/logout"), &access, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(Method::POST, orders, &access, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "token_revoked");
}

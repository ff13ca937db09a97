//! The routes through wristband's `respond` (what `serve` runs per request) on an
//! in-memory revocation store: each requirement allows and refuses.

use orders::{Guards, ROUTES};
use serde_json::Value;
use wristband_http::{respond, Cors, Request};
use wristband_test_support::{
    bearer_request, in_memory_authenticator, issued_pair, request, test_config,
};

fn token(roles: &[&str], fresh: bool) -> String {
    issued_pair(&test_config(), "alice", roles, fresh).access_token
}

async fn call(req: Request) -> (u16, Value, Option<String>) {
    let (authenticator, _) = in_memory_authenticator(&test_config());
    let guards = Guards::new(authenticator);
    let response = respond(ROUTES, &Cors::default(), req, |route, req| {
        orders::handle(&guards, route, req)
    })
    .await;
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: &[u8] = response.body().as_ref();
    let json = serde_json::from_slice(body).unwrap_or(Value::Null);
    (response.status().as_u16(), json, allow)
}

#[tokio::test]
async fn listing_needs_the_ops_role() {
    let (status, body, _) = call(bearer_request(
        "GET",
        "/orders",
        &token(&["ops"], false),
        "",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seen_by"], "alice");
    let (status, body, _) = call(bearer_request(
        "GET",
        "/orders",
        &token(&["user"], true),
        "",
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, body, _) = call(request("GET", "/orders", &[], "")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_token"))
    );
}

#[tokio::test]
async fn placing_needs_a_fresh_token() {
    let (status, body, _) = call(bearer_request("POST", "/orders", &token(&[], true), "")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["placed_by"], "alice");
    let (status, body, _) = call(bearer_request(
        "POST",
        "/orders",
        &token(&["ops"], false),
        "",
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("fresh_token_required"))
    );
}

#[tokio::test]
async fn only_the_stated_routes_answer() {
    let (status, body, allow) =
        call(bearer_request("PUT", "/orders", &token(&["ops"], true), "")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert_eq!(allow.as_deref(), Some("GET, POST"));
    for path in ["/login", "/orders/1", "/"] {
        let (status, body, _) = call(bearer_request("GET", path, &token(&["ops"], true), "")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
}

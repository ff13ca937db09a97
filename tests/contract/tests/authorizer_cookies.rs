//! The Lambda authorizer for browsers in cookie mode (API.md "Protecting your own
//! routes"): the access cookie from the event's `cookies`, the CSRF rule for
//! state-changing methods, Bearer unchanged, two disagreeing sources denied; on the
//! in-memory stores and on DynamoDB Local.

mod common;

use common::{tokens_of, Backend, Harness, Tokens, PASSWORD};
use serde_json::{json, Value};
use wristband_core::config::TokenLocation;
use wristband_core::{Requirements, TokenType};
use wristband_http::authorizer::authorize;
use wristband_test_support::forge;

on_both_backends!(
    a_cookie_get_is_allowed_and_writes_need_the_csrf_value,
    revoked_expired_and_refresh_cookies_are_denied,
    bearer_is_unchanged_and_disagreeing_sources_are_denied,
    headers_only_mode_ignores_the_cookie,
);

/// What a browser holds after logging in in cookie mode: the access token's cookie and
/// its CSRF value (the body's tokens are the same pair).
struct Browser {
    tokens: Tokens,
    csrf: String,
}

async fn browser(h: &Harness) -> Browser {
    let (name, _) = h.user_with_tokens().await;
    let r = h.login(&name, PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    let tokens = tokens_of(&r);
    let csrf = h
        .claims(&tokens.access, TokenType::Access)
        .csrf
        .expect("cookie mode puts a CSRF value in the token");
    Browser { tokens, csrf }
}

/// An authorizer event (payload 2.0) as API Gateway sends it for a browser's request:
/// the cookies apart from the headers.
fn event(method: &str, headers: Value, cookies: &[String]) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:api/$default/{method}/hello"),
        "routeKey": "ANY /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "cookies": cookies,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/hello", "sourceIp": "203.0.113.7"}},
    })
}

fn jar(access: &str, csrf: &str) -> Vec<String> {
    vec![
        format!("access_token_cookie={access}"),
        format!("csrf_access_token={csrf}"),
    ]
}

async fn allowed(h: &Harness, event: Value) -> bool {
    authorize(&h.verifier, &Requirements::access(), event)
        .await
        .is_authorized
}

async fn cookie_app(backend: Backend, location: TokenLocation) -> Harness {
    backend.app_with(|c| c.token_location = location).await
}

async fn a_cookie_get_is_allowed_and_writes_need_the_csrf_value(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let b = browser(&h).await;
    let cookies = jar(&b.tokens.access, &b.csrf);
    for method in ["GET", "HEAD", "OPTIONS"] {
        assert!(
            allowed(&h, event(method, json!({}), &cookies)).await,
            "{method}"
        );
    }
    let answer = authorize(
        &h.verifier,
        &Requirements::access(),
        event("GET", json!({}), &cookies),
    )
    .await;
    let claims = h.claims(&b.tokens.access, TokenType::Access);
    assert_eq!(answer.context.unwrap().sid, claims.sid);
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert!(
            !allowed(&h, event(method, json!({}), &cookies)).await,
            "{method} without"
        );
        let wrong = json!({"x-csrf-token": "not-the-value"});
        assert!(
            !allowed(&h, event(method, wrong, &cookies)).await,
            "{method} wrong"
        );
        // The value of another login is useless with this cookie.
        let other = browser(&h).await;
        let theirs = json!({"x-csrf-token": other.csrf});
        assert!(
            !allowed(&h, event(method, theirs, &cookies)).await,
            "{method} theirs"
        );
        let right = json!({"x-csrf-token": b.csrf});
        assert!(
            allowed(&h, event(method, right, &cookies)).await,
            "{method} right"
        );
    }
    // An event without its method counts as a write (fail closed).
    let mut no_method = event("GET", json!({}), &cookies);
    no_method["requestContext"]["http"]
        .as_object_mut()
        .unwrap()
        .remove("method");
    assert!(!allowed(&h, no_method).await);
}

async fn revoked_expired_and_refresh_cookies_are_denied(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let b = browser(&h).await;
    // The refresh token where the access cookie goes.
    assert!(
        !allowed(
            &h,
            event("GET", json!({}), &jar(&b.tokens.refresh, &b.csrf))
        )
        .await
    );
    // Expired.
    let mut expired = h.claims(&b.tokens.access, TokenType::Access);
    expired.exp = expired.iat - 1;
    let expired = forge(&h.app.config, &expired);
    assert!(!allowed(&h, event("GET", json!({}), &jar(&expired, &b.csrf))).await);
    // Revoked: allowed until the session's logout, denied after.
    let cookies = jar(&b.tokens.access, &b.csrf);
    assert!(allowed(&h, event("GET", json!({}), &cookies)).await);
    assert_eq!(h.logout(&b.tokens.access, "").await.status, 200);
    assert!(!allowed(&h, event("GET", json!({}), &cookies)).await);
}

async fn bearer_is_unchanged_and_disagreeing_sources_are_denied(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::BOTH).await;
    let b = browser(&h).await;
    let bearer = |token: &str| json!({"authorization": format!("Bearer {token}")});
    // Bearer alone: no CSRF value needed, also for writes.
    for method in ["GET", "POST", "DELETE"] {
        assert!(allowed(&h, event(method, bearer(&b.tokens.access), &[])).await);
    }
    // The same token in both: allowed (the header is the credential).
    let cookies = jar(&b.tokens.access, &b.csrf);
    assert!(allowed(&h, event("POST", bearer(&b.tokens.access), &cookies)).await);
    // Another login's token in the header beside this cookie: denied both ways round.
    let other = browser(&h).await;
    assert!(!allowed(&h, event("GET", bearer(&other.tokens.access), &cookies)).await);
    // Two Authorization headers (names differing in case) or a joined pair: denied.
    let two = json!({
        "authorization": format!("Bearer {}", b.tokens.access),
        "Authorization": format!("Bearer {}", b.tokens.access),
    });
    assert!(!allowed(&h, event("GET", two, &[])).await);
    let joined = json!({"authorization": format!("Bearer {0}, Bearer {0}", b.tokens.access)});
    assert!(!allowed(&h, event("GET", joined, &[])).await);
}

async fn headers_only_mode_ignores_the_cookie(backend: Backend) {
    let h = cookie_app(backend, TokenLocation::HEADERS).await;
    let (_, tokens) = h.user_with_tokens().await;
    let cookies = vec![format!("access_token_cookie={}", tokens.access)];
    assert!(!allowed(&h, event("GET", json!({}), &cookies)).await);
    let bearer = json!({"authorization": format!("Bearer {}", tokens.access)});
    assert!(allowed(&h, event("GET", bearer, &cookies)).await);
}

//! Other services ask wristband (API.md "Other services: introspection and revocation"):
//! `POST /oauth/introspect` (RFC 7662) behind HTTP Basic client authentication and
//! `POST /oauth/revoke` (RFC 7009), on the in-memory stores and on DynamoDB Local.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{tokens_of, Backend, Harness, Resp, PASSWORD, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
use serde_json::{json, Value};
use wristband_core::{Requirements, TokenType};
use wristband_http::authorizer::authorize;
use wristband_test_support::{forge, request};

on_both_backends!(
    introspection_needs_a_known_client,
    access_and_refresh_tokens_are_active_with_their_claims,
    unusable_tokens_are_inactive_without_a_reason,
    every_revocation_path_makes_a_token_inactive,
    revoking_an_access_token_refuses_it_everywhere,
    revoking_a_refresh_token_ends_its_session,
    revocation_answers_200_whatever_the_token,
);

const FORM: &str = "application/x-www-form-urlencoded";

fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| s.replace('%', "%25").replace(' ', "+").replace(':', "%3A");
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn introspect_as(h: &Harness, authorization: Option<&str>, body: &str) -> Resp {
    let mut headers = vec![("content-type", FORM)];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    h.call(request("POST", "/oauth/introspect", &headers, body))
        .await
}

async fn introspect(h: &Harness, token: &str) -> Value {
    let client = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
    let r = introspect_as(h, Some(&client), &format!("token={token}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json
}

async fn revoke(h: &Harness, body: &str) -> Resp {
    h.call(request(
        "POST",
        "/oauth/revoke",
        &[("content-type", FORM)],
        body,
    ))
    .await
}

fn inactive() -> Value {
    json!({"active": false})
}

async fn introspection_needs_a_known_client(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let body = format!("token={}", tokens.access);
    for authorization in [
        None,
        Some(basic(TEST_CLIENT_ID, "wrong secret")),
        Some(basic("stranger", TEST_CLIENT_SECRET)),
        Some(basic(TEST_CLIENT_ID, "")),
        Some(format!("Bearer {}", tokens.access)),
        Some("Basic not-base64!".to_owned()),
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("no colon")
        )),
    ] {
        let r = introspect_as(&h, authorization.as_deref(), &body).await;
        assert_eq!(r.status, 401, "{authorization:?} {r:?}");
        assert_eq!(r.error(), "invalid_client");
        assert_eq!(r.header("www-authenticate"), "Basic realm=\"wristband\"");
        assert_eq!(r.json.get("active"), None, "no answer about the token");
    }
    // The client is checked before the body is read.
    let r = introspect_as(&h, None, "not a form %ZZ").await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    // A known client with a bad body: the contract's 400.
    let client = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
    let r = introspect_as(&h, Some(&client), "").await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
}

async fn access_and_refresh_tokens_are_active_with_their_claims(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let access = h.claims(&tokens.access, TokenType::Access);
    assert_eq!(
        introspect(&h, &tokens.access).await,
        json!({
            "active": true,
            "sub": name,
            "exp": access.exp,
            "iat": access.iat,
            "jti": access.jti,
            "sid": access.sid,
            "iss": access.iss,
            "aud": access.aud,
            "token_type": "access",
            "roles": [],
            "amr": ["pwd"],
        })
    );
    let refresh = h.claims(&tokens.refresh, TokenType::Refresh);
    let answer = introspect(&h, &tokens.refresh).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh");
    assert_eq!(answer["jti"], refresh.jti.as_str());
    assert_eq!(answer["aud"], h.app.config.jwt_refresh_audience.as_str());
    // The hint only changes which is tried first.
    let client = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
    for hint in ["refresh_token", "access_token", "something_else"] {
        for token in [&tokens.access, &tokens.refresh] {
            let body = format!("token={token}&token_type_hint={hint}");
            let r = introspect_as(&h, Some(&client), &body).await;
            assert_eq!(r.json["active"], true, "{hint}");
        }
    }
}

async fn unusable_tokens_are_inactive_without_a_reason(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let claims = h.claims(&tokens.access, TokenType::Access);
    let mut expired = claims.clone();
    expired.exp = expired.iat - 1;
    let mut other_audience = claims.clone();
    other_audience.aud = "someone-else".to_owned();
    let mut other_issuer = claims.clone();
    other_issuer.iss = "someone-else".to_owned();
    let config = &h.app.config;
    for token in [
        forge(config, &expired),
        forge(config, &other_audience),
        forge(config, &other_issuer),
        format!("{}x", tokens.access),
        "garbage".to_owned(),
        String::new(),
    ] {
        let client = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
        let r = introspect_as(&h, Some(&client), &format!("token={token}")).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, inactive(), "{token}");
    }
}

async fn every_revocation_path_makes_a_token_inactive(backend: Backend) {
    let h = backend
        .app_with(|c| c.refresh_reuse_grace = Duration::from_secs(1))
        .await;
    // logout
    let (name, one) = h.user_with_tokens().await;
    assert_eq!(h.logout(&one.access, "").await.status, 200);
    assert_eq!(introspect(&h, &one.access).await, inactive());
    // the end of a session
    let two = h.login_ok(&name, PASSWORD).await;
    let sid = h.claims(&two.access, TokenType::Access).sid;
    let r = h
        .with_token("DELETE", &format!("/sessions/{sid}"), &two.access, "")
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(introspect(&h, &two.access).await, inactive());
    assert_eq!(introspect(&h, &two.refresh).await, inactive());
    // refresh reuse detection
    let three = h.login_ok(&name, PASSWORD).await;
    let rotated = tokens_of(&h.refresh(&three.refresh).await);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    h.refresh(&three.refresh)
        .await
        .assert_error(401, "token_revoked");
    assert_eq!(introspect(&h, &rotated.refresh).await, inactive());
    assert_eq!(introspect(&h, &rotated.access).await, inactive());
    // logout everywhere (the cutoff is in whole seconds)
    let four = h.login_ok(&name, PASSWORD).await;
    assert_eq!(introspect(&h, &four.access).await["active"], true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let five = h.login_ok(&name, PASSWORD).await;
    let r = h.with_token("POST", "/logout/all", &five.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    for token in [&four.access, &four.refresh, &five.access, &five.refresh] {
        assert_eq!(introspect(&h, token).await, inactive());
    }
    // /oauth/revoke itself
    let six = h.login_ok(&name, PASSWORD).await;
    assert_eq!(
        revoke(&h, &format!("token={}", six.access)).await.status,
        200
    );
    assert_eq!(introspect(&h, &six.access).await, inactive());
}

async fn revoking_an_access_token_refuses_it_everywhere(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let r = revoke(
        &h,
        &format!("token={}&token_type_hint=access_token", tokens.access),
    )
    .await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{r:?}");
    h.protected(&tokens.access)
        .await
        .assert_error(401, "token_revoked");
    let event = json!({
        "type": "REQUEST",
        "headers": {"authorization": format!("Bearer {}", tokens.access)},
        "requestContext": {"http": {"method": "GET"}},
    });
    let answer = authorize(&h.verifier, &Requirements::access(), event).await;
    assert!(!answer.is_authorized);
    assert_eq!(introspect(&h, &tokens.access).await, inactive());
    // Only that token: its session goes on.
    let next = tokens_of(&h.refresh(&tokens.refresh).await);
    assert_eq!(h.protected(&next.access).await.status, 200);
}

async fn revoking_a_refresh_token_ends_its_session(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let other = h.login_ok(&name, PASSWORD).await;
    let r = revoke(
        &h,
        &format!("token={}&token_type_hint=refresh_token", tokens.refresh),
    )
    .await;
    assert_eq!((r.status, &r.json), (200, &json!({})), "{r:?}");
    h.assert_session_revoked(&tokens).await;
    assert_eq!(introspect(&h, &tokens.refresh).await, inactive());
    // The session left the list; the account's other session did not.
    h.assert_only_current_session(&other.access).await;
    // A spent refresh token given back later (no hint) ends the same way, idempotently.
    let r = revoke(&h, &format!("token={}", tokens.refresh)).await;
    assert_eq!(r.status, 200);
}

async fn revocation_answers_200_whatever_the_token(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let mut expired = h.claims(&tokens.access, TokenType::Access);
    expired.exp = expired.iat - 1;
    for token in [
        "garbage".to_owned(),
        format!("{}x", tokens.access),
        forge(&h.app.config, &expired),
        "a".repeat(4000),
    ] {
        let r = revoke(&h, &format!("token={token}")).await;
        assert_eq!((r.status, &r.json), (200, &json!({})), "{r:?}");
    }
    // The input rules still hold: no token, a body that is not UTF-8, over 16 KiB.
    assert_eq!(revoke(&h, "").await.status, 400);
    assert_eq!(revoke(&h, "token=%FF").await.status, 400);
    let big = format!("token={}", "a".repeat(17 * 1024));
    assert_eq!(revoke(&h, &big).await.status, 400);
    // None of it touched the token given out.
    assert_eq!(h.protected(&tokens.access).await.status, 200);
}

/// Fail closed: with the revocation table unreachable, introspection is a 503 (never
/// `active: true`) and so is a revocation that cannot be written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_dynamodb_is_503_for_both() {
    let h = Backend::InMemory.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let dead = common::dead_endpoint();
    let down = common::unreachable(&dead);
    let client = basic(TEST_CLIENT_ID, TEST_CLIENT_SECRET);
    let r = introspect_as(&down, Some(&client), &format!("token={}", tokens.access)).await;
    r.assert_error(503, "service_unavailable");
    let r = revoke(&down, &format!("token={}", tokens.access)).await;
    r.assert_error(503, "service_unavailable");
    // Garbage needs no store: still 200.
    assert_eq!(revoke(&down, "token=garbage").await.status, 200);
}

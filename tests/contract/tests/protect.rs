//! Protecting any route: `/me` (the guard's worked example), each guard requirement,
//! the API Gateway authorizer, and roles reaching tokens, on the in-memory stores and on
//! DynamoDB Local.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Harness, PASSWORD};
use serde_json::{json, Value};
use wristband_core::{Claims, Requirements, TokenType};
use wristband_http::authorizer::{authorize, AuthorizerContext, SimpleResponse};
use wristband_http::{api, respond, Cors, Guard};
use wristband_test_support::{b64, bearer_request, forge, request, test_config};

on_both_backends!(
    me_answers_the_callers_claims,
    me_refuses_missing_refresh_forged_expired_and_revoked_tokens,
    guard_fresh_requirement,
    guard_optional_requirement,
    guard_any_role_requirement,
    roles_reach_tokens_at_login_and_refresh,
    authorizer_allows_with_the_context,
    authorizer_denies_every_unusable_token,
    over_long_session_id_is_404_before_the_store,
);

async fn me_answers_the_callers_claims(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let claims = h.claims(&tokens.access, TokenType::Access);
    let r = h.with_token("GET", "/me", &tokens.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json,
        json!({
            "sub": name,
            "sid": claims.sid,
            "jti": claims.jti,
            "roles": [],
            "amr": ["pwd"],
            "fresh": true,
            "exp": claims.exp,
        })
    );
    let r = h.call(request("POST", "/me", &[], "")).await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "GET");
}

async fn me_refuses_missing_refresh_forged_expired_and_revoked_tokens(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    h.call(request("GET", "/me", &[], ""))
        .await
        .assert_error(401, "missing_token");
    let r = h.with_token("GET", "/me", &tokens.refresh, "").await;
    r.assert_error(401, "invalid_token");
    assert!(r.message().contains("access"), "{r:?}");
    let mut claims = h.claims(&tokens.access, TokenType::Access);
    let forged = forge_with_other_key(&claims);
    h.with_token("GET", "/me", &forged, "")
        .await
        .assert_error(401, "invalid_token");
    claims.exp = claims.iat - 1;
    h.with_token("GET", "/me", &forge(&h.app.config, &claims), "")
        .await
        .assert_error(401, "token_expired");
    assert_eq!(h.logout(&tokens.access, "").await.status, 200);
    h.with_token("GET", "/me", &tokens.access, "")
        .await
        .assert_error(401, "token_revoked");
}

fn forge_with_other_key(claims: &Claims) -> String {
    let mut config = test_config();
    config.jwt_secret = Some(b"another-secret-another-secret-another-secret".to_vec());
    forge(&config, claims)
}

/// A guard with `requirements` on the harness's authenticator, answering its claims.
async fn guarded(h: &Harness, requirements: Requirements, token: Option<&str>) -> common::Resp {
    let guard = Guard::new(h.app.authenticator().unwrap().clone(), requirements);
    let req = match token {
        Some(token) => bearer_request("GET", "/me", token, ""),
        None => request("GET", "/me", &[], ""),
    };
    let guard = &guard;
    let cors = Cors::new(h.app.config.cors_allow_origins.clone());
    let response = respond(api::ME_ROUTES, &cors, req, |_, req| async move {
        let claims = guard.check(&req).await?;
        wristband_http::Reply::ok(json!({ "sub": claims.map(|c| c.sub) }))
    })
    .await;
    common::Resp::from_response(response)
}

async fn guard_fresh_requirement(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let fresh = Requirements::access().fresh();
    let r = guarded(&h, fresh.clone(), Some(&tokens.access)).await;
    assert_eq!(r.json, json!({ "sub": name }));
    let refreshed = common::tokens_of(&h.refresh(&tokens.refresh).await);
    guarded(&h, fresh, Some(&refreshed.access))
        .await
        .assert_error(401, "fresh_token_required");
    // Without the requirement, the refreshed token opens the route.
    let r = guarded(&h, Requirements::access(), Some(&refreshed.access)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn guard_optional_requirement(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let optional = Requirements::access().optional();
    let r = guarded(&h, optional.clone(), None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({ "sub": null }));
    let r = guarded(&h, optional.clone(), Some(&tokens.access)).await;
    assert_eq!(r.json, json!({ "sub": name }));
    // A token that is there must still be good: optional is not "ignore bad tokens".
    guarded(&h, optional.clone(), Some("not-a-token"))
        .await
        .assert_error(401, "invalid_token");
    guarded(&h, optional.clone(), Some(&tokens.refresh))
        .await
        .assert_error(401, "invalid_token");
    assert_eq!(h.logout(&tokens.access, "").await.status, 200);
    guarded(&h, optional, Some(&tokens.access))
        .await
        .assert_error(401, "token_revoked");
    // Not optional: no token is 401.
    guarded(&h, Requirements::access(), None)
        .await
        .assert_error(401, "missing_token");
}

async fn guard_any_role_requirement(backend: Backend) {
    let h = backend.app().await;
    let (name, _) = h.user_with_tokens().await;
    let admins = Requirements::access().any_role(["admin", "ops"]);
    let plain = h.login_ok(&name, PASSWORD).await;
    let r = guarded(&h, admins.clone(), Some(&plain.access)).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.error(), "insufficient_scope");
    assert_eq!(
        r.header("www-authenticate"),
        "Bearer error=\"insufficient_scope\""
    );
    let roles = ["ops".to_owned(), "reader".to_owned()];
    assert!(h
        .app
        .users()
        .unwrap()
        .set_roles(&name, &roles)
        .await
        .unwrap());
    let ops = h.login_ok(&name, PASSWORD).await;
    let r = guarded(&h, admins, Some(&ops.access)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({ "sub": name }));
}

async fn roles_reach_tokens_at_login_and_refresh(backend: Backend) {
    let h = backend.app().await;
    let (name, _) = h.user_with_tokens().await;
    let roles = vec!["admin".to_owned(), "billing".to_owned()];
    assert!(h
        .app
        .users()
        .unwrap()
        .set_roles(&name, &roles)
        .await
        .unwrap());
    let tokens = h.login_ok(&name, PASSWORD).await;
    assert_eq!(h.claims(&tokens.access, TokenType::Access).roles, roles);
    assert_eq!(h.claims(&tokens.refresh, TokenType::Refresh).roles, roles);
    let r = h.with_token("GET", "/me", &tokens.access, "").await;
    assert_eq!(r.json["roles"], json!(roles));

    // A role removed after login is gone from the tokens of the next refresh.
    assert!(h
        .app
        .users()
        .unwrap()
        .set_roles(&name, &roles[1..])
        .await
        .unwrap());
    let refreshed = common::tokens_of(&h.refresh(&tokens.refresh).await);
    assert_eq!(
        h.claims(&refreshed.access, TokenType::Access).roles,
        ["billing"]
    );
    // No such user: roles cannot be set.
    assert!(!h
        .app
        .users()
        .unwrap()
        .set_roles(&common::unique_user(), &roles)
        .await
        .unwrap());
}

/// An HTTP API authorizer event (payload 2.0) with these headers.
fn authorizer_event(headers: Value) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/hello",
        "routeKey": "GET /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "GET", "path": "/hello", "sourceIp": "203.0.113.7"}},
    })
}

async fn authorize_token(h: &Harness, token: &str) -> SimpleResponse {
    let event = authorizer_event(json!({ "authorization": format!("Bearer {token}") }));
    authorize(&h.verifier, &Requirements::access(), event).await
}

fn denied() -> SimpleResponse {
    SimpleResponse {
        is_authorized: false,
        context: None,
    }
}

async fn authorizer_allows_with_the_context(backend: Backend) {
    let h = backend.app().await;
    let (name, _) = h.user_with_tokens().await;
    let roles = ["admin".to_owned(), "billing".to_owned()];
    assert!(h
        .app
        .users()
        .unwrap()
        .set_roles(&name, &roles)
        .await
        .unwrap());
    let tokens = h.login_ok(&name, PASSWORD).await;
    let claims = h.claims(&tokens.access, TokenType::Access);
    let answer = authorize_token(&h, &tokens.access).await;
    assert_eq!(
        answer,
        SimpleResponse {
            is_authorized: true,
            context: Some(AuthorizerContext {
                sub: name,
                sid: claims.sid,
                jti: claims.jti,
                roles: "admin,billing".to_owned(),
                amr: "pwd".to_owned(),
                fresh: true,
            }),
        }
    );
    // The exact JSON API Gateway reads.
    let wire = serde_json::to_value(&answer).unwrap();
    assert_eq!(wire["isAuthorized"], true);
    assert_eq!(wire["context"]["fresh"], true);
    let denied_wire = serde_json::to_value(denied()).unwrap();
    assert_eq!(denied_wire, json!({ "isAuthorized": false }));
}

async fn authorizer_denies_every_unusable_token(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let claims = h.claims(&tokens.access, TokenType::Access);
    let auth = &h.app.authenticator().unwrap();
    let access = Requirements::access();

    // Missing header, an empty event, an event of another shape.
    for event in [
        authorizer_event(json!({})),
        json!({}),
        json!({"headers": "nope"}),
    ] {
        assert_eq!(authorize(auth, &access, event).await, denied());
    }
    // Malformed header, two Authorization headers.
    for headers in [
        json!({"authorization": format!("Basic {}", tokens.access)}),
        json!({"authorization": "Bearer"}),
        json!({"authorization": format!("Bearer {}", tokens.access),
               "Authorization": format!("Bearer {}", tokens.access)}),
    ] {
        let event = authorizer_event(headers);
        assert_eq!(authorize(auth, &access, event).await, denied());
    }
    // Refresh, forged, alg none, expired.
    let mut expired = claims.clone();
    expired.exp = expired.iat - 1;
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&serde_json::to_value(&claims).unwrap())
    );
    for token in [
        tokens.refresh.clone(),
        forge_with_other_key(&claims),
        none,
        forge(&h.app.config, &expired),
        "garbage".to_owned(),
    ] {
        assert_eq!(authorize_token(&h, &token).await, denied(), "{token}");
    }
    // Revoked: allowed before logout, denied after.
    assert!(authorize_token(&h, &tokens.access).await.is_authorized);
    assert_eq!(h.logout(&tokens.access, "").await.status, 200);
    assert_eq!(authorize_token(&h, &tokens.access).await, denied());
}

async fn over_long_session_id_is_404_before_the_store(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    // Longer than any id we issue, and longer than DynamoDB accepts as a key.
    for sid in ["x".repeat(23), "x".repeat(2000)] {
        let r = h
            .with_token("DELETE", &format!("/sessions/{sid}"), &tokens.access, "")
            .await;
        r.assert_error(404, "not_found");
    }
}

/// Fail closed: with DynamoDB unreachable the authorizer denies, within the client's
/// timeout budget (1 s connect, 3 attempts, 4 s cap), never allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_denies_when_revocation_cannot_be_checked() {
    let h = Backend::InMemory.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let dead = common::dead_endpoint();
    let down = common::unreachable(&dead);
    let started = Instant::now();
    assert_eq!(authorize_token(&down, &tokens.access).await, denied());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    down.with_token("GET", "/me", &tokens.access, "")
        .await
        .assert_error(503, "service_unavailable");
}

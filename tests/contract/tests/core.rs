//! register, login, protected, logout: every row of API.md's error table they touch,
//! on the in-memory stores and on DynamoDB Local.

mod common;

use std::time::{Duration, Instant};

use common::{unique_user, Backend, PASSWORD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use wristband_core::ids::now_secs;
use wristband_core::{Claims, TokenType};
use wristband_test_support::{
    b64, base64_request, forge, json_request, request, test_config, TEST_SOURCE_IP,
};

on_both_backends!(
    register_creates_a_user_with_an_argon2id_hash,
    register_is_case_insensitive_and_never_overwrites,
    racing_registrations_give_one_201_and_one_409,
    register_validates_input,
    form_and_base64_bodies_are_accepted,
    malformed_oversized_and_mistyped_bodies_are_400,
    login_answers_the_contract_shape,
    wrong_password_and_unknown_user_look_the_same,
    protected_answers_hello_and_all_claims,
    missing_and_malformed_authorization,
    forged_and_foreign_tokens_are_refused,
    expired_wrong_iss_aud_and_future_nbf_are_refused,
    refresh_token_is_refused_on_protected,
    logout_revokes_the_access_token,
    logout_with_refresh_token_revokes_both,
    logout_refuses_someone_elses_refresh_token,
    expired_revocation_items_count_as_absent,
    wrong_method_and_unknown_path,
    cors_for_allowed_origins_only,
);

async fn register_creates_a_user_with_an_argon2id_hash(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let r = h.register(&name.to_uppercase(), PASSWORD).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json, json!({ "username": name }));
    let stored = h
        .app
        .users()
        .unwrap()
        .get(&name)
        .await
        .unwrap()
        .expect("stored");
    assert!(stored
        .password_hash
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!stored.password_hash.contains(PASSWORD));
}

async fn register_is_case_insensitive_and_never_overwrites(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    assert_eq!(h.register(&name, PASSWORD).await.status, 201);
    let r = h.register(&name.to_uppercase(), "another password").await;
    r.assert_error(409, "username_taken");
    // The first password still works, the second never took.
    h.login_ok(&name, PASSWORD).await;
    h.login(&name, "another password")
        .await
        .assert_error(401, "invalid_credentials");
}

async fn racing_registrations_give_one_201_and_one_409(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let (a, b) = tokio::join!(
        h.register(&name, "password-one"),
        h.register(&name, "password-two")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let winner = if a.status == 201 {
        "password-one"
    } else {
        "password-two"
    };
    h.login_ok(&name, winner).await;
}

async fn register_validates_input(backend: Backend) {
    let h = backend.app().await;
    let r = h
        .call(json_request(
            "POST",
            "/register",
            &json!({"password": PASSWORD}),
        ))
        .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(r.message(), "Missing username parameter");
    let r = h
        .call(json_request(
            "POST",
            "/register",
            &json!({"username": unique_user()}),
        ))
        .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(r.message(), "Missing password parameter");
    for bad in ["ab", "has space", "x/y", &"a".repeat(65)] {
        let r = h.register(bad, PASSWORD).await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("username"), "{r:?}");
    }
    for weak in ["short", "1234567", &"p".repeat(1025)] {
        let r = h.register(&unique_user(), weak).await;
        r.assert_error(400, "weak_password");
        assert!(r.message().contains('8'), "{r:?}");
    }
    // Exactly 8 and exactly 1024 characters are fine, any characters.
    assert_eq!(h.register(&unique_user(), "1234567x").await.status, 201);
    assert_eq!(
        h.register(&unique_user(), &"é".repeat(1024)).await.status,
        201
    );
}

async fn form_and_base64_bodies_are_accepted(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let body = format!("username={name}&password=correct+horse+battery+staple");
    let r = h.call(request("POST", "/register", &form, &body)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = h.call(request("POST", "/login", &form, &body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // API Gateway may hand any body over base64-encoded.
    let r = h.call(base64_request("POST", "/login", &form, &body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let json_body = json!({"username": name, "password": PASSWORD}).to_string();
    let r = h
        .call(base64_request(
            "POST",
            "/login",
            &[("content-type", "application/json")],
            &json_body,
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn malformed_oversized_and_mistyped_bodies_are_400(backend: Backend) {
    let h = backend.app().await;
    let json_ct = [("content-type", "application/json")];
    for path in ["/register", "/login"] {
        let r = h
            .call(request("POST", path, &json_ct, "{\"username\": "))
            .await;
        r.assert_error(400, "invalid_request");
        assert_eq!(r.message(), "Request body is not valid JSON");
        let r = h.call(request("POST", path, &json_ct, "[\"alice\"]")).await;
        r.assert_error(400, "invalid_request");
        let big = json!({"username": "alice", "password": "p".repeat(17 * 1024)}).to_string();
        let r = h.call(request("POST", path, &json_ct, &big)).await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("16384"), "{r:?}");
        let r = h
            .call(json_request(
                "POST",
                path,
                &json!({"username": 42, "password": PASSWORD}),
            ))
            .await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("username"), "{r:?}");
        let r = h
            .call(json_request(
                "POST",
                path,
                &json!({"username": "alice", "password": ["x"]}),
            ))
            .await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("password"), "{r:?}");
        let r = h.call(request("POST", path, &json_ct, "")).await;
        assert_eq!(r.message(), "Missing username parameter");
    }
}

async fn login_answers_the_contract_shape(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    h.register(&name, PASSWORD).await;
    let r = h.login(&name.to_uppercase(), PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    assert_eq!(r.header("cache-control"), "no-store");
    let tokens = common::tokens_of(&r);
    let access = h.claims(&tokens.access, TokenType::Access);
    let refresh = h.claims(&tokens.refresh, TokenType::Refresh);
    assert_eq!(access.sub, name);
    assert_eq!(access.fresh, Some(true));
    assert_eq!(access.sid, refresh.sid);
    assert_eq!(refresh.exp - refresh.iat, 30 * 24 * 3600);
    assert_ne!(access.jti, refresh.jti);
    // The login opened a session.
    let sessions = h
        .app
        .sessions()
        .unwrap()
        .list(&name, now_secs())
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].sid, access.sid);
    assert_eq!(sessions[0].source_ip.as_deref(), Some(TEST_SOURCE_IP));
}

async fn wrong_password_and_unknown_user_look_the_same(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    h.register(&name, PASSWORD).await;

    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let a = h.login(&name, "wrong password").await;
        wrong.push(t.elapsed());
        let t = Instant::now();
        let b = h.login(&unique_user(), "wrong password").await;
        unknown.push(t.elapsed());
        a.assert_error(401, "invalid_credentials");
        b.assert_error(401, "invalid_credentials");
        assert_eq!(a.json, b.json);
        assert_eq!(a.json["message"], "Bad username or password");
        assert_eq!(
            a.headers.get("www-authenticate"),
            b.headers.get("www-authenticate")
        );
    }
    // Not a speed target: a lower bound showing the unknown user paid for an argon2
    // verification too (without it, it would be ~1000x faster).
    wrong.sort();
    unknown.sort();
    assert!(
        unknown[1] * 4 >= wrong[1],
        "unknown user {:?} vs wrong password {:?}",
        unknown[1],
        wrong[1]
    );
    // An invalid username or an over-long password is the same 401.
    h.login("x", PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    h.login(&name, &"p".repeat(1025))
        .await
        .assert_error(401, "invalid_credentials");
}

async fn protected_answers_hello_and_all_claims(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    let r = h.protected(&tokens.access).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json["message"],
        format!("Hello, {name}! This is a protected route.")
    );
    let claims = &r.json["claims"];
    for claim in [
        "iss", "aud", "sub", "jti", "iat", "nbf", "exp", "type", "fresh", "sid", "roles",
    ] {
        assert!(!claims[claim].is_null(), "claim {claim} missing: {claims}");
    }
    assert_eq!(claims["type"], "access");
    assert_eq!(claims["iss"], "wristband-local");
    assert_eq!(claims["aud"], "wristband-clients");
    // Scheme is case-insensitive.
    let auth = format!("bearer {}", tokens.access);
    let r = h
        .call(request(
            "GET",
            "/protected",
            &[("authorization", &auth)],
            "",
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn missing_and_malformed_authorization(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let r = h.call(request("GET", "/protected", &[], "")).await;
    r.assert_error(401, "missing_token");
    assert_eq!(r.message(), "Missing Authorization Header");
    for header in [
        format!("Basic {}", tokens.access),
        tokens.access.clone(),
        format!("Bearer  {}", tokens.access),
        "Bearer".to_owned(),
        "Bearer not-a-jwt".to_owned(),
    ] {
        let r = h
            .call(request(
                "GET",
                "/protected",
                &[("authorization", &header)],
                "",
            ))
            .await;
        r.assert_error(401, "invalid_token");
    }
}

async fn forged_and_foreign_tokens_are_refused(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let claims: Claims = h.claims(&tokens.access, TokenType::Access);
    let claims_json = serde_json::to_value(&claims).unwrap();
    let parts: Vec<&str> = tokens.access.split('.').collect();

    // alg: none, with and without a signature part.
    let none = b64(&json!({"alg": "none", "typ": "JWT"}));
    for token in [
        format!("{none}.{}.", b64(&claims_json)),
        format!("{none}.{}", b64(&claims_json)),
    ] {
        let r = h.protected(&token).await;
        r.assert_error(401, "invalid_token");
    }
    // A tampered payload under the original signature.
    let mut elevated = claims_json.clone();
    elevated["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&elevated), parts[2]);
    h.protected(&tampered)
        .await
        .assert_error(401, "invalid_token");
    // Signed with another key.
    let other = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"a-completely-different-secret-of-32-bytes"),
    )
    .unwrap();
    h.protected(&other).await.assert_error(401, "invalid_token");
    // Another algorithm with the right secret.
    let hs384 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS384),
        &claims,
        &EncodingKey::from_secret(test_config().jwt_secret.as_deref().unwrap()),
    )
    .unwrap();
    let r = h.protected(&hs384).await;
    r.assert_error(401, "invalid_token");
    assert_eq!(r.message(), "Token algorithm is not allowed");
}

async fn expired_wrong_iss_aud_and_future_nbf_are_refused(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let base: Claims = h.claims(&tokens.access, TokenType::Access);
    let now = now_secs();

    let mut expired = base.clone();
    expired.exp = now - 1;
    let r = h.protected(&forge(&h.app.config, &expired)).await;
    r.assert_error(401, "token_expired");
    assert_eq!(r.message(), "Token has expired");

    let mut iss = base.clone();
    iss.iss = "evil-issuer".into();
    h.protected(&forge(&h.app.config, &iss))
        .await
        .assert_error(401, "invalid_token");

    let mut aud = base.clone();
    aud.aud = "other-app".into();
    h.protected(&forge(&h.app.config, &aud))
        .await
        .assert_error(401, "invalid_token");

    let mut nbf = base;
    nbf.nbf = now + 60;
    h.protected(&forge(&h.app.config, &nbf))
        .await
        .assert_error(401, "invalid_token");
}

async fn refresh_token_is_refused_on_protected(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let r = h.protected(&tokens.refresh).await;
    r.assert_error(401, "invalid_token");
    assert!(r.message().contains("access"), "{r:?}");
}

async fn logout_revokes_the_access_token(backend: Backend) {
    let h = backend.app().await;
    for method in ["DELETE", "POST"] {
        let (_, tokens) = h.user_with_tokens().await;
        assert_eq!(h.protected(&tokens.access).await.status, 200);
        let r = h.with_token(method, "/logout", &tokens.access, "").await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json, json!({"message": "Access token revoked"}));
        let r = h.protected(&tokens.access).await;
        r.assert_error(401, "token_revoked");
        assert_eq!(r.message(), "Token has been revoked");
        // A revoked token cannot log out again either.
        h.logout(&tokens.access, "")
            .await
            .assert_error(401, "token_revoked");
    }
}

async fn logout_with_refresh_token_revokes_both(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let body = json!({"refresh_token": tokens.refresh}).to_string();
    assert_eq!(h.logout(&tokens.access, &body).await.status, 200);
    h.assert_session_revoked(&tokens).await;
}

async fn logout_refuses_someone_elses_refresh_token(backend: Backend) {
    let h = backend.app().await;
    let (_, mine) = h.user_with_tokens().await;
    let (_, theirs) = h.user_with_tokens().await;
    let body = json!({"refresh_token": theirs.refresh}).to_string();
    h.logout(&mine.access, &body)
        .await
        .assert_error(400, "invalid_request");
    let body = json!({"refresh_token": mine.access}).to_string();
    h.logout(&mine.access, &body)
        .await
        .assert_error(400, "invalid_request");
    let body = json!({"refresh_token": 7}).to_string();
    h.logout(&mine.access, &body)
        .await
        .assert_error(400, "invalid_request");
    // None of it revoked anything.
    assert_eq!(h.protected(&mine.access).await.status, 200);
    assert_eq!(h.refresh(&theirs.refresh).await.status, 200);
}

async fn expired_revocation_items_count_as_absent(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let claims = h.claims(&tokens.access, TokenType::Access);
    // DynamoDB deletes expired items lazily: one whose expires_at passed is ignored.
    h.app
        .revocations()
        .unwrap()
        .revoke_token(&claims.jti, now_secs() - 1)
        .await
        .unwrap();
    assert_eq!(h.protected(&tokens.access).await.status, 200);
    h.app
        .revocations()
        .unwrap()
        .revoke_token(&claims.jti, claims.exp)
        .await
        .unwrap();
    h.protected(&tokens.access)
        .await
        .assert_error(401, "token_revoked");
}

async fn wrong_method_and_unknown_path(backend: Backend) {
    let h = backend.app().await;
    let r = h.call(request("GET", "/login", &[], "")).await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "POST");
    let r = h.call(request("POST", "/protected", &[], "")).await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "GET");
    let r = h.call(request("GET", "/logout", &[], "")).await;
    assert_eq!(r.header("allow"), "DELETE, POST");
    let r = h.call(request("GET", "/nope", &[], "")).await;
    r.assert_error(404, "not_found");
}

async fn cors_for_allowed_origins_only(backend: Backend) {
    let h = backend.app().await;
    let r = h
        .call(request(
            "GET",
            "/protected",
            &[("origin", "http://localhost:3000")],
            "",
        ))
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://localhost:3000"
    );
    let r = h
        .call(request(
            "GET",
            "/protected",
            &[("origin", "https://evil.example")],
            "",
        ))
        .await;
    assert_eq!(r.header("access-control-allow-origin"), "");
    let r = h
        .call(request(
            "OPTIONS",
            "/login",
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "POST"),
            ],
            "",
        ))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://localhost:3000"
    );
    assert!(r
        .header("access-control-allow-headers")
        .contains("authorization"));
    // Credentials (cookie mode) are allowed for listed origins only, never with `*`.
    assert!(r
        .header("access-control-allow-headers")
        .contains("x-csrf-token"));
    assert_eq!(r.header("access-control-allow-credentials"), "true");
    let r = h
        .call(request(
            "OPTIONS",
            "/login",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
            "",
        ))
        .await;
    assert_eq!(r.header("access-control-allow-origin"), "");
    assert_eq!(r.header("access-control-allow-credentials"), "");
}

/// Fail closed: a store that cannot be reached gives 503 quickly, never a token through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_dynamodb_fails_closed_with_503() {
    // A valid token, minted with the in-memory app (same config, same key).
    let h = Backend::InMemory.app().await;
    let (name, tokens) = h.user_with_tokens().await;

    let dead = common::dead_endpoint();
    let down = common::unreachable(&dead);

    let started = Instant::now();
    let r = down.protected(&tokens.access).await;
    r.assert_error(503, "service_unavailable");
    assert!(!r.message().contains("127.0.0.1"), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    down.login(&name, PASSWORD)
        .await
        .assert_error(503, "service_unavailable");
    down.register(&unique_user(), PASSWORD)
        .await
        .assert_error(503, "service_unavailable");
    down.logout(&tokens.access, "")
        .await
        .assert_error(503, "service_unavailable");
    down.refresh(&tokens.refresh)
        .await
        .assert_error(503, "service_unavailable");
}

//! API.md "Second factor", passkeys, on both backends: registration and login with ES256
//! and EdDSA credentials of a software authenticator, and every refusal: wrong origin,
//! wrong RP id, missing user presence, reused, expired and another account's challenges,
//! a bad signature, a counter that goes back, a credential registered twice, a deleted
//! passkey; `amr`, throttling, the `mfa_required` step, disabled and deleted accounts.

mod common;

use common::{join_all, Backend, Harness, Tokens, PASSWORD, TEST_ORIGIN, TEST_RP_ID};
use serde_json::{json, Value};
use wristband_core::ids::now_secs;
use wristband_core::onetime::sha256_hex;
use wristband_core::store::{WebauthnChallenge, WebauthnPurpose};
use wristband_core::webauthn::b64url;
use wristband_core::TokenType;
use wristband_test_support::authenticator::{Key, SoftAuthenticator, FLAG_UP};
use wristband_test_support::json_request;

fn es256() -> SoftAuthenticator {
    SoftAuthenticator::new(Key::es256(), TEST_RP_ID, TEST_ORIGIN)
}

fn eddsa() -> SoftAuthenticator {
    SoftAuthenticator::new(Key::eddsa(), TEST_RP_ID, TEST_ORIGIN)
}

impl Harness {
    async fn post(&self, path: &str, token: &str, body: Value) -> common::Resp {
        self.with_token("POST", path, token, &body.to_string())
            .await
    }

    async fn creation_options(&self, access: &str) -> Value {
        let r = self
            .post("/passkeys/registration/options", access, json!({}))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json["publicKey"].clone()
    }

    async fn register_passkey(&self, access: &str, auth: &mut SoftAuthenticator) -> common::Resp {
        let options = self.creation_options(access).await;
        let credential = auth.register(&options);
        self.post(
            "/passkeys/registration",
            access,
            json!({"credential": credential, "name": "Test key"}),
        )
        .await
    }

    async fn login_options(&self, body: Value) -> (Value, String) {
        let r = self
            .call(json_request("POST", "/login/passkey/options", &body))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        (
            r.json["publicKey"].clone(),
            r.json["challenge_id"].as_str().unwrap().to_owned(),
        )
    }

    async fn login_with(&self, challenge_id: &str, credential: Value) -> common::Resp {
        let body = json!({"challenge_id": challenge_id, "credential": credential});
        self.call(json_request("POST", "/login/passkey", &body))
            .await
    }

    /// Options, an assertion, the login.
    async fn passkey_login(&self, auth: &mut SoftAuthenticator) -> common::Resp {
        let (options, id) = self.login_options(json!({})).await;
        let credential = auth.assert(&options);
        self.login_with(&id, credential).await
    }

    async fn list_passkeys(&self, access: &str) -> Vec<Value> {
        let r = self.with_token("GET", "/passkeys", access, "").await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json["passkeys"].as_array().unwrap().clone()
    }

    /// A new account with one passkey of `auth`.
    async fn with_passkey(&self, auth: &mut SoftAuthenticator) -> (String, Tokens) {
        let (username, tokens) = self.user_with_tokens().await;
        let r = self.register_passkey(&tokens.access, auth).await;
        assert_eq!(r.status, 201, "{r:?}");
        (username, tokens)
    }
}

async fn registration_login_and_amr(backend: Backend) {
    let h = backend.app().await;
    for mut auth in [es256(), eddsa()] {
        let (username, tokens) = h.user_with_tokens().await;
        let options = h.creation_options(&tokens.access).await;
        assert_eq!(options["rp"]["id"], TEST_RP_ID);
        assert_eq!(options["user"]["name"], username.as_str());
        assert_ne!(
            options["user"]["id"],
            username.as_str(),
            "the handle is opaque"
        );
        assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "preferred"
        );
        let algs: Vec<i64> = options["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alg"].as_i64().unwrap())
            .collect();
        assert!(algs.contains(&-7) && algs.contains(&-8), "{algs:?}");
        let credential = auth.register(&options);
        let r = h
            .post(
                "/passkeys/registration",
                &tokens.access,
                json!({"credential": credential, "name": "Laptop"}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        assert_eq!(r.json["id"], b64url(&auth.credential_id).as_str());
        assert_eq!(r.json["name"], "Laptop");
        assert!(r.json["created_at"].as_u64().unwrap() > 0);

        let list = h.list_passkeys(&tokens.access).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], r.json["id"]);
        assert_eq!(list[0]["last_used_at"], Value::Null);
        let account = h.with_token("GET", "/account", &tokens.access, "").await;
        assert_eq!(account.json["passkeys"], 1);
        // The next options exclude the registered credential.
        let again = h.creation_options(&tokens.access).await;
        assert_eq!(again["excludeCredentials"][0]["id"], r.json["id"]);

        // Options are the same for any username, known or not.
        let (options, _) = h.login_options(json!({"username": username})).await;
        let (other, _) = h.login_options(json!({"username": "nobody-here"})).await;
        assert_eq!(options["allowCredentials"], json!([]));
        assert_eq!(options["rpId"], TEST_RP_ID);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&options), keys(&other));

        let r = h.passkey_login(&mut auth).await;
        assert_eq!(r.status, 200, "{r:?}");
        let tokens = common::tokens_of(&r);
        let claims = h.claims(&tokens.access, TokenType::Access);
        assert_eq!(claims.sub, username);
        assert_eq!(claims.amr, ["hwk", "mfa"]);
        assert!(claims.is_fresh());
        let me = h.with_token("GET", "/me", &tokens.access, "").await;
        assert_eq!(me.json["amr"], json!(["hwk", "mfa"]));
        let refreshed = h.refresh(&tokens.refresh).await;
        let again = h.claims(
            refreshed.json["access_token"].as_str().unwrap(),
            TokenType::Access,
        );
        assert_eq!(again.amr, ["hwk", "mfa"]);
        assert!(h.list_passkeys(&tokens.access).await[0]["last_used_at"].is_u64());

        // Without user verification: hwk alone.
        auth.flags = FLAG_UP;
        let r = h.passkey_login(&mut auth).await;
        assert_eq!(r.status, 200, "{r:?}");
        let claims = h.claims(r.json["access_token"].as_str().unwrap(), TokenType::Access);
        assert_eq!(claims.amr, ["hwk"]);
    }
}

async fn registration_refusals(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let access = tokens.access.as_str();
    let refused = |r: common::Resp, why: &str| {
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains(why), "{why}: {r:?}");
    };

    let mut phish = es256();
    phish.origin = "https://app.wristband.test.evil.example".into();
    refused(h.register_passkey(access, &mut phish).await, "origin");

    let mut other_rp = es256();
    other_rp.rp_id = "evil.example".into();
    refused(h.register_passkey(access, &mut other_rp).await, "rpIdHash");

    let mut absent = es256();
    absent.flags = 0;
    refused(h.register_passkey(access, &mut absent).await, "presence");

    let mut wrong_type = es256();
    wrong_type.client_data_type = Some("webauthn.get".into());
    refused(h.register_passkey(access, &mut wrong_type).await, "type");

    // A challenge works once: the same credential again (its challenge spent) is refused.
    let mut auth = es256();
    let options = h.creation_options(access).await;
    let credential = auth.register(&options);
    let body = json!({"credential": credential});
    let r = h.post("/passkeys/registration", access, body.clone()).await;
    assert_eq!(r.status, 201, "{r:?}");
    refused(
        h.post("/passkeys/registration", access, body).await,
        "challenge",
    );

    // Another account's challenge.
    let (_, other) = h.user_with_tokens().await;
    let options = h.creation_options(&other.access).await;
    let credential = es256().register(&options);
    refused(
        h.post(
            "/passkeys/registration",
            access,
            json!({"credential": credential}),
        )
        .await,
        "challenge",
    );
    // ...which stays usable by its own account.
    let r = h
        .post(
            "/passkeys/registration",
            &other.access,
            json!({"credential": credential}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    // An expired challenge (stored as the options would, five minutes ago).
    let username = h.claims(access, TokenType::Access).sub;
    let challenge = [7u8; 32];
    h.app
        .webauthn_challenges()
        .unwrap()
        .create(
            &sha256_hex(&challenge),
            &WebauthnChallenge {
                purpose: WebauthnPurpose::Registration,
                challenge: b64url(&challenge),
                username: Some(username.clone()),
                user_handle: Some(b64url(&[1; 16])),
                expires_at: now_secs() - 1,
            },
        )
        .await
        .unwrap();
    let credential = es256().register(&json!({"challenge": b64url(&challenge), "user": {}}));
    refused(
        h.post(
            "/passkeys/registration",
            access,
            json!({"credential": credential}),
        )
        .await,
        "challenge",
    );

    // A credential registered anywhere already.
    let options = h.creation_options(&other.access).await;
    let again = auth.register(&options);
    refused(
        h.post(
            "/passkeys/registration",
            &other.access,
            json!({"credential": again}),
        )
        .await,
        "already registered",
    );

    // Attestation other than `none` is accepted, its statement not verified (API.md), and
    // a credential without the fields verification does not need (rawId, transports,
    // authenticatorData, publicKey) registers too.
    let mut packed = es256();
    packed.attestation_format = "packed";
    let r = h.register_passkey(access, &mut packed).await;
    assert_eq!(r.status, 201, "{r:?}");
    let options = h.creation_options(access).await;
    let mut bare = es256().register(&options);
    for field in ["rawId", "authenticatorAttachment", "clientExtensionResults"] {
        bare.as_object_mut().unwrap().remove(field);
    }
    let response = bare["response"].as_object_mut().unwrap();
    for field in ["transports", "authenticatorData"] {
        response.remove(field);
    }
    let r = h
        .post(
            "/passkeys/registration",
            access,
            json!({"credential": bare}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    // Malformed input, and a token from /refresh.
    for bad in [
        json!({}),
        json!({"credential": "text"}),
        json!({"credential": {"id": "x"}}),
        json!({"credential": {"id": "AA", "type": "public-key", "response": {"clientDataJSON": "e30", "attestationObject": "oA"}}}),
    ] {
        h.post("/passkeys/registration", access, bad)
            .await
            .assert_error(400, "invalid_request");
    }
    let refreshed = h.refresh(&tokens.refresh).await;
    let stale = refreshed.json["access_token"].as_str().unwrap();
    h.post("/passkeys/registration/options", stale, json!({}))
        .await
        .assert_error(401, "fresh_token_required");
    // The account holds what it registered, nothing refused.
    assert_eq!(h.list_passkeys(access).await.len(), 3);
}

async fn login_refusals(backend: Backend) {
    // Every refusal here counts as a failed login: room for all of them before a wait.
    let h = backend.app_with(|c| c.throttle.free_failures = 1000).await;
    let mut auth = es256();
    h.with_passkey(&mut auth).await;
    let refused = |r: common::Resp| {
        r.assert_error(401, "invalid_credentials");
        assert_eq!(r.message(), "Bad username or password");
    };

    // A replayed assertion: its challenge was spent by the first login.
    let (options, id) = h.login_options(json!({})).await;
    let credential = auth.assert(&options);
    let r = h.login_with(&id, credential.clone()).await;
    assert_eq!(r.status, 200, "{r:?}");
    refused(h.login_with(&id, credential).await);

    // Wrong origin, wrong RP id, wrong type, no user presence, a bad signature.
    for (name, change) in [
        ("origin", 0),
        ("rp id", 1),
        ("type", 2),
        ("presence", 3),
        ("signature", 4),
    ] {
        let mut bad = SoftAuthenticator {
            key: Key::es256(),
            ..es256()
        };
        std::mem::swap(&mut bad.key, &mut auth.key);
        bad.credential_id = auth.credential_id.clone();
        bad.user_handle = auth.user_handle.clone();
        bad.counter = auth.counter + 10;
        match change {
            0 => bad.origin = "https://evil.example".into(),
            1 => bad.rp_id = "evil.example".into(),
            2 => bad.client_data_type = Some("webauthn.create".into()),
            3 => bad.flags = 0,
            _ => bad.corrupt_signature = true,
        }
        let r = h.passkey_login(&mut bad).await;
        std::mem::swap(&mut bad.key, &mut auth.key);
        assert_eq!(r.status, 401, "{name}: {r:?}");
        refused(r);
    }

    // A counter that goes back (a cloned authenticator).
    auth.counter -= 1;
    refused(h.passkey_login(&mut auth).await);
    auth.counter += 5;
    assert_eq!(h.passkey_login(&mut auth).await.status, 200);

    // An unknown credential, an unknown or expired challenge id.
    refused(h.passkey_login(&mut es256()).await);
    let (options, _) = h.login_options(json!({})).await;
    refused(
        h.login_with(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            auth.assert(&options),
        )
        .await,
    );
    refused(h.login_with("short", auth.assert(&options)).await);
    // A registration's challenge is no login challenge.
    let (_, tokens) = h.user_with_tokens().await;
    let creation = h.creation_options(&tokens.access).await;
    let ch = creation["challenge"].as_str().unwrap();
    refused(
        h.login_with(ch, auth.assert(&json!({"challenge": ch})))
            .await,
    );

    // Malformed bodies are request errors.
    for bad in [
        json!({}),
        json!({"challenge_id": "x"}),
        json!({"challenge_id": "x", "credential": 5}),
    ] {
        h.call(json_request("POST", "/login/passkey", &bad))
            .await
            .assert_error(400, "invalid_request");
    }
    // The counter is 0 on both sides for authenticators that keep none: always accepted.
    let mut zero = eddsa();
    zero.counter = 0;
    h.with_passkey(&mut zero).await;
    for _ in 0..2 {
        assert_eq!(h.passkey_login(&mut zero).await.status, 200);
    }
}

async fn refusals_count_toward_throttling(backend: Backend) {
    let h = backend.app().await;
    let mut auth = es256();
    let (username, _) = h.with_passkey(&mut auth).await;
    auth.corrupt_signature = true;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(h.passkey_login(&mut auth).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    // The right passkey waits too, and so does the password.
    auth.corrupt_signature = false;
    let r = h.passkey_login(&mut auth).await;
    r.assert_error(429, "too_many_attempts");
    assert!(!r.header("retry-after").is_empty());
    h.login(&username, PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
}

async fn one_challenge_one_login_under_concurrency(backend: Backend) {
    let h = backend.app().await;
    let mut auth = es256();
    h.with_passkey(&mut auth).await;
    let (options, id) = h.login_options(json!({})).await;
    let credential = auth.assert(&options);
    let results = join_all((0..6).map(|_| h.login_with(&id, credential.clone()))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter(|r| r.status != 200) {
        r.assert_error(401, "invalid_credentials");
    }
}

async fn deleted_passkeys_and_accounts(backend: Backend) {
    let h = backend.app().await;
    let mut auth = es256();
    let (_, tokens) = h.with_passkey(&mut auth).await;
    let id = b64url(&auth.credential_id);
    // Not another account's to delete; unknown and absurd ids are 404 too.
    let (_, other) = h.user_with_tokens().await;
    for (token, path) in [
        (other.access.as_str(), format!("/passkeys/{id}")),
        (tokens.access.as_str(), "/passkeys/AAAA".to_owned()),
        (
            tokens.access.as_str(),
            format!("/passkeys/{}", "A".repeat(3000)),
        ),
        (tokens.access.as_str(), "/passkeys/a%2Bb".to_owned()),
    ] {
        h.with_token("DELETE", &path, token, "")
            .await
            .assert_error(404, "not_found");
    }
    let refreshed = h.refresh(&tokens.refresh).await;
    let stale = refreshed.json["access_token"].as_str().unwrap();
    h.with_token("DELETE", &format!("/passkeys/{id}"), stale, "")
        .await
        .assert_error(401, "fresh_token_required");
    let r = h
        .with_token("DELETE", &format!("/passkeys/{id}"), &tokens.access, "")
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(h.list_passkeys(&tokens.access).await.is_empty());
    h.passkey_login(&mut auth)
        .await
        .assert_error(401, "invalid_credentials");

    // An account deleted with its passkey: the passkey is gone with it.
    let mut second = eddsa();
    let (name2, tokens2) = h.with_passkey(&mut second).await;
    let r = h
        .with_token(
            "DELETE",
            "/account",
            &tokens2.access,
            &json!({"password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(h
        .app
        .passkeys()
        .unwrap()
        .get(&b64url(&second.credential_id))
        .await
        .unwrap()
        .is_none());
    h.passkey_login(&mut second)
        .await
        .assert_error(401, "invalid_credentials");
    // The name registers again with no passkey of the old account.
    assert_eq!(h.register(&name2, PASSWORD).await.status, 201);
    let again = h.login_ok(&name2, PASSWORD).await;
    assert!(h.list_passkeys(&again.access).await.is_empty());
}

async fn disabled_accounts_are_refused(backend: Backend) {
    let h = backend.app().await;
    let mut auth = es256();
    let (username, _) = h.with_passkey(&mut auth).await;
    h.app
        .accounts()
        .unwrap()
        .set_disabled(&username, true)
        .await
        .unwrap();
    h.passkey_login(&mut auth)
        .await
        .assert_error(403, "account_disabled");
}

async fn a_passkey_answers_the_second_step(backend: Backend) {
    let h = backend.app().await;
    let mut auth = es256();
    let (username, tokens) = h.with_passkey(&mut auth).await;
    // Passkeys without TOTP: the password alone logs in.
    let r = h.login(&username, PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    let claims = h.claims(r.json["access_token"].as_str().unwrap(), TokenType::Access);
    assert_eq!(claims.amr, ["pwd"]);
    // With TOTP too: the step lists the passkey, which answers it.
    let enrol = h.post("/mfa/totp", &tokens.access, json!({})).await;
    let secret = common::decode_base32(enrol.json["secret"].as_str().unwrap());
    let step = wristband_core::mfa::step_at(now_secs());
    let code = format!("{:06}", wristband_core::mfa::code_at(&secret, step));
    let r = h
        .post("/mfa/totp/confirm", &tokens.access, json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = h.login(&username, PASSWORD).await;
    r.assert_error(401, "mfa_required");
    assert_eq!(
        r.json["methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let mfa_token = r.json["mfa_token"].as_str().unwrap().to_owned();
    let (options, id) = h.login_options(json!({})).await;
    let credential = auth.assert(&options);
    let body = json!({"challenge_id": id, "credential": credential, "mfa_token": mfa_token});
    let r = h.call(json_request("POST", "/login/passkey", &body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The mfa_token was spent with it.
    let r = h
        .call(json_request(
            "POST",
            "/login/mfa",
            &json!({"mfa_token": mfa_token, "code": "000000"}),
        ))
        .await;
    r.assert_error(401, "mfa_failed");
}

on_both_backends!(
    registration_login_and_amr,
    registration_refusals,
    login_refusals,
    refusals_count_toward_throttling,
    one_challenge_one_login_under_concurrency,
    deleted_passkeys_and_accounts,
    disabled_accounts_are_refused,
    a_passkey_answers_the_second_step,
);

//! EdDSA and ES256 end to end (API.md "Keys"): `make test` runs the stack once per
//! algorithm with keys from the environment and these tests against it
//! (WRISTBAND_E2E_URL, WRISTBAND_E2E_ALG, WRISTBAND_E2E_KID).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these with `make test`"))
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn login_protected_logout_refused_after_with_public_keys() {
    let (base, alg, kid) = (
        env("WRISTBAND_E2E_URL"),
        env("WRISTBAND_E2E_ALG"),
        env("WRISTBAND_E2E_KID"),
    );
    let c = client();
    let user = format!("keys-{}-{}", alg.to_lowercase(), std::process::id());
    let creds = json!({"username": user, "password": "correct horse battery staple"});
    let (status, _) = send(c.post(format!("{base}/register")).json(&creds)).await;
    assert_eq!(status, 201);
    let (status, tokens) = send(c.post(format!("{base}/login")).json(&creds)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // The configured key's alg and kid; refresh tokens for another audience.
    for token in [access.as_str(), refresh] {
        assert_eq!(
            segment(token, 0),
            json!({"typ": "JWT", "alg": alg, "kid": kid})
        );
    }
    assert_ne!(segment(&access, 1)["aud"], segment(refresh, 1)["aud"]);

    // Published: the JWKS has the key, the discovery document points at it.
    let (status, jwks) = send(c.get(format!("{base}/.well-known/jwks.json"))).await;
    assert_eq!(status, 200);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap()
        .clone();
    assert_eq!(key["alg"], alg.as_str());
    let (status, discovery) = send(c.get(format!("{base}/.well-known/openid-configuration"))).await;
    assert_eq!(status, 200);
    assert!(discovery["jwks_uri"]
        .as_str()
        .unwrap()
        .ends_with("/.well-known/jwks.json"));

    let (status, body) = send(c.get(format!("{base}/protected")).bearer_auth(&access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["claims"]["sub"], user.as_str());

    // HS256 keyed with the published public key: refused.
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key["x"].as_str().unwrap().as_bytes()).unwrap();
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT", "kid": kid}).to_string());
    let payload = access.split('.').nth(1).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let forged = format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let (status, body) = send(c.get(format!("{base}/protected")).bearer_auth(&forged)).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_token"))
    );

    let (status, _) = send(c.delete(format!("{base}/logout")).bearer_auth(&access)).await;
    assert_eq!(status, 200);
    let (status, body) = send(c.get(format!("{base}/protected")).bearer_auth(&access)).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("token_revoked"))
    );
}

//! The JWKS and discovery documents: what is published is what verifies, with a cache
//! lifetime, and nothing at all under HS256.

use jwks::Documents;
use serde_json::Value;
use wristband_core::Config;
use wristband_http::{api, respond, Cors};
use wristband_test_support::{request, test_config};

const ED: &str = include_str!("../../../shared/keys/fixtures/ed25519.pem");
const ED_OTHER: &str = include_str!("../../../shared/keys/fixtures/ed25519_other.pem");

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

async fn get(documents: &Documents, path: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let response = respond(
        api::JWKS_ROUTES,
        &Cors::default(),
        request("GET", path, headers, ""),
        |e, r| documents.handle(e, r),
    )
    .await;
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: &[u8] = response.body().as_ref();
    (
        response.status().as_u16(),
        cache,
        serde_json::from_slice(body).unwrap(),
    )
}

#[tokio::test]
async fn jwks_lists_current_and_rotation_keys_with_a_cache_lifetime() {
    let old = config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_KID", "old"),
        ("JWT_PRIVATE_KEY", ED_OTHER),
    ]);
    let old_jwks =
        serde_json::json!({"keys": old.verification_keys().unwrap().public_jwks()}).to_string();
    let verifier = config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_KID", "new"),
        ("JWT_PRIVATE_KEY", ED),
        ("JWT_PUBLIC_KEYS", &old_jwks),
    ]);
    let documents = Documents::from_config(&verifier, 600).unwrap();
    let (status, cache, body) = get(&documents, "/.well-known/jwks.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(cache, "public, max-age=600");
    let keys = body["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["new", "old"]);
    for key in keys {
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "never a private part");
    }
}

#[tokio::test]
async fn discovery_names_the_issuer_and_the_jwks_uri() {
    let url_issuer = config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY", ED),
        ("JWT_ISSUER", "https://auth.example.com"),
    ]);
    let documents = Documents::from_config(&url_issuer, 300).unwrap();
    let (status, cache, body) = get(&documents, "/.well-known/openid-configuration", &[]).await;
    assert_eq!((status, cache.as_str()), (200, "public, max-age=300"));
    assert_eq!(body["issuer"], "https://auth.example.com");
    assert_eq!(
        body["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        body["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA"])
    );

    // An issuer that is not a URL: the request's own host (API Gateway sets the proto).
    let name_issuer = config(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_PRIVATE_KEY", ED)]);
    let documents = Documents::from_config(&name_issuer, 300).unwrap();
    let headers = [
        ("host", "abc.execute-api.eu-west-1.amazonaws.com"),
        ("x-forwarded-proto", "https"),
    ];
    let (_, _, body) = get(&documents, "/.well-known/openid-configuration", &headers).await;
    assert_eq!(body["issuer"], "wristband-local");
    assert_eq!(
        body["jwks_uri"],
        "https://abc.execute-api.eu-west-1.amazonaws.com/.well-known/jwks.json"
    );
}

#[tokio::test]
async fn nothing_is_published_under_hs256() {
    let documents = Documents::from_config(&test_config(), 300).unwrap();
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let (status, cache, body) = get(&documents, path, &[]).await;
        assert_eq!(status, 404);
        assert_eq!(cache, "no-store");
        assert_eq!(body["error"], "not_found");
    }
}

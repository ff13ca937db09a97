//! Helpers for wristband's tests and benches: a valid configuration, in-memory stores,
//! request builders and token forging. A dev-dependency only: no function links it.

pub mod authenticator;
pub mod emf;
mod errors;
mod memory;
mod requests;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use wristband_core::tokens::Subject;
use wristband_core::{Authenticator, Config, TokenIssuer, TokenPair, TokenVerifier};

pub use errors::every_api_error;
pub use memory::{
    InMemoryLoginThrottle, InMemoryMfaChallenges, InMemoryOneTimeTokens, InMemoryOutbox,
    InMemoryRateLimits, InMemoryRevokedTokens, InMemorySessionEnder, InMemorySessions,
    InMemoryUsers, InMemoryWebauthnChallenges,
};
pub use requests::*;

/// The test signing secret (HS256, 40 bytes).
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A configuration with a test secret and the default lifetimes.
pub fn test_config() -> Config {
    Config::from_lookup(|name| match name {
        "JWT_SECRET" => Some(TEST_SECRET.to_owned()),
        "JWT_KID" => Some("test-kid".to_owned()),
        "CORS_ALLOW_ORIGINS" => Some("http://localhost:3000".to_owned()),
        _ => None,
    })
    .expect("test configuration is valid")
}

/// A token pair for `username` with `roles` (a fixed session id), issued now with
/// `config`'s real key: what a login would hand out, without the login.
pub fn issued_pair(config: &Config, username: &str, roles: &[&str], fresh: bool) -> TokenPair {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    TokenIssuer::new(config)
        .expect("test keys")
        .issue_token_pair(
            Subject {
                username,
                roles: &roles,
                sid: "AAAAAAAAAAAAAAAAAAAAAA",
                amr: &[],
            },
            fresh,
            wristband_core::ids::now_secs(),
        )
        .expect("a token pair")
}

/// An authenticator on `config`'s key and an in-memory revocation store.
pub fn in_memory_authenticator(
    config: &Config,
) -> (Arc<Authenticator>, Arc<InMemoryRevokedTokens>) {
    let revocations = Arc::new(InMemoryRevokedTokens::default());
    let authenticator = Arc::new(Authenticator::new(
        TokenVerifier::new(config).expect("test keys"),
        revocations.clone(),
    ));
    (authenticator, revocations)
}

/// Signs arbitrary claims with `config`'s real key and header: tokens with bad claims but
/// a good signature. Tests only; the production issuer signs only the claims it makes.
pub fn forge<T: Serialize>(config: &Config, claims: &T) -> String {
    wristband_keys::install_verify_only();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(config.jwt_kid.clone());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(
            config
                .jwt_secret
                .as_deref()
                .expect("an HS256 test configuration"),
        ),
    )
    .expect("forged token signs")
}

/// Signs `header` and `payload` exactly as given, bytes and all, with `config`'s key
/// (HS256): tokens whose JSON no serializer would write.
pub fn forge_raw(config: &Config, header: &[u8], payload: &[u8]) -> String {
    wristband_keys::install_verify_only();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(
            config
                .jwt_secret
                .as_deref()
                .expect("an HS256 test configuration"),
        ),
        jsonwebtoken::Algorithm::HS256,
    )
    .expect("raw token signs");
    format!("{signing_input}.{signature}")
}

/// Unpadded base64url of a JSON value (hand-made token segments).
pub fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

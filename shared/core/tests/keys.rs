//! Keys by kid (API.md "Keys"): EdDSA and ES256 beside HS256, verification by the key's
//! own algorithm, rotation through JWT_PUBLIC_KEYS, refusal of everything else, and the
//! refresh audience.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use wristband_core::ids::now_secs;
use wristband_core::tokens::Subject;
use wristband_core::{AuthError, Config, ConfigError, TokenIssuer, TokenType, TokenVerifier};
use wristband_keys::SigningKey;

const ED: &str = include_str!("../../keys/fixtures/ed25519.pem");
const ED_OTHER: &str = include_str!("../../keys/fixtures/ed25519_other.pem");
const ED_PUB: &str = include_str!("../../keys/fixtures/ed25519_pub.pem");
const P256: &str = include_str!("../../keys/fixtures/p256.pem");
const P256_OTHER: &str = include_str!("../../keys/fixtures/p256_other.pem");

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

fn eddsa(kid: &str, pem: &str) -> Config {
    config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_KID", kid),
        ("JWT_PRIVATE_KEY", pem),
    ])
    .unwrap()
}

/// The JWKS a verifier function gets: public keys only.
fn jwks_of(config: &Config) -> String {
    let keys = config.verification_keys().unwrap();
    json!({ "keys": keys.public_jwks() }).to_string()
}

fn verifier_with_public_keys(alg: &str, jwks: &str) -> TokenVerifier {
    TokenVerifier::new(&config(&[("JWT_ALGORITHM", alg), ("JWT_PUBLIC_KEYS", jwks)]).unwrap())
        .unwrap()
}

fn pair(config: &Config) -> wristband_core::TokenPair {
    let roles = vec!["admin".to_owned()];
    TokenIssuer::new(config)
        .unwrap()
        .issue_token_pair(
            Subject {
                username: "alice",
                roles: &roles,
                sid: "sid-1",
                amr: &[],
            },
            true,
            now_secs(),
        )
        .unwrap()
}

fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn refused(result: Result<wristband_core::Claims, AuthError>) -> &'static str {
    match result {
        Err(AuthError::Invalid(why)) => why,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

#[test]
fn tokens_carry_the_configured_keys_alg_and_kid() {
    let hs = config(&[
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("JWT_KID", "hs-1"),
    ])
    .unwrap();
    let es = config(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_KID", "es-1"),
        ("JWT_PRIVATE_KEY", P256),
    ])
    .unwrap();
    for (config, alg, kid) in [
        (hs, "HS256", "hs-1"),
        (eddsa("ed-1", ED), "EdDSA", "ed-1"),
        (es, "ES256", "es-1"),
    ] {
        let p = pair(&config);
        for token in [&p.access_token, &p.refresh_token] {
            assert_eq!(header(token), json!({"typ": "JWT", "alg": alg, "kid": kid}));
        }
        let verifier = TokenVerifier::new(&config).unwrap();
        let claims = verifier.verify(&p.access_token, TokenType::Access).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.roles, ["admin"]);
    }
}

#[test]
fn a_verifier_with_the_jwks_alone_accepts_the_issuers_tokens() {
    let issuing = eddsa("ed-1", ED);
    let p = pair(&issuing);
    let jwks = jwks_of(&issuing);
    assert!(
        !jwks.contains("\"d\""),
        "no private part is published: {jwks}"
    );
    let verifier = verifier_with_public_keys("EdDSA", &jwks);
    assert_eq!(
        verifier
            .verify(&p.access_token, TokenType::Access)
            .unwrap()
            .sub,
        "alice"
    );
    // jsonwebtoken's own JWK path (a standard JWK library's view) verifies it too.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks).unwrap();
    let jwk = set.find("ed-1").unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["wristband-clients"]);
    validation.set_issuer(&["wristband-local"]);
    let data = jsonwebtoken::decode::<Value>(
        &p.access_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims["sub"], "alice");
}

#[test]
fn rotation_accepts_a_listed_earlier_key_and_refuses_it_once_removed() {
    let old = eddsa("2026-10", ED_OTHER);
    let old_token = pair(&old).access_token;
    let new = config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_KID", "2026-11"),
        ("JWT_PRIVATE_KEY", ED),
        ("JWT_PUBLIC_KEYS", &jwks_of(&old)),
    ])
    .unwrap();
    let verifier = TokenVerifier::new(&new).unwrap();
    assert!(verifier.verify(&old_token, TokenType::Access).is_ok());
    assert!(verifier
        .verify(&pair(&new).access_token, TokenType::Access)
        .is_ok());
    // The rotation is over: the old key is gone from JWT_PUBLIC_KEYS.
    let after = TokenVerifier::new(&eddsa("2026-11", ED)).unwrap();
    assert_eq!(
        refused(after.verify(&old_token, TokenType::Access)),
        "Token key (kid) is not known"
    );
}

#[test]
fn unknown_kid_stranger_key_and_embedded_jwk_are_refused() {
    let ours = eddsa("ed-1", ED);
    let verifier = TokenVerifier::new(&ours).unwrap();
    let claims = pair(&ours).access;

    let unknown = SigningKey::from_pkcs8_pem("ed-9", ED).unwrap();
    assert_eq!(
        refused(verifier.verify(&unknown.sign(&claims).unwrap(), TokenType::Access)),
        "Token key (kid) is not known"
    );
    // A stranger's key under our kid, with either algorithm.
    for stranger in [
        SigningKey::from_pkcs8_pem("ed-1", ED_OTHER).unwrap(),
        SigningKey::from_pkcs8_pem("ed-1", P256_OTHER).unwrap(),
    ] {
        let why = refused(verifier.verify(&stranger.sign(&claims).unwrap(), TokenType::Access));
        assert!(
            why == "Signature verification failed" || why == "Token algorithm is not allowed",
            "{why}"
        );
    }
    // The attacker's own key embedded in the header, under our kid.
    let attacker = SigningKey::from_pkcs8_pem("ed-1", ED_OTHER).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("ed-1".into());
    header.jwk = Some(serde_json::from_value(json!(attacker.public_jwk().unwrap())).unwrap());
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    // The key ring refuses on the header before any signature check, so the signature
    // part does not matter here.
    let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(
        refused(verifier.verify(&token, TokenType::Access)),
        "Token header carries a key or key URL; none is ever used"
    );
}

#[test]
fn hs256_is_refused_under_an_asymmetric_configuration_however_keyed() {
    let ours = eddsa("ed-1", ED);
    let verifier = TokenVerifier::new(&ours).unwrap();
    let claims = pair(&ours).access;
    let jwk = ours.verification_keys().unwrap().public_jwks().remove(0);
    let raw_x = URL_SAFE_NO_PAD.decode(&jwk.x).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        ED_PUB.as_bytes().to_vec(),
        raw_x,
        jwk.x.as_bytes().to_vec(),
        serde_json::to_vec(&jwk).unwrap(),
        b"0123456789abcdef0123456789abcdef".to_vec(),
    ];
    for secret in secrets {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ed-1".into());
        // Through jsonwebtoken's encode with wristband's provider installed.
        wristband_keys::install();
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(
            refused(verifier.verify(&token, TokenType::Access)),
            "Token algorithm is not allowed"
        );
    }
}

#[test]
fn refresh_tokens_fail_access_audience_verification() {
    let ours = eddsa("ed-1", ED);
    let p = pair(&ours);
    assert_eq!(p.refresh.aud, "wristband-clients:refresh");
    assert_eq!(p.access.aud, "wristband-clients");
    // A standard verifier set up for access tokens (as API Gateway's JWT authorizer is).
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks_of(&ours)).unwrap();
    let key = DecodingKey::from_jwk(set.find("ed-1").unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["wristband-clients"]);
    let err = jsonwebtoken::decode::<Value>(&p.refresh_token, &key, &validation).unwrap_err();
    assert_eq!(
        *err.kind(),
        jsonwebtoken::errors::ErrorKind::InvalidAudience
    );
    assert!(jsonwebtoken::decode::<Value>(&p.access_token, &key, &validation).is_ok());
    // And ours: each type only with its own audience.
    let verifier = TokenVerifier::new(&ours).unwrap();
    assert!(verifier
        .verify(&p.refresh_token, TokenType::Refresh)
        .is_ok());
    refused(verifier.verify(&p.refresh_token, TokenType::Access));
}

#[test]
fn functions_refuse_to_start_without_their_keys() {
    let no_keys = config(&[("JWT_ALGORITHM", "ES256")]).unwrap();
    assert!(matches!(
        TokenIssuer::new(&no_keys),
        Err(ConfigError::MissingPrivateKey("ES256"))
    ));
    assert!(matches!(
        TokenVerifier::new(&no_keys),
        Err(ConfigError::MissingPublicKeys("ES256"))
    ));
    // A key of the other algorithm.
    let wrong = config(&[("JWT_ALGORITHM", "ES256"), ("JWT_PRIVATE_KEY", ED)]).unwrap();
    assert!(matches!(
        TokenIssuer::new(&wrong),
        Err(ConfigError::KeyAlgorithm { .. })
    ));
    // JWT_PUBLIC_KEYS naming the current kid with another key.
    let conflicting = config(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_KID", "ed-1"),
        ("JWT_PRIVATE_KEY", ED),
        ("JWT_PUBLIC_KEYS", &jwks_of(&eddsa("ed-1", ED_OTHER))),
    ])
    .unwrap();
    assert!(matches!(
        TokenVerifier::new(&conflicting),
        Err(ConfigError::ConflictingKid(_))
    ));
    assert!(matches!(
        config(&[("JWT_ALGORITHM", "RS256")]),
        Err(ConfigError::Invalid { .. })
    ));
}

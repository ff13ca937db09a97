//! Fuzz target: `wristband_core::TokenVerifier::verify` under HS256 (a fixed test secret)
//! and EdDSA (`keys/fixtures/ed25519.pem`).
//!
//! The first input byte picks the key (bit 0) and one of four modes (bits 1-2):
//!
//! 0. the rest is the token text;
//! 1. the rest edits a freshly issued valid token (3 bytes per edit: position, operation,
//!    byte): the result must be accepted exactly when it is the issued token;
//! 2. the rest is the claims JSON, signed with the real key under our own header: whatever
//!    verify accepts must really be a valid access token by an independent check;
//! 3. the rest is the header JSON, signed with the real key over valid claims: whatever
//!    verify accepts must name our `alg` and `kid` and carry no key or key URL.
//!
//! Never a panic, and every refusal is `invalid_token` or `token_expired`.

#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wristband_core::ids::now_secs;
use wristband_core::tokens::Subject;
use wristband_core::{AuthError, Claims, Config, TokenIssuer, TokenType, TokenVerifier};

const ED25519_PEM: &str = include_str!("../../shared/keys/fixtures/ed25519.pem");
const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
const KID: &str = "fuzz-kid";
const ISSUER: &str = "wristband-local";
const AUDIENCE: &str = "wristband-clients";

struct Key {
    alg: Algorithm,
    verifier: TokenVerifier,
    encoding: EncodingKey,
    /// A valid access token, re-issued when it nears its expiry.
    valid: std::sync::Mutex<(u64, String)>,
    issuer: TokenIssuer,
}

fn config(eddsa: bool) -> Config {
    Config::from_lookup(|name| match (eddsa, name) {
        (false, "JWT_SECRET") => Some(SECRET.to_owned()),
        (true, "JWT_ALGORITHM") => Some("EdDSA".to_owned()),
        (true, "JWT_PRIVATE_KEY") => Some(ED25519_PEM.to_owned()),
        (_, "JWT_KID") => Some(KID.to_owned()),
        _ => None,
    })
    .expect("fuzz config")
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("fixture PEM")
}

fn key(eddsa: bool) -> &'static Key {
    static KEYS: OnceLock<[Key; 2]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        // The full provider, so that raw signing below works for EdDSA too.
        wristband_keys::install();
        [false, true].map(|eddsa| {
            let config = config(eddsa);
            let issuer = TokenIssuer::new(&config).unwrap();
            Key {
                alg: if eddsa {
                    Algorithm::EdDSA
                } else {
                    Algorithm::HS256
                },
                verifier: TokenVerifier::new(&config).unwrap(),
                encoding: if eddsa {
                    EncodingKey::from_ed_der(&pem_der(ED25519_PEM))
                } else {
                    EncodingKey::from_secret(SECRET.as_bytes())
                },
                valid: std::sync::Mutex::new((0, String::new())),
                issuer,
            }
        })
    });
    &keys[usize::from(eddsa)]
}

impl Key {
    fn valid_token(&self) -> String {
        let mut valid = self.valid.lock().unwrap();
        let now = now_secs();
        if valid.0 + 600 < now {
            let roles = vec!["user".to_owned()];
            let subject = Subject {
                username: "alice",
                roles: &roles,
                sid: "sid-1",
                amr: &[],
            };
            let pair = self.issuer.issue_token_pair(subject, true, now).unwrap();
            *valid = (now, pair.access_token);
        }
        valid.1.clone()
    }

    fn header(&self) -> String {
        let alg = if self.alg == Algorithm::EdDSA {
            "EdDSA"
        } else {
            "HS256"
        };
        format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{KID}"}}"#)
    }

    /// `header.claims.signature` over the given bytes, with the real key.
    fn sign_raw(&self, header: &[u8], claims: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg)
            .expect("signing with the fuzz key");
        format!("{input}.{signature}")
    }

    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let result = self.verifier.verify(token, TokenType::Access);
        if let Err(err) = &result {
            assert!(
                matches!(err, AuthError::Invalid(_) | AuthError::Expired),
                "a token refusal of another kind: {err:?}"
            );
        }
        result
    }
}

/// Edits of a token's bytes: 3 input bytes each (position, operation, byte).
fn edit(token: &str, edits: &[u8]) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    for chunk in edits.chunks_exact(3) {
        let len = bytes.len();
        let at = usize::from(chunk[0]) * (len + 1) / 256;
        let byte = chunk[2];
        match chunk[1] % 4 {
            0 if at < len => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 if at < len => {
                bytes.remove(at);
            }
            3 if at < len => bytes[at] ^= 1 << (byte % 8),
            _ => {}
        }
    }
    bytes
}

/// An independent check of claims that verify accepted as an access token.
fn check_accepted_claims(payload: &[u8], claims: &Claims) {
    let text = std::str::from_utf8(payload).expect("accepted claims are UTF-8");
    let json: Value = serde_json::from_str(text).expect("accepted claims are JSON");
    let now = now_secs();
    assert_eq!(json["iss"], ISSUER, "{text}");
    assert_eq!(json["aud"], AUDIENCE, "{text}");
    assert_eq!(json["type"], "access", "{text}");
    assert!(json["exp"].as_u64().is_some_and(|exp| exp > now), "{text}");
    assert!(json["nbf"].as_u64().is_some_and(|nbf| nbf <= now), "{text}");
    assert!(json["iat"].is_u64() && json["sub"].is_string(), "{text}");
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.token_type, TokenType::Access);
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let key = key(selector & 1 == 1);
    match (selector >> 1) & 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if key.verify(&text).is_ok() {
                // Only a token signed with our key can pass: the issued one, re-presented.
                assert_eq!(text, key.valid_token(), "an unsigned text was accepted");
            }
        }
        1 => {
            let valid = key.valid_token();
            let edited = edit(&valid, rest);
            let Ok(text) = std::str::from_utf8(&edited) else {
                return;
            };
            match key.verify(text) {
                Ok(_) => assert_eq!(text, valid, "a modified token was accepted"),
                Err(err) => assert_ne!(text, valid, "the issued token was refused: {err:?}"),
            }
        }
        2 => {
            let token = key.sign_raw(key.header().as_bytes(), rest);
            if let Ok(claims) = key.verify(&token) {
                check_accepted_claims(rest, &claims);
            }
        }
        _ => {
            let claims = format!(
                r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice","jti":"j","iat":0,"nbf":0,"exp":{},"type":"access","sid":"s"}}"#,
                now_secs() + 600
            );
            let token = key.sign_raw(rest, claims.as_bytes());
            if key.verify(&token).is_ok() {
                let text = std::str::from_utf8(rest).expect("an accepted header is UTF-8");
                let header: Value = serde_json::from_str(text).expect("accepted header is JSON");
                let alg = if key.alg == Algorithm::EdDSA {
                    "EdDSA"
                } else {
                    "HS256"
                };
                assert_eq!(header["alg"], alg, "{text}");
                assert_eq!(header["kid"], KID, "{text}");
                for forbidden in ["jwk", "jku", "x5u", "x5c", "crit"] {
                    assert!(header.get(forbidden).is_none(), "{text}");
                }
            }
        }
    }
});

//! `INTROSPECTION_CLIENTS`: the services that may ask. A JSON object of client id to the
//! lower-case hex SHA-256 of its secret (the secret itself is never configured, stored or
//! logged here). Checked in constant time, and as long for an unknown id as for a known
//! one, so neither the answer nor its time tells which ids exist.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wristband_core::{ApiError, ConfigError};

/// The environment variable.
pub const VARIABLE: &str = "INTROSPECTION_CLIENTS";

/// Longest client id accepted, in the configuration and from a caller.
pub const MAX_CLIENT_ID_CHARS: usize = 128;

#[derive(Clone)]
pub struct Clients {
    /// Client id → SHA-256 of its secret.
    hashes: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The ids only: a hash of a secret is kept out of logs too.
        f.debug_list().entries(self.hashes.keys()).finish()
    }
}

fn invalid(expected: &'static str, value: String) -> ConfigError {
    ConfigError::Invalid {
        name: VARIABLE,
        expected,
        value,
    }
}

impl Clients {
    /// From the environment; missing, empty or malformed refuses to start.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&std::env::var(VARIABLE).unwrap_or_default())
    }

    /// `{"<client id>": "<64 lower-case hex digits>", ...}`, at least one client.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let shape = "a JSON object of client id to the lower-case hex SHA-256 of its secret";
        let object: BTreeMap<String, String> =
            serde_json::from_str(text).map_err(|_| invalid(shape, "(not that)".to_owned()))?;
        if object.is_empty() {
            return Err(invalid(shape, "{}".to_owned()));
        }
        let mut hashes = BTreeMap::new();
        for (id, hex) in object {
            if id.is_empty() || id.chars().count() > MAX_CLIENT_ID_CHARS || id.contains(':') {
                return Err(invalid("client ids of 1 to 128 characters without ':'", id));
            }
            let hash = decode_hex(&hex)
                .ok_or_else(|| invalid("64 lower-case hex digits per client", id.clone()))?;
            hashes.insert(id, hash);
        }
        Ok(Self { hashes })
    }

    /// Whether `id` and `secret` are a configured client. One SHA-256 and one 32-byte
    /// constant-time comparison whatever the id (an unknown one is compared against a
    /// hash no secret has).
    pub fn check(&self, id: &str, secret: &str) -> Result<(), ApiError> {
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let (known, expected) = match self.hashes.get(id) {
            Some(hash) => (true, *hash),
            None => (false, [0u8; 32]),
        };
        let equal: bool = presented.ct_eq(&expected).into();
        if known && equal {
            Ok(())
        } else {
            Err(ApiError::InvalidClient)
        }
    }
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The lower-case hex SHA-256 of `secret`: what an operator puts in `INTROSPECTION_CLIENTS`.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_client_passes_and_nothing_else_does() {
        let text = format!(r#"{{"billing": "{}"}}"#, secret_hash("s3cret passphrase"));
        let clients = Clients::parse(&text).unwrap();
        assert!(clients.check("billing", "s3cret passphrase").is_ok());
        for (id, secret) in [
            ("billing", "s3cret passphrasE"),
            ("billing", ""),
            ("other", "s3cret passphrase"),
            ("", ""),
        ] {
            assert_eq!(
                clients.check(id, secret).unwrap_err().code(),
                "invalid_client"
            );
        }
        assert!(!format!("{clients:?}").contains(&secret_hash("s3cret passphrase")));
    }

    #[test]
    fn bad_configurations_refuse_to_start_and_name_the_variable() {
        let good = secret_hash("x");
        for text in [
            String::new(),
            "{}".to_owned(),
            "[]".to_owned(),
            r#"{"a": "abc"}"#.to_owned(),
            format!(r#"{{"a": "{}"}}"#, good.to_uppercase()),
            format!(r#"{{"a:b": "{good}"}}"#),
            format!(r#"{{"": "{good}"}}"#),
            format!(r#"{{"a": {good:?}, "b": 1}}"#),
        ] {
            let err = Clients::parse(&text).unwrap_err().to_string();
            assert!(err.contains(VARIABLE), "{text}: {err}");
        }
    }
}

//! The tokens of emailed links: 256 random bits in base64url without padding, stored
//! only as their SHA-256 (lower-case hex).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::BoxError;

const TOKEN_BYTES: usize = 32;

/// Length of every link token: 32 bytes in unpadded base64url.
pub const TOKEN_CHARS: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// A new link token and the hash it is stored under.
pub struct NewToken {
    /// Goes into the link (and nowhere else: never logged, never stored).
    pub token: String,
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewToken(..)")
    }
}

pub fn new_token() -> Result<NewToken, BoxError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| BoxError::from(e.to_string()))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    Ok(NewToken { token, hash })
}

/// The stored form of a token: lower-case hex SHA-256 of its text.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Lower-case hex SHA-256 of `bytes`: how secrets and long ids are keyed in the stores.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

/// Whether `token` could be one of ours by its form: the length and alphabet of
/// [`new_token`]'s. Anything else is refused before a store is asked.
pub fn is_plausible_token(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43);
        assert!(is_plausible_token(&a.token));
        assert_eq!(a.hash, token_hash(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    proptest! {
        #[test]
        fn any_other_length_or_alphabet_is_refused(raw in "\\PC{0,60}") {
            let plausible = is_plausible_token(&raw);
            if raw.len() != TOKEN_CHARS || raw.contains(['+', '/', '=', ' ', '.']) {
                prop_assert!(!plausible);
            }
            // Whatever is plausible stays within what the store's key may hold.
            if plausible {
                prop_assert_eq!(token_hash(&raw).len(), 64);
            }
        }

        #[test]
        fn the_hash_is_hex_and_tells_texts_apart(a in "\\PC{0,50}", b in "\\PC{0,50}") {
            let (ha, hb) = (token_hash(&a), token_hash(&b));
            prop_assert!(ha.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            prop_assert_eq!(a == b, ha == hb);
        }
    }
}

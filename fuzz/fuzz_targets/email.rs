//! Fuzz target: the parsers of the new untrusted inputs of accounts by email,
//! `wristband_core::email::normalise_email` (an address from `/register`, `PUT /email`,
//! `/password/forgot`) and `wristband_core::onetime::{is_plausible_token, token_hash}`
//! (the token of an emailed link, from `/email/verify` and `/password/reset`).
//!
//! The input is the text, as UTF-8 when it is valid (else its lossy decoding, so that
//! U+FFFD and the bytes around it are tried too). Checked:
//!
//! - an accepted address is at most 254 characters, has exactly one `@` with a non-empty
//!   part on each side, no whitespace or control character, is lower-case, is the
//!   lower-cased input and nothing else, and is a fixed point (normalising it again gives
//!   it back); an address is accepted exactly when API.md's rule holds for it, and the
//!   input's case never changes the answer;
//! - a plausible token is exactly 43 characters of the base64url alphabet, and every such
//!   text is plausible;
//! - a token's hash is 64 lower-case hex digits and the same every time.
//!
//! Never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wristband_core::email::{normalise_email, AddressError, MAX_EMAIL_CHARS};
use wristband_core::onetime::{is_plausible_token, token_hash, TOKEN_CHARS};

/// API.md's rule, written again from its words, on the lower-cased text.
fn rule_holds(lower: &str) -> bool {
    let mut parts = lower.split('@');
    let shape = matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(local), Some(domain), None) if !local.is_empty() && !domain.is_empty()
    );
    shape
        && lower.chars().count() <= MAX_EMAIL_CHARS
        && !lower.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_address(raw: &str) {
    let lower = raw.to_lowercase();
    let answer = normalise_email(raw);
    assert_eq!(answer.is_ok(), rule_holds(&lower), "{raw:?} -> {answer:?}");
    // Addresses compare case-insensitively: the lower-cased input gets the same answer.
    assert_eq!(normalise_email(&lower), answer, "{raw:?}");
    match answer {
        Ok(address) => {
            assert!(address.chars().count() <= MAX_EMAIL_CHARS, "{address:?}");
            assert_eq!(address.matches('@').count(), 1, "{address:?}");
            let (local, domain) = address.split_once('@').unwrap();
            assert!(!local.is_empty() && !domain.is_empty(), "{address:?}");
            assert!(
                !address.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{address:?}"
            );
            assert_eq!(address.to_lowercase(), address, "not lower-case");
            assert_eq!(address, lower, "more than lower-cased");
            assert_eq!(normalise_email(&address).as_ref(), Ok(&address), "not idempotent");
        }
        Err(AddressError::Empty) => assert!(raw.is_empty(), "{raw:?}"),
        Err(AddressError::TooLong) => {
            assert!(lower.chars().count() > MAX_EMAIL_CHARS, "{raw:?}")
        }
        Err(AddressError::Shape | AddressError::Forbidden) => assert!(!raw.is_empty()),
    }
}

fn check_token(raw: &str) {
    let base64url = raw.len() == TOKEN_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let plausible = is_plausible_token(raw);
    assert_eq!(plausible, base64url, "{raw:?}");
    if plausible {
        assert_eq!(raw.chars().count(), 43);
    }
    let hash = token_hash(raw);
    assert_eq!(hash.len(), 64, "{hash}");
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{hash}"
    );
    assert_eq!(token_hash(raw), hash, "not deterministic");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_address(&text);
    check_token(&text);
});

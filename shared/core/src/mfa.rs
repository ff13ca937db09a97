//! The second factor's arithmetic: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one
//! step of drift either way), its secret sealed at rest with `MFA_ENCRYPTION_KEY`
//! (XChaCha20-Poly1305, the username as associated data), and recovery codes (ten of
//! `xxxxx-xxxxx`, stored as HMAC-SHA-256 under a key derived from the same key).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::error::BoxError;

/// Seconds per TOTP step.
pub const STEP_SECS: u64 = 30;
/// Digits of a TOTP code.
pub const DIGITS: usize = 6;
/// Bytes of a new TOTP secret: 160 bits (RFC 4226 §4 recommends 160).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes per account.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code without its dash: 10 of 36, about 51.7 bits.
const RECOVERY_CHARS: usize = 10;
const RECOVERY_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The HOTP value of `secret` at counter `step` (RFC 4226 §5.3), 6 digits.
pub fn code_at(secret: &[u8], step: u64) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS as u32)
}

/// The TOTP step of `now` (epoch seconds).
pub fn step_at(now: u64) -> u64 {
    now / STEP_SECS
}

/// Whether `input` has the shape of a TOTP code: exactly six ASCII digits.
pub fn is_totp_code(input: &str) -> bool {
    input.len() == DIGITS && input.bytes().all(|b| b.is_ascii_digit())
}

/// The step of the window around `now` (one step either way) whose code is `code`; the
/// earliest when several match. `None` for any other input.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    if !is_totp_code(code) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let step = step_at(now);
    // Compare every candidate: the time taken does not depend on which one matched.
    let mut found = None;
    for candidate in [step.saturating_sub(1), step, step + 1] {
        let matches = subtle_eq(code_at(secret, candidate), wanted);
        if matches && found.is_none() {
            found = Some(candidate);
        }
    }
    found
}

fn subtle_eq(a: u32, b: u32) -> bool {
    (a ^ b) == 0
}

/// RFC 4648 base32 without padding, as authenticator apps read `secret=`.
/// An `mfa_token` (`/login`'s `401 mfa_required`): a new random token and the username the
/// login is for, `<token>.<username>`, stored only as the SHA-256 of the whole text. The
/// name in it lets the second step read the login, the account, its throttling and its
/// sessions in one round trip; it is no secret (the client just typed it), and changing
/// it changes the hash, so no other login is reached.
pub fn mfa_token(token: &str, username: &str) -> String {
    format!("{token}.{username}")
}

/// The username of a plausible `mfa_token` ([`mfa_token`]'s form: a link token's length
/// and alphabet, a dot, a normalised username); `None` for anything else.
pub fn mfa_token_username(mfa_token: &str) -> Option<&str> {
    let (token, username) = mfa_token.split_once('.')?;
    let name_ok = (3..=64).contains(&username.len())
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        });
    (crate::onetime::is_plausible_token(token) && name_ok).then_some(username)
}

pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `otpauth://totp/<issuer>:<username>?secret=...&issuer=...` (Key Uri Format), with the
/// defaults of RFC 6238 left implicit except where apps disagree on them.
pub fn otpauth_uri(issuer: &str, username: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        percent_encode(issuer),
        percent_encode(username),
        base32(secret),
        percent_encode(issuer)
    )
}

/// A new TOTP secret.
pub fn new_secret() -> Result<Vec<u8>, BoxError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|e| BoxError::from(e.to_string()))?;
    Ok(secret)
}

/// Ten new recovery codes, `xxxxx-xxxxx` of lower-case letters and digits.
pub fn new_recovery_codes() -> Result<Vec<String>, BoxError> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = String::with_capacity(RECOVERY_CHARS + 1);
            let mut produced = 0;
            while produced < RECOVERY_CHARS {
                let mut byte = [0u8; 1];
                getrandom::fill(&mut byte).map_err(|e| BoxError::from(e.to_string()))?;
                // 252 = 7 * 36: rejection sampling keeps every character equally likely.
                if byte[0] < 252 {
                    if produced == RECOVERY_CHARS / 2 {
                        code.push('-');
                    }
                    code.push(char::from(RECOVERY_ALPHABET[usize::from(byte[0] % 36)]));
                    produced += 1;
                }
            }
            Ok(code)
        })
        .collect()
}

/// A recovery code as typed, compared form: case, spaces and dashes ignored; `None` when
/// what is left is not ten letters and digits.
pub fn normalise_recovery_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == RECOVERY_CHARS && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

/// `MFA_ENCRYPTION_KEY`: 32 random bytes. Never printed.
#[derive(Clone)]
pub struct MfaKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(<redacted>)")
    }
}

impl PartialEq for MfaKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for MfaKey {}

/// Why a sealed secret does not open.
#[derive(Debug, thiserror::Error)]
#[error("a sealed TOTP secret did not open (wrong key, account or data)")]
pub struct SealError;

impl MfaKey {
    /// From the variable's base64 text (standard alphabet, padding optional); `None`
    /// unless it decodes to exactly 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .ok()?;
        Some(Self {
            key: bytes.try_into().ok()?,
        })
    }

    /// A sub-key for `purpose` (HMAC-SHA-256 of the purpose under the key): the cipher
    /// and the code hashes never share a key.
    fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key");
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// `secret` sealed for `username`: base64url of a random 24-byte nonce and the
    /// ciphertext with its tag. Opens only with this key and for this username.
    pub fn seal(&self, username: &str, secret: &[u8]) -> Result<String, BoxError> {
        let cipher = XChaCha20Poly1305::new((&self.derive(b"wristband totp secret v1")).into());
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| BoxError::from(e.to_string()))?;
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: username.as_bytes(),
                },
            )
            .map_err(|_| BoxError::from("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The secret [`MfaKey::seal`] sealed for `username`.
    pub fn open(&self, username: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| SealError)?;
        if bytes.len() < 24 + 16 {
            return Err(SealError);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError)?;
        let cipher = XChaCha20Poly1305::new((&self.derive(b"wristband totp secret v1")).into());
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: username.as_bytes(),
                },
            )
            .map_err(|_| SealError)
    }

    /// The stored form of a recovery code of `username` ([`normalise_recovery_code`]'s
    /// output): lower-case hex HMAC-SHA-256, so that a copy of the table alone cannot be
    /// searched for the codes.
    pub fn recovery_code_hash(&self, username: &str, code: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.derive(b"wristband recovery code v1"))
                .expect("any key");
        mac.update(username.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        crate::onetime::hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_tokens_carry_their_username() {
        let random = crate::onetime::new_token().unwrap().token;
        let token = mfa_token(&random, "alice.smith@example");
        assert_eq!(mfa_token_username(&token), Some("alice.smith@example"));
        for bad in [
            random.clone(),
            format!("{random}."),
            format!("{random}.Alice"),
            format!("{random}.ab"),
            format!("{random}.{}", "a".repeat(65)),
            "short.alice".to_owned(),
            format!("{random}.al ice"),
        ] {
            assert_eq!(mfa_token_username(&bad), None, "{bad}");
        }
    }
    use proptest::prelude::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 (8 digits there; the 6-digit code is the same value
    /// modulo 10^6).
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        for (time, eight_digits) in [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                code_at(RFC_SEED, step_at(time)),
                eight_digits % 1_000_000,
                "T={time}"
            );
        }
    }

    #[test]
    fn one_step_of_drift_either_way() {
        let now = 1_111_111_111;
        let step = step_at(now);
        let code = |s: u64| format!("{:06}", code_at(RFC_SEED, s));
        assert_eq!(matching_step(RFC_SEED, &code(step), now), Some(step));
        assert_eq!(
            matching_step(RFC_SEED, &code(step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(RFC_SEED, &code(step + 1), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(RFC_SEED, &code(step + 2), now), None);
        assert_eq!(matching_step(RFC_SEED, &code(step - 2), now), None);
        for bad in ["", "12345", "1234567", "12345a", " 123456", "١٢٣٤٥٦"] {
            assert_eq!(matching_step(RFC_SEED, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_of_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(RFC_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn otpauth_uri_names_issuer_and_account() {
        assert_eq!(
            otpauth_uri("wristband local", "ann@x", RFC_SEED),
            "otpauth://totp/wristband%20local:ann%40x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=wristband%20local&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_read_back() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            let normal = normalise_recovery_code(code).unwrap();
            assert_eq!(
                normalise_recovery_code(&code.to_uppercase()),
                Some(normal.clone())
            );
            let spaced = format!(" {} {} ", &code[..5], &code[6..]);
            assert_eq!(normalise_recovery_code(&spaced), Some(normal));
        }
        for bad in [
            "",
            "abcde-fghi",
            "abcde-fghijk",
            "abcde_fghij",
            "äbcde-fghij",
        ] {
            assert_eq!(normalise_recovery_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_account() {
        let key = MfaKey::parse(&STANDARD.encode([7u8; 32])).unwrap();
        let other = MfaKey::parse(&STANDARD.encode([8u8; 32])).unwrap();
        let sealed = key.seal("ann", RFC_SEED).unwrap();
        assert_eq!(key.open("ann", &sealed).unwrap(), RFC_SEED);
        assert!(key.open("bob", &sealed).is_err(), "bound to the account");
        assert!(other.open("ann", &sealed).is_err(), "bound to the key");
        assert!(!sealed.contains(&base32(RFC_SEED)));
        assert_ne!(
            key.seal("ann", RFC_SEED).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        assert!(key.open("ann", "not base64!").is_err());
        assert!(key.open("ann", "AAAA").is_err());
        assert!(MfaKey::parse("short").is_none());
        assert!(MfaKey::parse(&STANDARD.encode([1u8; 31])).is_none());
        assert!(!format!("{key:?}").contains('7'));
        assert_ne!(
            key.recovery_code_hash("ann", "abcdefghij"),
            other.recovery_code_hash("ann", "abcdefghij")
        );
        assert_ne!(
            key.recovery_code_hash("ann", "abcdefghij"),
            key.recovery_code_hash("bob", "abcdefghij")
        );
    }

    proptest! {
        #[test]
        fn codes_are_six_digits_and_match_their_own_step(secret in proptest::collection::vec(any::<u8>(), 1..64), now in 30u64..4_000_000_000) {
            let step = step_at(now);
            let code = format!("{:06}", code_at(&secret, step));
            prop_assert!(is_totp_code(&code));
            let found = matching_step(&secret, &code, now);
            prop_assert!(found.is_some_and(|s| s + 1 >= step && s <= step + 1));
        }

        #[test]
        fn recovery_input_never_panics_and_normal_forms_are_fixed_points(input in "\\PC{0,80}") {
            if let Some(code) = normalise_recovery_code(&input) {
                prop_assert_eq!(normalise_recovery_code(&code), Some(code.clone()));
                prop_assert_eq!(code.len(), 10);
            }
        }
    }
}

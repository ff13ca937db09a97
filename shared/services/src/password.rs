//! argon2id password hashing (OWASP parameters), always off the async executor.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{phc::PasswordHash, PasswordHasher as _};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use subtle::ConstantTimeEq as _;
use wristband_core::ApiError;

/// Password length rule (OWASP ASVS 5.0 V6.2), counted in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The hash an unknown user's password is verified against, so that an unknown user costs
/// what a wrong password does. It was made once, with the parameters below (the test
/// `dummy_hash_costs_what_a_real_one_does` holds it to them), from 32 random bytes that were
/// thrown away: nobody knows a password for it, and `verify` answers `false` for it anyway.
/// A constant rather than a hash made at start-up: that hash was one argon2id run (20-40 ms)
/// in every cold start of `login`.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$fdPKGNHFvheVjFnl01895g$E7qYUuOxFJRlMDd6NVrDlKGwtZbEUDH/t5OIAJcpIr8";

/// argon2id with m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    /// argon2id's 19 MiB of working memory, kept between verifications. Allocated per
    /// call (as the crate's `verify_password` does), it came back from the allocator as
    /// fresh pages each time: ~1,000 page faults and 2-3 ms of system time per login
    /// in the shipped binary. A Lambda process verifies one password at a time, so the
    /// lock is never contended there.
    memory: Mutex<Vec<Block>>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
        Self {
            inner: Arc::new(Inner {
                argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
                memory: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.hash(&password))
            .await
            .map_err(ApiError::internal)?
    }

    /// Whether `password` matches `phc`; with `None` (no such user) it verifies against the
    /// dummy hash and answers `false`, taking the same time.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let known = phc.is_some();
            let hash = phc.as_deref().unwrap_or(DUMMY_HASH);
            inner.verify(&password, hash) && known
        })
        .await
        .map_err(ApiError::internal)
    }
}

impl Inner {
    fn hash(&self, password: &str) -> Result<String, ApiError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(format!("argon2 hash failed: {e}")))
    }

    fn verify(&self, password: &str, phc: &str) -> bool {
        // A stored hash that does not parse verifies nothing (and is logged, without itself).
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::error!("stored password hash is not a valid PHC string");
            return false;
        };
        // What `PasswordVerifier::verify_password` does, on the kept memory: the hash's own
        // algorithm, version and parameters, then a constant-time comparison.
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(version), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            parsed
                .version
                .map(Version::try_from)
                .unwrap_or(Ok(Version::V0x13)),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let mut out = [0u8; 64];
        let Some(out) = out.get_mut(..expected.len()) else {
            return false;
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let computed = if params.block_count() == self.argon2.params().block_count() {
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            memory.resize(params.block_count(), Block::default());
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
        } else {
            // Not our parameters (no such hash is stored today): no memory kept for it.
            argon2.hash_password_into(password.as_bytes(), salt, out)
        };
        computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
    }
}

/// `weak_password` unless 8..=1024 characters and not one of the 10,000 most common
/// passwords, compared case-insensitively (OWASP ASVS 5.0 V6.2; the list and its source
/// are in `common-passwords/`). No composition rules.
pub fn check_password_policy(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::WeakPassword(
            "Password must be 8 to 1024 characters long",
        ));
    }
    if common_passwords::is_common_password(password) {
        return Err(ApiError::WeakPassword(
            "Password is one of the 10,000 most common passwords; choose another",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_phc_at_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::new();
        let phc = hasher.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher
            .verify("correct horse".into(), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse".into(), Some(phc.clone()))
            .await
            .unwrap());
        let again = hasher.hash("correct horse".into()).await.unwrap();
        assert_ne!(phc, again, "salts must differ");
    }

    /// The kept-memory verification answers what the crate's own `verify_password` does,
    /// for our parameters and for others (the allocating path), twice in a row (the kept
    /// memory holds the previous hash's blocks).
    #[test]
    fn verifies_as_the_crate_does() {
        use argon2::password_hash::PasswordVerifier as _;
        let ours = PasswordHasher::new();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let hashes = [
            ours.inner.hash("correct horse").unwrap(),
            ours.inner.hash("another one!").unwrap(),
            small.hash_password(b"correct horse").unwrap().to_string(),
            DUMMY_HASH.to_owned(),
        ];
        for phc in &hashes {
            let parsed = PasswordHash::new(phc).unwrap();
            for candidate in ["correct horse", "another one!", "correct horsf", ""] {
                for _ in 0..2 {
                    let reference = ours
                        .inner
                        .argon2
                        .verify_password(candidate.as_bytes(), &parsed)
                        .is_ok();
                    assert_eq!(
                        ours.inner.verify(candidate, phc),
                        reference,
                        "{candidate:?}"
                    );
                }
            }
        }
        assert!(ours.inner.verify("correct horse", &hashes[0]));
        assert!(ours.inner.verify("correct horse", &hashes[2]));
        assert!(!ours
            .inner
            .verify("correct horse", "$argon2id$v=19$m=19456,t=2,p=1$bm9wZQ"));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn dummy_hash_costs_what_a_real_one_does() {
        // Same algorithm, version, m, t, p, salt length and output length as a fresh hash:
        // verifying against it is the same argon2id work as verifying a real user's hash.
        let real = PasswordHasher::new().hash("x".repeat(8)).await.unwrap();
        let shape = |phc: &str| {
            let parsed = PasswordHash::new(phc).unwrap();
            (
                parsed.algorithm.to_string(),
                parsed.version,
                parsed.params.to_string(),
                parsed.salt.unwrap().as_ref().len(),
                parsed.hash.unwrap().len(),
            )
        };
        assert_eq!(shape(DUMMY_HASH), shape(&real));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[tokio::test]
    async fn corrupt_stored_hash_does_not_verify() {
        let hasher = PasswordHasher::new();
        assert!(!hasher
            .verify("x".into(), Some("not-a-phc".into()))
            .await
            .unwrap());
    }

    #[test]
    fn common_passwords_are_weak_in_any_case() {
        for common in [
            "password",
            "PassWord",
            "12345678",
            "QWERTYUIOP",
            "iloveyou1",
            "1q2w3e4r5t",
        ] {
            let err = check_password_policy(common).unwrap_err();
            assert_eq!(err.code(), "weak_password", "{common}");
            assert!(err.to_string().contains("common"), "{common}: {err}");
        }
        for fine in [
            "correct horse battery staple",
            "password-but-longer-and-mine",
            "Tr0ub4dor&3x!",
        ] {
            assert!(check_password_policy(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn policy_counts_characters() {
        assert!(check_password_policy("1234567").is_err());
        assert!(check_password_policy("1234567x").is_ok());
        assert!(check_password_policy(&"é".repeat(1024)).is_ok());
        assert!(check_password_policy(&"é".repeat(1025)).is_err());
        assert_eq!(
            check_password_policy("short").unwrap_err().code(),
            "weak_password"
        );
    }
}

//! Configuration from the environment, read once per process in `main`.

use std::time::Duration;

use thiserror::Error;

/// Shortest accepted HS256 secret (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why the process refuses to start.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(
        "JWT_SECRET is not set. Set it to at least {MIN_SECRET_BYTES} random bytes, e.g. \
         `export JWT_SECRET=$(openssl rand -base64 48)` (in AWS: a Secrets Manager secret, \
         see template.yaml); `make run` generates a development secret for you"
    )]
    MissingSecret,
    #[error(
        "JWT_SECRET is {0} bytes long; it must be at least {MIN_SECRET_BYTES} bytes. \
         Generate one with `openssl rand -base64 48`"
    )]
    WeakSecret(usize),
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// Table names of the three DynamoDB tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub users: String,
    pub revoked_tokens: String,
    pub sessions: String,
}

impl TableNames {
    /// `USERS_TABLE`, `REVOKED_TOKENS_TABLE`, `SESSIONS_TABLE`, with local defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let text = |name: &str, default: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self {
            users: text("USERS_TABLE", "wristband-users"),
            revoked_tokens: text("REVOKED_TOKENS_TABLE", "wristband-revoked-tokens"),
            sessions: text("SESSIONS_TABLE", "wristband-sessions"),
        }
    }
}

/// `CORS_ALLOW_ORIGINS`: comma-separated exact origins (a trailing `/` is dropped). Read on
/// its own too, by functions that need no other configuration (not-found).
pub fn cors_allow_origins_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
    lookup("CORS_ALLOW_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Login throttling: after `max_failures` wrong passwords in a row the user is locked
/// for `lockout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lockout: Duration,
}

/// Everything a function needs to know, from the environment.
#[derive(Clone)]
pub struct Config {
    /// HS256 key material; never logged (see the `Debug` impl).
    pub jwt_secret: Vec<u8>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_kid: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long a just-rotated refresh token may be presented again (a client retry)
    /// before its reuse counts as theft and ends the session.
    pub refresh_reuse_grace: Duration,
    pub tables: TableNames,
    pub cors_allow_origins: Vec<String>,
    pub lockout: LockoutPolicy,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("jwt_secret", &"<redacted>")
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_kid", &self.jwt_kid)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("tables", &self.tables)
            .field("cors_allow_origins", &self.cors_allow_origins)
            .field("lockout", &self.lockout)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let text = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let seconds = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Duration::from_secs)
                    .ok_or(ConfigError::Invalid {
                        name,
                        expected: "a positive whole number of seconds",
                        value: v,
                    }),
            }
        };

        let jwt_secret = get("JWT_SECRET")
            .ok_or(ConfigError::MissingSecret)?
            .into_bytes();
        if jwt_secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::WeakSecret(jwt_secret.len()));
        }

        let max_failures = match get("LOGIN_MAX_FAILURES") {
            None => 5,
            Some(v) => {
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::Invalid {
                        name: "LOGIN_MAX_FAILURES",
                        expected: "a positive whole number",
                        value: v,
                    })?
            }
        };

        Ok(Self {
            jwt_secret,
            jwt_issuer: text("JWT_ISSUER", "wristband-local"),
            jwt_audience: text("JWT_AUDIENCE", "wristband-clients"),
            jwt_kid: text("JWT_KID", "wristband-1"),
            access_ttl: seconds("ACCESS_TOKEN_TTL_SECONDS", 900)?,
            refresh_ttl: seconds("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?,
            refresh_reuse_grace: seconds("REFRESH_REUSE_GRACE_SECONDS", 10)?,
            tables: TableNames::from_lookup(&lookup),
            cors_allow_origins: cors_allow_origins_from_lookup(&lookup),
            lockout: LockoutPolicy {
                max_failures,
                lockout: seconds("LOGIN_LOCKOUT_SECONDS", 300)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn missing_secret_refuses_to_start_with_a_hint() {
        let err = config(&[]).unwrap_err();
        assert!(matches!(err, ConfigError::MissingSecret));
        assert!(err.to_string().contains("openssl rand"));
    }

    #[test]
    fn short_secret_refuses_to_start() {
        let err = config(&[("JWT_SECRET", "short")]).unwrap_err();
        assert!(matches!(err, ConfigError::WeakSecret(5)));
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.access_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_ttl, Duration::from_secs(2_592_000));
        assert_eq!(c.refresh_reuse_grace, Duration::from_secs(10));
        assert!(c.cors_allow_origins.is_empty());
        assert_eq!(c.lockout.max_failures, 5);
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("ACCESS_TOKEN_TTL_SECONDS", "60"),
            ("USERS_TABLE", "u"),
            (
                "CORS_ALLOW_ORIGINS",
                "https://a.example, https://b.example/",
            ),
        ])
        .unwrap();
        assert_eq!(c.access_ttl, Duration::from_secs(60));
        assert_eq!(c.tables.users, "u");
        assert_eq!(
            c.cors_allow_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn bad_numbers_are_named() {
        let err =
            config(&[("JWT_SECRET", SECRET), ("ACCESS_TOKEN_TTL_SECONDS", "ten")]).unwrap_err();
        assert!(err.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert!(!format!("{c:?}").contains(SECRET));
    }
}

//! Configuration from the environment, read once per process in `main`.

use std::time::Duration;

use thiserror::Error;
use wristband_keys::{KeyError, SigningKey, VerificationKeys};

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
    #[error(
        "JWT_ALGORITHM={0} needs JWT_PRIVATE_KEY (the signing key, PKCS#8 PEM) in the functions \
         that issue tokens, e.g. from `openssl genpkey -algorithm ed25519` (EdDSA) or \
         `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` (ES256)"
    )]
    MissingPrivateKey(&'static str),
    #[error(
        "JWT_ALGORITHM={0} needs the public keys to verify tokens: JWT_PUBLIC_KEYS (a JWKS \
         document with the current key and any earlier ones still accepted), or \
         JWT_PRIVATE_KEY where the function also issues tokens"
    )]
    MissingPublicKeys(&'static str),
    #[error("{name} is not usable: {source}")]
    Key {
        name: &'static str,
        #[source]
        source: KeyError,
    },
    #[error("JWT_PRIVATE_KEY is a {found} key but JWT_ALGORITHM is {configured}")]
    KeyAlgorithm {
        found: &'static str,
        configured: &'static str,
    },
    #[error("JWT_PUBLIC_KEYS has kid {0:?} with another key than JWT_PRIVATE_KEY's")]
    ConflictingKid(String),
    #[error(
        "{0} is not set; the functions that send mail need APP_URL (where the emailed links \
         open, e.g. https://app.example.com) and MAIL_FROM (a verified SES identity); \
         `make run` sets local defaults"
    )]
    MissingMailSetting(&'static str),
    #[error(
        "MFA_ENCRYPTION_KEY is not set; the functions of the second factor need 32 random \
         bytes in base64, e.g. `openssl rand -base64 32` (in AWS: a Secrets Manager secret, \
         see template.yaml); `make run` generates one for you"
    )]
    MissingMfaKey,
    #[error(
        "WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS are not set; the passkey functions need the \
         relying party id (the site's domain, e.g. example.com) and the origins pages call \
         from (e.g. https://app.example.com); `make run` sets local defaults"
    )]
    MissingWebauthn,
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

/// Where tokens travel (`TOKEN_LOCATION`): `headers` (default), `cookies` or
/// `headers,cookies` (Flask-JWT-Extended's `JWT_TOKEN_LOCATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLocation {
    /// `Authorization: Bearer <jwt>`.
    pub headers: bool,
    /// `access_token_cookie` / `refresh_token_cookie`, with double-submit CSRF.
    pub cookies: bool,
}

impl Default for TokenLocation {
    fn default() -> Self {
        Self::HEADERS
    }
}

impl TokenLocation {
    pub const HEADERS: Self = Self {
        headers: true,
        cookies: false,
    };
    pub const COOKIES: Self = Self {
        headers: false,
        cookies: true,
    };
    pub const BOTH: Self = Self {
        headers: true,
        cookies: true,
    };

    /// `headers`, `cookies`, or both comma-separated (any order, case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        let mut location = Self {
            headers: false,
            cookies: false,
        };
        for part in value.split(',') {
            match part.trim().to_ascii_lowercase().as_str() {
                "headers" => location.headers = true,
                "cookies" => location.cookies = true,
                _ => return None,
            }
        }
        Some(location)
    }
}

/// The cookies' `SameSite` attribute (`COOKIE_SAMESITE`, default `Lax`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// How the token cookies are set (used only when [`TokenLocation::cookies`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieSettings {
    pub same_site: SameSite,
    /// `COOKIE_SECURE` (default `true`): only sent over HTTPS (browsers count
    /// `http://localhost` as secure too).
    pub secure: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            same_site: SameSite::Lax,
            secure: true,
        }
    }
}

/// Login throttling (API.md "Login throttling", Amazon Cognito's model): after
/// `free_failures` consecutive failures the next attempt waits `first_wait`, and the wait
/// doubles with every further failure up to `max_wait`. It only ever delays: there is no
/// permanent lock. A failure count is forgotten `memory` after the last failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    pub first_wait: Duration,
    pub max_wait: Duration,
    pub memory: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(15 * 60),
            memory: Duration::from_secs(24 * 3600),
        }
    }
}

impl ThrottlePolicy {
    /// How long logins wait after `failures` consecutive failures: nothing up to
    /// `free_failures`, then `first_wait * 2^(failures - free_failures)`, at most `max_wait`.
    pub fn wait_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_failures).min(31);
        self.first_wait
            .checked_mul(1u32 << doublings)
            .map_or(self.max_wait, |wait| wait.min(self.max_wait))
    }
}

/// `MAX_SESSIONS_PER_USER` when unset: Google keeps 100 per account and client.
pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 100;

/// The token signature algorithms wristband issues (API.md "Keys").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    EdDsa,
    Es256,
}

impl JwtAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::EdDsa => "EdDSA",
            JwtAlgorithm::Es256 => "ES256",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [
            JwtAlgorithm::Hs256,
            JwtAlgorithm::EdDsa,
            JwtAlgorithm::Es256,
        ]
        .into_iter()
        .find(|a| a.name() == value.trim())
    }
}

/// Everything a function needs to know, from the environment. Key material is read here
/// but turned into keys only by the functions that need them ([`Config::signing_key`],
/// [`Config::verification_keys`]), which refuse to start without it.
#[derive(Clone)]
pub struct Config {
    pub jwt_algorithm: JwtAlgorithm,
    /// HS256 key material; never logged (see the `Debug` impl).
    pub jwt_secret: Option<Vec<u8>>,
    /// EdDSA/ES256: the current signing key, PKCS#8 PEM; only issuing functions get it.
    pub jwt_private_key: Option<String>,
    /// EdDSA/ES256: a JWKS of the public keys accepted besides the current signing key's
    /// (earlier keys of a rotation; for verifiers, which hold no private key, the current
    /// one too).
    pub jwt_public_keys: Option<String>,
    pub jwt_issuer: String,
    /// `aud` of access tokens.
    pub jwt_audience: String,
    /// `aud` of refresh tokens: never the access audience, so a standard verifier set up
    /// for access tokens (API Gateway's JWT authorizer) refuses refresh tokens.
    pub jwt_refresh_audience: String,
    pub jwt_kid: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long a just-rotated refresh token may be presented again (a client retry)
    /// before its reuse counts as theft and ends the session.
    pub refresh_reuse_grace: Duration,
    /// Live sessions an account may hold (`MAX_SESSIONS_PER_USER`, API.md "Sessions per
    /// account"): a login that would make one more first ends the least recently used.
    pub max_sessions_per_user: usize,
    pub tables: TableNames,
    pub cors_allow_origins: Vec<String>,
    pub throttle: ThrottlePolicy,
    pub token_location: TokenLocation,
    pub cookies: CookieSettings,
    pub mail: MailSettings,
    /// `MFA_ENCRYPTION_KEY`: seals TOTP secrets and keys recovery-code hashes; only the
    /// functions of the second factor ask for it ([`Config::mfa_key`]).
    pub mfa_key: Option<crate::mfa::MfaKey>,
    /// `WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`, `WEBAUTHN_RP_NAME`: only the passkey
    /// functions ask for them ([`Config::relying_party`]).
    pub relying_party: Option<crate::webauthn::RelyingParty>,
}

/// Accounts by email (API.md "Accounts and email").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailSettings {
    /// `APP_URL` without a trailing `/`: the only base of emailed links.
    pub app_url: Option<String>,
    /// `MAIL_FROM`: the sender, an SES identity.
    pub mail_from: Option<String>,
    /// `EMAIL_REQUIRED`: registration needs an address.
    pub email_required: bool,
    pub reset_token_ttl: Duration,
    pub verify_token_ttl: Duration,
    /// Links per source address per hour.
    pub mail_per_ip_per_hour: u32,
    /// At most one link of a purpose per address in this time (60 s; not configurable
    /// from the environment, tests shorten it).
    pub per_address_interval: Duration,
}

/// What a function that sends links needs, checked at start ([`MailSettings::links`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSettings<'a> {
    pub app_url: &'a str,
    pub mail_from: &'a str,
}

impl MailSettings {
    /// `APP_URL` and `MAIL_FROM`, or the reason to refuse to start.
    pub fn links(&self) -> Result<LinkSettings<'_>, ConfigError> {
        Ok(LinkSettings {
            app_url: self
                .app_url
                .as_deref()
                .ok_or(ConfigError::MissingMailSetting("APP_URL"))?,
            mail_from: self
                .mail_from
                .as_deref()
                .ok_or(ConfigError::MissingMailSetting("MAIL_FROM"))?,
        })
    }
}

/// `APP_URL`: an absolute http(s) URL without query or fragment; kept without its
/// trailing `/` so that `<APP_URL>/verify-email` has one slash.
fn parse_app_url(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('/');
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let ok = !host.is_empty()
        && !value.contains(['?', '#', ' ', '\\'])
        && !host.contains('@')
        && value.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| value.to_owned())
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_private_key", &"<redacted>")
            .field("jwt_public_keys", &self.jwt_public_keys)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_refresh_audience", &self.jwt_refresh_audience)
            .field("jwt_kid", &self.jwt_kid)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("tables", &self.tables)
            .field("cors_allow_origins", &self.cors_allow_origins)
            .field("throttle", &self.throttle)
            .field("token_location", &self.token_location)
            .field("mail", &self.mail)
            .field("mfa_key", &self.mfa_key.as_ref().map(|_| "<redacted>"))
            .field("relying_party", &self.relying_party)
            .field("cookies", &self.cookies)
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

        let jwt_algorithm = match get("JWT_ALGORITHM") {
            None => JwtAlgorithm::Hs256,
            Some(v) => JwtAlgorithm::parse(&v).ok_or(ConfigError::Invalid {
                name: "JWT_ALGORITHM",
                expected: "HS256, EdDSA or ES256",
                value: v,
            })?,
        };
        let jwt_secret = get("JWT_SECRET").map(String::into_bytes);
        if let Some(secret) = &jwt_secret {
            if jwt_algorithm == JwtAlgorithm::Hs256 && secret.len() < MIN_SECRET_BYTES {
                return Err(ConfigError::WeakSecret(secret.len()));
            }
        }
        let jwt_audience = text("JWT_AUDIENCE", "wristband-clients");

        let positive =
            |name: &'static str, default: u32| -> Result<u32, ConfigError> {
                match get(name) {
                    None => Ok(default),
                    Some(v) => v.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or(
                        ConfigError::Invalid {
                            name,
                            expected: "a positive whole number",
                            value: v,
                        },
                    ),
                }
            };
        let defaults = ThrottlePolicy::default();
        let free_failures = positive("LOGIN_THROTTLE_FREE_FAILURES", defaults.free_failures)?;
        let max_sessions_per_user =
            positive("MAX_SESSIONS_PER_USER", DEFAULT_MAX_SESSIONS_PER_USER)?;

        let jwt_refresh_audience =
            get("JWT_REFRESH_AUDIENCE").unwrap_or_else(|| format!("{jwt_audience}:refresh"));
        if jwt_refresh_audience == jwt_audience {
            return Err(ConfigError::Invalid {
                name: "JWT_REFRESH_AUDIENCE",
                expected: "different from JWT_AUDIENCE",
                value: jwt_refresh_audience,
            });
        }
        let token_location = match get("TOKEN_LOCATION") {
            None => TokenLocation::default(),
            Some(v) => TokenLocation::parse(&v).ok_or(ConfigError::Invalid {
                name: "TOKEN_LOCATION",
                expected: "headers, cookies or headers,cookies",
                value: v,
            })?,
        };
        let same_site = match get("COOKIE_SAMESITE") {
            None => SameSite::Lax,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "lax" => SameSite::Lax,
                "strict" => SameSite::Strict,
                "none" => SameSite::None,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "COOKIE_SAMESITE",
                        expected: "Lax, Strict or None",
                        value: v,
                    })
                }
            },
        };
        let secure = match get("COOKIE_SECURE") {
            None => true,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "COOKIE_SECURE",
                        expected: "true or false",
                        value: v,
                    })
                }
            },
        };
        if same_site == SameSite::None && !secure {
            // Browsers drop `SameSite=None` cookies that are not `Secure`.
            return Err(ConfigError::Invalid {
                name: "COOKIE_SECURE",
                expected: "true when COOKIE_SAMESITE is None",
                value: "false".to_owned(),
            });
        }

        let app_url = match get("APP_URL") {
            None => None,
            Some(v) => Some(parse_app_url(&v).ok_or(ConfigError::Invalid {
                name: "APP_URL",
                expected: "an http(s) URL without query or fragment",
                value: v,
            })?),
        };
        let email_required = match get("EMAIL_REQUIRED") {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "EMAIL_REQUIRED",
                        expected: "true or false",
                        value: v,
                    })
                }
            },
        };
        let mail = MailSettings {
            app_url,
            mail_from: get("MAIL_FROM").map(|v| v.trim().to_owned()),
            email_required,
            reset_token_ttl: seconds("RESET_TOKEN_TTL_SECONDS", 600)?,
            verify_token_ttl: seconds("VERIFY_TOKEN_TTL_SECONDS", 86400)?,
            mail_per_ip_per_hour: positive("MAIL_PER_IP_PER_HOUR", 100)?,
            per_address_interval: Duration::from_secs(60),
        };

        let mfa_key = match get("MFA_ENCRYPTION_KEY") {
            None => None,
            Some(v) => Some(crate::mfa::MfaKey::parse(&v).ok_or(ConfigError::Invalid {
                name: "MFA_ENCRYPTION_KEY",
                expected: "32 random bytes in base64 (openssl rand -base64 32)",
                // Never echo key material, not even a wrong one.
                value: format!("<{} characters>", v.len()),
            })?),
        };

        let relying_party = match (get("WEBAUTHN_RP_ID"), get("WEBAUTHN_ORIGINS")) {
            (Some(id), Some(origins)) => Some(parse_relying_party(
                &id,
                &origins,
                &text("WEBAUTHN_RP_NAME", "wristband"),
            )?),
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::MissingWebauthn),
            (None, Some(_)) => return Err(ConfigError::MissingWebauthn),
        };

        Ok(Self {
            mail,
            mfa_key,
            relying_party,
            jwt_algorithm,
            token_location,
            cookies: CookieSettings { same_site, secure },
            jwt_secret,
            jwt_private_key: get("JWT_PRIVATE_KEY"),
            jwt_public_keys: get("JWT_PUBLIC_KEYS"),
            jwt_issuer: text("JWT_ISSUER", "wristband-local"),
            jwt_audience,
            jwt_refresh_audience,
            jwt_kid: text("JWT_KID", "wristband-1"),
            access_ttl: seconds("ACCESS_TOKEN_TTL_SECONDS", 900)?,
            refresh_ttl: seconds("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?,
            refresh_reuse_grace: seconds("REFRESH_REUSE_GRACE_SECONDS", 10)?,
            tables: TableNames::from_lookup(&lookup),
            cors_allow_origins: cors_allow_origins_from_lookup(&lookup),
            max_sessions_per_user: max_sessions_per_user as usize,
            throttle: ThrottlePolicy {
                free_failures,
                first_wait: seconds(
                    "LOGIN_THROTTLE_FIRST_WAIT_SECONDS",
                    defaults.first_wait.as_secs(),
                )?,
                max_wait: seconds(
                    "LOGIN_THROTTLE_MAX_WAIT_SECONDS",
                    defaults.max_wait.as_secs(),
                )?,
                memory: seconds("LOGIN_THROTTLE_MEMORY_SECONDS", defaults.memory.as_secs())?,
            },
        })
    }
}

/// `WEBAUTHN_RP_ID` is a registrable domain (no scheme, port or path); every origin of
/// `WEBAUTHN_ORIGINS` (comma-separated) is `https://` on that domain or a subdomain of it,
/// or `http://localhost[:port]` for local runs (browsers allow WebAuthn there).
fn parse_relying_party(
    id: &str,
    origins: &str,
    name: &str,
) -> Result<crate::webauthn::RelyingParty, ConfigError> {
    let id = id.trim().to_ascii_lowercase();
    let id_ok = !id.is_empty()
        && id.len() <= 253
        && id
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !id_ok {
        return Err(ConfigError::Invalid {
            name: "WEBAUTHN_RP_ID",
            expected: "a domain name such as example.com (no scheme, port or path)",
            value: id,
        });
    }
    let mut list = Vec::new();
    for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://").filter(|_| id == "localhost"))
            .map(|rest| rest.split(':').next().unwrap_or(""));
        let ok = !origin.ends_with('/')
            && host.is_some_and(|h| h == id || h.ends_with(&format!(".{id}")));
        if !ok {
            return Err(ConfigError::Invalid {
                name: "WEBAUTHN_ORIGINS",
                expected: "comma-separated origins on WEBAUTHN_RP_ID's domain, such as \
                           https://app.example.com (http:// only for localhost), no trailing /",
                value: origin.to_owned(),
            });
        }
        list.push(origin.to_owned());
    }
    if list.is_empty() {
        return Err(ConfigError::MissingWebauthn);
    }
    Ok(crate::webauthn::RelyingParty {
        id,
        name: name.to_owned(),
        origins: list,
    })
}

impl Config {
    /// `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`, or the reason to refuse to start.
    pub fn relying_party(&self) -> Result<&crate::webauthn::RelyingParty, ConfigError> {
        self.relying_party
            .as_ref()
            .ok_or(ConfigError::MissingWebauthn)
    }

    /// `MFA_ENCRYPTION_KEY`, or the reason to refuse to start.
    pub fn mfa_key(&self) -> Result<&crate::mfa::MfaKey, ConfigError> {
        self.mfa_key.as_ref().ok_or(ConfigError::MissingMfaKey)
    }

    /// The key tokens are signed with: the HS256 secret, or the EdDSA/ES256 private key.
    /// Only the functions that issue tokens (login, refresh) call this, once: for EdDSA and
    /// ES256 it parses the PEM and derives the public key. A function that also verifies
    /// hands the parsed key to its verifier ([`crate::TokenVerifier::for_issuer`]).
    pub fn signing_key(&self) -> Result<SigningKey, ConfigError> {
        let alg = self.jwt_algorithm;
        if alg == JwtAlgorithm::Hs256 {
            let secret = self.jwt_secret.as_ref().ok_or(ConfigError::MissingSecret)?;
            return SigningKey::hmac(self.jwt_kid.clone(), secret).map_err(|source| {
                ConfigError::Key {
                    name: "JWT_SECRET",
                    source,
                }
            });
        }
        let pem = self
            .jwt_private_key
            .as_ref()
            .ok_or(ConfigError::MissingPrivateKey(alg.name()))?;
        #[cfg(test)]
        tests::PEM_PARSES.with(|n| n.set(n.get() + 1));
        let key = SigningKey::from_pkcs8_pem(self.jwt_kid.clone(), pem).map_err(|source| {
            ConfigError::Key {
                name: "JWT_PRIVATE_KEY",
                source,
            }
        })?;
        let found = wristband_keys::alg_name(key.algorithm());
        if found != alg.name() {
            return Err(ConfigError::KeyAlgorithm {
                found,
                configured: alg.name(),
            });
        }
        Ok(key)
    }

    /// The keys tokens are verified with, by kid: the HS256 secret; or for EdDSA/ES256 the
    /// public keys of `JWT_PUBLIC_KEYS` plus, where the function holds it, the current
    /// private key's public half. Under EdDSA/ES256 no HMAC key is ever accepted.
    pub fn verification_keys(&self) -> Result<VerificationKeys, ConfigError> {
        let current = match (self.jwt_algorithm, &self.jwt_private_key) {
            (JwtAlgorithm::Hs256, _) | (_, None) => None,
            (_, Some(_)) => Some(self.signing_key()?),
        };
        self.verification_keys_with(current.as_ref())
    }

    /// The public keys alone: `JWT_PUBLIC_KEYS` under EdDSA/ES256 (the secret under HS256),
    /// never `JWT_PRIVATE_KEY`; what a function that holds no private key verifies with.
    pub fn public_verification_keys(&self) -> Result<VerificationKeys, ConfigError> {
        self.verification_keys_with(None)
    }

    /// As [`Config::verification_keys`], with the current private key already parsed:
    /// `current` must be what [`Config::signing_key`] returned for this configuration
    /// (the issuer's key), or `None` where the function holds no private key. Unused
    /// under HS256, whose verification key is the secret itself.
    pub(crate) fn verification_keys_with(
        &self,
        current: Option<&SigningKey>,
    ) -> Result<VerificationKeys, ConfigError> {
        let alg = self.jwt_algorithm;
        let mut keys = VerificationKeys::new();
        if alg == JwtAlgorithm::Hs256 {
            let secret = self.jwt_secret.as_ref().ok_or(ConfigError::MissingSecret)?;
            keys.insert_hmac(&self.jwt_kid, secret)
                .map_err(|source| ConfigError::Key {
                    name: "JWT_SECRET",
                    source,
                })?;
            return Ok(keys);
        }
        if let Some(jwks) = &self.jwt_public_keys {
            keys = VerificationKeys::from_jwks(jwks).map_err(|source| ConfigError::Key {
                name: "JWT_PUBLIC_KEYS",
                source,
            })?;
        }
        if let Some(current) = current {
            let jwk = current.public_jwk();
            match keys
                .public_jwks()
                .into_iter()
                .find(|k| k.kid == current.kid())
            {
                Some(listed) if Some(&listed) == jwk.as_ref() => {}
                Some(_) => return Err(ConfigError::ConflictingKid(current.kid().to_owned())),
                None => keys
                    .insert_signing_key(current)
                    .map_err(|source| ConfigError::Key {
                        name: "JWT_PRIVATE_KEY",
                        source,
                    })?,
            }
        }
        if keys.is_empty() {
            return Err(ConfigError::MissingPublicKeys(alg.name()));
        }
        Ok(keys)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    thread_local! {
        /// How many times [`Config::signing_key`] parsed a PEM on this thread (each test
        /// runs on its own thread).
        pub(crate) static PEM_PARSES: Cell<usize> = const { Cell::new(0) };
    }

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
        let err = config(&[]).unwrap().verification_keys().unwrap_err();
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
        assert_eq!(c.throttle, ThrottlePolicy::default());
        assert_eq!(c.throttle.free_failures, 5);
        assert_eq!(c.throttle.max_wait, Duration::from_secs(900));
        assert_eq!(c.max_sessions_per_user, 100);
        assert_eq!(c.mail.reset_token_ttl, Duration::from_secs(600));
        assert_eq!(c.mail.verify_token_ttl, Duration::from_secs(86400));
        assert_eq!(c.mail.mail_per_ip_per_hour, 100);
        assert!(!c.mail.email_required);
        assert!(matches!(
            c.mail.links(),
            Err(ConfigError::MissingMailSetting("APP_URL"))
        ));
    }

    #[test]
    fn the_relying_party_is_a_domain_and_its_origins() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert!(matches!(
            c.relying_party(),
            Err(ConfigError::MissingWebauthn)
        ));
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("WEBAUTHN_RP_ID", "Example.com"),
            (
                "WEBAUTHN_ORIGINS",
                "https://example.com, https://app.example.com:8443",
            ),
        ])
        .unwrap();
        let rp = c.relying_party().unwrap();
        assert_eq!(rp.id, "example.com");
        assert_eq!(rp.name, "wristband");
        assert_eq!(rp.origins.len(), 2);
        let local = config(&[
            ("JWT_SECRET", SECRET),
            ("WEBAUTHN_RP_ID", "localhost"),
            ("WEBAUTHN_ORIGINS", "http://localhost:9000"),
        ])
        .unwrap();
        assert_eq!(
            local.relying_party().unwrap().origins,
            ["http://localhost:9000"]
        );
        for (id, origins) in [
            ("https://example.com", "https://example.com"),
            ("example.com", "http://example.com"),
            ("example.com", "https://evil.com"),
            ("example.com", "https://notexample.com"),
            ("example.com", "https://example.com/"),
        ] {
            let err = config(&[
                ("JWT_SECRET", SECRET),
                ("WEBAUTHN_RP_ID", id),
                ("WEBAUTHN_ORIGINS", origins),
            ])
            .err();
            assert!(
                matches!(err, Some(ConfigError::Invalid { .. })),
                "{id} {origins}"
            );
        }
        assert!(matches!(
            config(&[("JWT_SECRET", SECRET), ("WEBAUTHN_RP_ID", "example.com")]),
            Err(ConfigError::MissingWebauthn)
        ));
    }

    #[test]
    fn the_mfa_key_is_32_bytes_of_base64_and_never_echoed() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert!(matches!(c.mfa_key(), Err(ConfigError::MissingMfaKey)));
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let c = config(&[("JWT_SECRET", SECRET), ("MFA_ENCRYPTION_KEY", key)]).unwrap();
        assert!(c.mfa_key().is_ok());
        assert!(!format!("{c:?}").contains(key));
        let err =
            config(&[("JWT_SECRET", SECRET), ("MFA_ENCRYPTION_KEY", "c2hvcnQ=")]).unwrap_err();
        assert!(!err.to_string().contains("c2hvcnQ"), "{err}");
    }

    #[test]
    fn links_come_from_app_url_alone() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("APP_URL", "https://app.example.com/"),
            ("MAIL_FROM", "no-reply@example.com"),
            ("EMAIL_REQUIRED", "true"),
        ])
        .unwrap();
        let links = c.mail.links().unwrap();
        assert_eq!(links.app_url, "https://app.example.com");
        assert_eq!(links.mail_from, "no-reply@example.com");
        assert!(c.mail.email_required);
        for bad in [
            "app.example.com",
            "ftp://x",
            "https://",
            "https://x/?a=1",
            "https://x/#t",
            "https://user@x",
        ] {
            let err = config(&[("JWT_SECRET", SECRET), ("APP_URL", bad)]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "APP_URL",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn throttle_wait_doubles_from_one_second_to_fifteen_minutes() {
        let policy = ThrottlePolicy::default();
        let waits: Vec<u64> = (0..=17).map(|n| policy.wait_after(n).as_secs()).collect();
        assert_eq!(
            waits,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
        );
        // No overflow however many failures pile up.
        assert_eq!(policy.wait_after(u32::MAX), Duration::from_secs(900));
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
    fn token_location_and_cookie_settings() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.token_location, TokenLocation::HEADERS);
        assert_eq!(c.cookies, CookieSettings::default());
        assert_eq!(c.cookies.same_site, SameSite::Lax);
        assert!(c.cookies.secure);
        for (value, expected) in [
            ("headers", TokenLocation::HEADERS),
            ("cookies", TokenLocation::COOKIES),
            ("headers,cookies", TokenLocation::BOTH),
            (" Cookies , headers ", TokenLocation::BOTH),
        ] {
            let c = config(&[("JWT_SECRET", SECRET), ("TOKEN_LOCATION", value)]).unwrap();
            assert_eq!(c.token_location, expected, "{value}");
        }
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("COOKIE_SAMESITE", "strict"),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert_eq!(c.cookies.same_site, SameSite::Strict);
        assert!(!c.cookies.secure);
        for (name, value) in [
            ("TOKEN_LOCATION", "query_string"),
            ("TOKEN_LOCATION", "headers,"),
            ("COOKIE_SAMESITE", "sometimes"),
            ("COOKIE_SECURE", "maybe"),
        ] {
            let err = config(&[("JWT_SECRET", SECRET), (name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let err = config(&[
            ("JWT_SECRET", SECRET),
            ("COOKIE_SAMESITE", "None"),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SECURE"), "{err}");
    }

    #[test]
    fn bad_numbers_are_named() {
        let err =
            config(&[("JWT_SECRET", SECRET), ("ACCESS_TOKEN_TTL_SECONDS", "ten")]).unwrap_err();
        assert!(err.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"));
    }

    #[test]
    fn session_cap_is_a_positive_number() {
        let c = config(&[("JWT_SECRET", SECRET), ("MAX_SESSIONS_PER_USER", "1")]).unwrap();
        assert_eq!(c.max_sessions_per_user, 1);
        for bad in ["0", "-3", "many", "1.5", "99999999999"] {
            let err =
                config(&[("JWT_SECRET", SECRET), ("MAX_SESSIONS_PER_USER", bad)]).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("MAX_SESSIONS_PER_USER"), "{bad}: {text}");
            assert!(text.contains("positive whole number"), "{bad}: {text}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PRIVATE_KEY", "-----BEGIN PRIVATE"),
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains(SECRET));
        assert!(!format!("{c:?}").contains("BEGIN"));
    }
}

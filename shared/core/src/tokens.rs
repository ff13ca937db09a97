//! Issuing and verifying wristbands (JWTs).
//!
//! Keys, header and validation rules are built once per process; issuing and verifying
//! are then pure CPU work. Issuing ([`TokenIssuer`]) and verifying ([`TokenVerifier`]) are
//! separate types so that a function that only verifies never holds a signing key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use wristband_keys::{SigningKey, VerificationKeys, VerifyError};

use crate::config::{Config, ConfigError, TokenLocation};
use crate::error::{AuthError, BoxError};
use crate::ids::random_id;

/// Whether a token opens doors (`access`) or buys new wristbands (`refresh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of every wristband token (API.md, "Tokens").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub jti: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Present on access tokens only: `true` when issued by `/login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh: Option<bool>,
    pub sid: String,
    /// Extra claims from the user record.
    #[serde(default)]
    pub roles: Vec<String>,
    /// How the login was made (RFC 8176): `["pwd"]`, `["pwd", "otp", "mfa"]`, ...; kept by
    /// `/refresh`. Empty on tokens issued before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Cookie mode only: the double-submit CSRF value bound to this token. A
    /// cookie-authenticated state-changing request must echo it in `X-CSRF-TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
}

impl Claims {
    pub fn is_fresh(&self) -> bool {
        self.fresh == Some(true)
    }

    /// Whether the login used a second factor (`mfa` in `amr`).
    pub fn has_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
}

/// What `/login` and `/refresh` answer, with the claims kept for the session record.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub access: Claims,
    pub refresh: Claims,
}

/// Who a new pair of tokens is for.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub username: &'a str,
    pub roles: &'a [String],
    pub sid: &'a str,
    /// How the session's login was made (RFC 8176).
    pub amr: &'a [String],
}

/// Mints tokens with the configured signing key (its `kid` and algorithm in the header).
/// Only the functions that issue tokens (login, refresh) build one.
pub struct TokenIssuer {
    key: SigningKey,
    issuer: String,
    audience: String,
    refresh_audience: String,
    access_ttl: u64,
    refresh_ttl: u64,
    /// Cookie mode: every token carries a `csrf` claim.
    csrf: bool,
}

impl TokenIssuer {
    /// Refuses to build without a usable signing key (see [`Config::signing_key`]).
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        // EdDSA/ES256 sign through the key's own prepared signer, HS256 through the process
        // provider's HMAC: the verify-only provider serves both, and keeps the asymmetric
        // signing code out of every function that does not build an issuer.
        wristband_keys::install_verify_only();
        Ok(Self {
            key: config.signing_key()?,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            refresh_audience: config.jwt_refresh_audience.clone(),
            access_ttl: config.access_ttl.as_secs(),
            refresh_ttl: config.refresh_ttl.as_secs(),
            csrf: config.token_location.cookies,
        })
    }

    /// Access lifetime in seconds, the `expires_in` of a login answer.
    pub fn access_ttl(&self) -> u64 {
        self.access_ttl
    }

    /// Refresh lifetime in seconds: how long a session lives without a refresh.
    pub fn refresh_ttl(&self) -> u64 {
        self.refresh_ttl
    }

    /// Mints an access token and a refresh token of one session (`sid`).
    pub fn issue_token_pair(
        &self,
        subject: Subject<'_>,
        fresh: bool,
        now: u64,
    ) -> Result<TokenPair, BoxError> {
        let access = self.claims(
            subject,
            TokenType::Access,
            Some(fresh),
            now,
            self.access_ttl,
        )?;
        let refresh = self.claims(subject, TokenType::Refresh, None, now, self.refresh_ttl)?;
        Ok(TokenPair {
            access_token: self.key.sign(&access)?,
            refresh_token: self.key.sign(&refresh)?,
            access,
            refresh,
        })
    }

    fn claims(
        &self,
        subject: Subject<'_>,
        token_type: TokenType,
        fresh: Option<bool>,
        now: u64,
        ttl: u64,
    ) -> Result<Claims, BoxError> {
        let aud = match token_type {
            TokenType::Access => &self.audience,
            TokenType::Refresh => &self.refresh_audience,
        };
        Ok(Claims {
            iss: self.issuer.clone(),
            aud: aud.clone(),
            sub: subject.username.to_owned(),
            jti: random_id()?,
            iat: now,
            nbf: now,
            exp: now + ttl,
            token_type,
            fresh,
            sid: subject.sid.to_owned(),
            roles: subject.roles.to_vec(),
            amr: subject.amr.to_vec(),
            csrf: if self.csrf { Some(random_id()?) } else { None },
        })
    }
}

/// Checks tokens against the configured keys, by `kid`, each key with its own algorithm.
/// Verifier functions (protected, me, the authorizer) build only this: public keys only.
pub struct TokenVerifier {
    keys: VerificationKeys,
    validation: Validation,
    audience: String,
    refresh_audience: String,
    location: TokenLocation,
}

impl TokenVerifier {
    /// Refuses to build without verification keys (see [`Config::verification_keys`]).
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self::with_keys(config, config.verification_keys()?))
    }

    /// The verifier of a function that holds no private key (every verifier): the keys
    /// of `JWT_PUBLIC_KEYS` (HS256: the secret) only. A `JWT_PRIVATE_KEY` in its
    /// environment is never read, so the private-key parser and the signing code are not
    /// even linked into these functions.
    pub fn public_only(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self::with_keys(config, config.public_verification_keys()?))
    }

    /// The verifier of a function that also issues (refresh): the same key ring as
    /// [`TokenVerifier::new`], with the current key taken from `issuer` (built from the
    /// same `config`) instead of parsing `JWT_PRIVATE_KEY` a second time. A kid of
    /// `JWT_PUBLIC_KEYS` naming another key still refuses to start.
    pub fn for_issuer(config: &Config, issuer: &TokenIssuer) -> Result<Self, ConfigError> {
        Ok(Self::with_keys(
            config,
            config.verification_keys_with(Some(&issuer.key))?,
        ))
    }

    fn with_keys(config: &Config, keys: VerificationKeys) -> Self {
        // Either of wristband's providers verifies every algorithm; whichever came first
        // stays (tests may install the full one).
        wristband_keys::install_verify_only();
        // The key picks the algorithm (the header's `alg` must agree, it never chooses:
        // RFC 8725 §3.1); `validation.algorithms` is set per key by the key ring.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.jwt_issuer]);
        // Both audiences decode; the type then decides which one the token must carry.
        validation.set_audience(&[&config.jwt_audience, &config.jwt_refresh_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Self {
            keys,
            validation,
            audience: config.jwt_audience.clone(),
            refresh_audience: config.jwt_refresh_audience.clone(),
            location: config.token_location,
        }
    }

    /// Where requests may carry tokens (`TOKEN_LOCATION`): the HTTP layer reads it.
    pub fn token_location(&self) -> TokenLocation {
        self.location
    }

    /// Checks size, header (`kid` known, `alg` the key's own, no `jwk`/`jku`/`x5u`/`x5c`),
    /// signature, `iss`, `aud`, `exp`, `nbf` (zero leeway) and `type`. Revocation is the
    /// [`crate::Authenticator`]'s next step (it needs the store).
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, AuthError> {
        let claims = self
            .keys
            .decode::<Claims>(token, &self.validation)
            .map_err(|err| self.explain(token, err))?
            .claims;
        // Only tokens signed with one of our keys get here, so only they pay this check.
        Self::check_text(token)?;
        if claims.token_type != expected {
            return Err(AuthError::Invalid(match expected {
                TokenType::Access => "Only access tokens are accepted here",
                TokenType::Refresh => "Only refresh tokens are accepted here",
            }));
        }
        let audience = match claims.token_type {
            TokenType::Access => &self.audience,
            TokenType::Refresh => &self.refresh_audience,
        };
        if claims.aud != *audience {
            return Err(AuthError::Invalid("Token audience is not accepted"));
        }
        Ok(claims)
    }

    /// RFC 7519 §7.2: header and claims are UTF-8 JSON. serde_json skips the strings of
    /// claims we do not read without checking them, so a signed token with invalid UTF-8
    /// (or an escaped lone surrogate) in an unknown claim would pass; refuse it here.
    /// Segments that are not base64url are left to jsonwebtoken, which refuses them.
    fn check_text(token: &str) -> Result<(), AuthError> {
        const NOT_TEXT: AuthError = AuthError::Invalid("Token header or claims are not UTF-8 JSON");
        for segment in token.split('.').take(2) {
            let Ok(bytes) = URL_SAFE_NO_PAD.decode(segment) else {
                continue;
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| NOT_TEXT)?;
            // Escapes are the only way to spell a surrogate in valid UTF-8; our own tokens
            // have none, so the full parse runs only for hand-made ones.
            if text.contains("\\u") && serde_json::from_str::<serde_json::Value>(text).is_err() {
                return Err(NOT_TEXT);
            }
        }
        Ok(())
    }

    fn explain(&self, token: &str, err: VerifyError) -> AuthError {
        let foreign_alg = || self.header_alg_is_foreign(token);
        AuthError::Invalid(match err {
            VerifyError::TooLong => "Token is too long",
            VerifyError::ForbiddenHeader(_) => {
                "Token header carries a key or key URL; none is ever used"
            }
            VerifyError::AlgorithmMismatch { .. } => "Token algorithm is not allowed",
            _ if foreign_alg() => "Token algorithm is not allowed",
            VerifyError::MalformedHeader(_) => "Token is malformed",
            VerifyError::MissingKid => "Token header has no kid",
            VerifyError::UnknownKid(_) => "Token key (kid) is not known",
            VerifyError::Jwt(err) => match err.kind() {
                ErrorKind::ExpiredSignature => return AuthError::Expired,
                ErrorKind::InvalidSignature => "Signature verification failed",
                ErrorKind::ImmatureSignature => "Token is not valid yet (nbf is in the future)",
                ErrorKind::InvalidIssuer => "Token issuer is not accepted",
                ErrorKind::InvalidAudience => "Token audience is not accepted",
                ErrorKind::InvalidAlgorithm => "Token algorithm is not allowed",
                ErrorKind::MissingRequiredClaim(_) => "Token is missing a required claim",
                ErrorKind::Json(_) => "Token claims are malformed",
                _ => "Token is malformed",
            },
        })
    }

    /// On a failure: does the header name an `alg` none of our keys uses (e.g. `none`,
    /// which jsonwebtoken cannot even parse)? Only used to word the error.
    fn header_alg_is_foreign(&self, token: &str) -> bool {
        let Some(header) = token.split('.').next() else {
            return false;
        };
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(header) else {
            return false;
        };
        #[derive(Deserialize)]
        struct AlgOnly {
            alg: Option<serde_json::Value>,
        }
        match serde_json::from_slice::<AlgOnly>(&bytes) {
            Ok(AlgOnly { alg: Some(alg) }) => !self
                .keys
                .algorithms()
                .into_iter()
                .any(|ours| Some(wristband_keys::alg_name(ours)) == alg.as_str()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::now_secs;

    fn test_config() -> Config {
        Config::from_lookup(|name| match name {
            "JWT_SECRET" => Some("test-secret-test-secret-test-secret-0123".to_owned()),
            "JWT_KID" => Some("test-kid".to_owned()),
            _ => None,
        })
        .unwrap()
    }

    /// Both halves, and a way to sign arbitrary claims with the real key (tests only).
    struct Svc {
        issuer: TokenIssuer,
        verifier: TokenVerifier,
    }

    impl Svc {
        fn issue_token_pair(
            &self,
            subject: Subject<'_>,
            fresh: bool,
            now: u64,
        ) -> Result<TokenPair, BoxError> {
            self.issuer.issue_token_pair(subject, fresh, now)
        }
        fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, AuthError> {
            self.verifier.verify(token, expected)
        }
        fn sign<T: Serialize>(&self, claims: &T) -> Result<String, BoxError> {
            Ok(self.issuer.key.sign(claims)?)
        }
    }

    fn service_with(config: &Config) -> Svc {
        Svc {
            issuer: TokenIssuer::new(config).unwrap(),
            verifier: TokenVerifier::new(config).unwrap(),
        }
    }

    fn service() -> Svc {
        service_with(&test_config())
    }

    fn code(err: &AuthError) -> &'static str {
        match err {
            AuthError::Expired => "token_expired",
            AuthError::Invalid(_) => "invalid_token",
            _ => "other",
        }
    }

    fn subject() -> (String, Vec<String>, String) {
        ("alice".into(), vec!["user".into()], "sid-1".into())
    }

    fn pair(svc: &Svc, now: u64) -> TokenPair {
        let (u, r, s) = subject();
        svc.issue_token_pair(
            Subject {
                username: &u,
                roles: &r,
                sid: &s,
                amr: &[],
            },
            true,
            now,
        )
        .unwrap()
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_contract_claims() {
        let svc = service();
        let p = pair(&svc, now_secs());
        let access = svc.verify(&p.access_token, TokenType::Access).unwrap();
        assert_eq!(access.sub, "alice");
        assert_eq!(access.fresh, Some(true));
        assert_eq!(access.exp - access.iat, 900);
        assert_eq!(access.jti.len(), 22); // 16 bytes base64url
        assert_ne!(access.jti, p.refresh.jti);
        let refresh = svc.verify(&p.refresh_token, TokenType::Refresh).unwrap();
        assert_eq!(refresh.sid, access.sid);
        assert_eq!(refresh.fresh, None);
        let header = jsonwebtoken::decode_header(&p.access_token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("test-kid"));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
    }

    #[test]
    fn cookie_mode_binds_a_csrf_value_to_each_token() {
        let svc = service();
        let p = pair(&svc, now_secs());
        assert_eq!(p.access.csrf, None, "headers mode: no csrf claim");
        let mut config = test_config();
        config.token_location = TokenLocation::BOTH;
        let svc = service_with(&config);
        let p = pair(&svc, now_secs());
        let access = svc.verify(&p.access_token, TokenType::Access).unwrap();
        let refresh = svc.verify(&p.refresh_token, TokenType::Refresh).unwrap();
        let (a, r) = (access.csrf.unwrap(), refresh.csrf.unwrap());
        assert_eq!(a.len(), 22);
        assert_ne!(a, r, "each token has its own CSRF value");
        assert_eq!(Some(a), p.access.csrf);
        assert_eq!(svc.verifier.token_location(), TokenLocation::BOTH);
    }

    #[test]
    fn wrong_type_is_refused() {
        let svc = service();
        let p = pair(&svc, now_secs());
        let err = svc.verify(&p.refresh_token, TokenType::Access).unwrap_err();
        assert_eq!(code(&err), "invalid_token");
        let err = svc.verify(&p.access_token, TokenType::Refresh).unwrap_err();
        assert_eq!(code(&err), "invalid_token");
    }

    #[test]
    fn expired_is_token_expired() {
        let svc = service();
        let p = pair(&svc, now_secs() - 901);
        let err = svc.verify(&p.access_token, TokenType::Access).unwrap_err();
        assert_eq!(code(&err), "token_expired");
    }

    #[test]
    fn future_nbf_is_refused_without_leeway() {
        let svc = service();
        let mut claims = pair(&svc, now_secs()).access;
        claims.nbf = now_secs() + 5;
        let token = svc.sign(&claims).unwrap();
        let err = svc.verify(&token, TokenType::Access).unwrap_err();
        assert_eq!(code(&err), "invalid_token");
        assert!(err.to_string().contains("nbf"));
    }

    #[test]
    fn wrong_issuer_and_audience_are_refused() {
        let svc = service();
        let base = pair(&svc, now_secs()).access;
        let mut c = base.clone();
        c.iss = "someone-else".into();
        let err = svc
            .verify(&svc.sign(&c).unwrap(), TokenType::Access)
            .unwrap_err();
        assert_eq!(err.to_string(), "Token issuer is not accepted");
        let mut c = base;
        c.aud = "other-clients".into();
        let err = svc
            .verify(&svc.sign(&c).unwrap(), TokenType::Access)
            .unwrap_err();
        assert_eq!(err.to_string(), "Token audience is not accepted");
    }

    #[test]
    fn tampered_payload_fails_the_signature() {
        let svc = service();
        let p = pair(&svc, now_secs());
        let parts: Vec<&str> = p.access_token.split('.').collect();
        let mut claims = serde_json::to_value(&p.access).unwrap();
        claims["sub"] = "admin".into();
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        let err = svc.verify(&forged, TokenType::Access).unwrap_err();
        assert_eq!(err.to_string(), "Signature verification failed");
    }

    #[test]
    fn another_key_is_refused() {
        let svc = service();
        let mut other_cfg = test_config();
        other_cfg.jwt_secret = Some(b"another-secret-another-secret-another".to_vec());
        let other = service_with(&other_cfg);
        let p = pair(&other, now_secs());
        let err = svc.verify(&p.access_token, TokenType::Access).unwrap_err();
        assert_eq!(err.to_string(), "Signature verification failed");
    }

    #[test]
    fn alg_none_is_refused() {
        let svc = service();
        let claims = serde_json::to_value(pair(&svc, now_secs()).access).unwrap();
        let header = serde_json::json!({"alg": "none", "typ": "JWT"});
        for token in [
            format!("{}.{}.", b64(&header), b64(&claims)),
            format!("{}.{}", b64(&header), b64(&claims)),
        ] {
            let err = svc.verify(&token, TokenType::Access).unwrap_err();
            assert_eq!(code(&err), "invalid_token", "{token}");
        }
        let token = format!("{}.{}.", b64(&header), b64(&claims));
        let err = svc.verify(&token, TokenType::Access).unwrap_err();
        assert_eq!(err.to_string(), "Token algorithm is not allowed");
    }

    #[test]
    fn other_algorithms_are_refused_even_with_the_right_secret() {
        let svc = service();
        let claims = pair(&svc, now_secs()).access;
        let cfg = test_config();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS512);
        header.kid = Some(cfg.jwt_kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(cfg.jwt_secret.as_deref().unwrap()),
        )
        .unwrap();
        let err = svc.verify(&token, TokenType::Access).unwrap_err();
        assert_eq!(err.to_string(), "Token algorithm is not allowed");
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let svc = service();
        for token in [
            "",
            ".",
            "..",
            "a.b.c",
            "x",
            "eyJhbGciOiJIUzI1NiJ9..",
            "😀.😀.😀",
        ] {
            let err = svc.verify(token, TokenType::Access).unwrap_err();
            assert_eq!(code(&err), "invalid_token", "{token:?}");
        }
    }

    /// Signs `header.payload` as given, bytes and all (HS256 with the test key).
    fn sign_raw(header: &[u8], payload: &[u8]) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key =
            jsonwebtoken::EncodingKey::from_secret(test_config().jwt_secret.as_deref().unwrap());
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256).unwrap();
        format!("{signing_input}.{signature}")
    }

    #[test]
    fn claims_that_are_not_utf8_are_refused_even_when_signed() {
        let svc = service();
        let claims = serde_json::to_string(&pair(&svc, now_secs()).access).unwrap();
        let header = br#"{"alg":"HS256","typ":"JWT","kid":"test-kid"}"#;
        // The control: the same bytes, valid, pass.
        let valid = sign_raw(header, claims.as_bytes());
        svc.verify(&valid, TokenType::Access).unwrap();
        // An extra claim (one we never read) with invalid UTF-8 bytes, or a lone surrogate.
        let mut bad_bytes = claims.trim_end_matches('}').as_bytes().to_vec();
        bad_bytes.extend_from_slice(b",\"note\":\"\xff\xfe\"}");
        let lone_surrogate = format!(r#"{},"note":"\ud800"}}"#, claims.trim_end_matches('}'));
        // And invalid UTF-8 in the header.
        let bad_header = b"{\"alg\":\"HS256\",\"typ\":\"JWT\xff\"}";
        for token in [
            sign_raw(header, &bad_bytes),
            sign_raw(header, lone_surrogate.as_bytes()),
            sign_raw(bad_header, claims.as_bytes()),
        ] {
            let err = svc.verify(&token, TokenType::Access).unwrap_err();
            assert_eq!(code(&err), "invalid_token", "{token}");
        }
    }

    const ED: &str = include_str!("../../keys/fixtures/ed25519.pem");
    const ED_OTHER: &str = include_str!("../../keys/fixtures/ed25519_other.pem");

    fn eddsa_config(public_keys: Option<String>) -> Config {
        Config::from_lookup(|name| match name {
            "JWT_ALGORITHM" => Some("EdDSA".to_owned()),
            "JWT_KID" => Some("ed-1".to_owned()),
            "JWT_PRIVATE_KEY" => Some(ED.to_owned()),
            "JWT_PUBLIC_KEYS" => public_keys.clone(),
            _ => None,
        })
        .unwrap()
    }

    /// A JWKS with `pem`'s public key under `kid`.
    fn jwks(kid: &str, pem: &str) -> String {
        let key = wristband_keys::SigningKey::from_pkcs8_pem(kid, pem).unwrap();
        serde_json::json!({ "keys": [key.public_jwk().unwrap()] }).to_string()
    }

    #[test]
    fn an_issuing_verifier_takes_the_issuers_key_without_parsing_it_again() {
        let parses = || crate::config::tests::PEM_PARSES.with(std::cell::Cell::get);
        let config = eddsa_config(None);
        let issuer = TokenIssuer::new(&config).unwrap();
        assert_eq!(parses(), 1);
        let verifier = TokenVerifier::for_issuer(&config, &issuer).unwrap();
        assert_eq!(parses(), 1, "JWT_PRIVATE_KEY is parsed once per process");
        // The ring's key for JWT_KID is the issuer's public key, and nothing else.
        assert_eq!(
            verifier.keys.public_jwks(),
            vec![issuer.key.public_jwk().unwrap()]
        );
        assert_eq!(verifier.keys.public_jwks()[0].kid, "ed-1");
        let svc = Svc { issuer, verifier };
        let p = pair(&svc, now_secs());
        svc.verify(&p.access_token, TokenType::Access).unwrap();
        svc.verify(&p.refresh_token, TokenType::Refresh).unwrap();
        // A function that only verifies (or the jwks function) parses it on its own.
        TokenVerifier::new(&config).unwrap();
        assert_eq!(parses(), 2);
    }

    #[test]
    fn an_issuing_verifier_keeps_the_key_ring_rules() {
        // Earlier keys of a rotation stay accepted beside the issuer's.
        let config = eddsa_config(Some(jwks("ed-0", ED_OTHER)));
        let issuer = TokenIssuer::new(&config).unwrap();
        let verifier = TokenVerifier::for_issuer(&config, &issuer).unwrap();
        let kids: Vec<String> = verifier
            .keys
            .public_jwks()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["ed-0", "ed-1"]);
        // The current key listed under its own kid is fine; under another key it is not.
        let config = eddsa_config(Some(jwks("ed-1", ED)));
        let issuer = TokenIssuer::new(&config).unwrap();
        assert_eq!(
            TokenVerifier::for_issuer(&config, &issuer)
                .unwrap()
                .keys
                .len(),
            1
        );
        let config = eddsa_config(Some(jwks("ed-1", ED_OTHER)));
        let issuer = TokenIssuer::new(&config).unwrap();
        assert!(matches!(
            TokenVerifier::for_issuer(&config, &issuer),
            Err(ConfigError::ConflictingKid(kid)) if kid == "ed-1"
        ));
        // HS256: the secret, as before.
        let config = test_config();
        let issuer = TokenIssuer::new(&config).unwrap();
        let verifier = TokenVerifier::for_issuer(&config, &issuer).unwrap();
        assert_eq!(verifier.keys.algorithms(), [Algorithm::HS256]);
        assert!(format!("{:?}", verifier.keys).contains("test-kid"));
        assert!(!format!("{:?}", issuer.key).contains("test-secret"));
    }

    #[test]
    fn missing_claims_are_refused() {
        let svc = service();
        let token = svc
            .sign(&serde_json::json!({"sub": "alice", "exp": now_secs() + 60}))
            .unwrap();
        let err = svc.verify(&token, TokenType::Access).unwrap_err();
        assert_eq!(code(&err), "invalid_token");
    }
}

//! What a service needs, built once per process in the function's `main`: the
//! configuration, the keys it holds and the stores it uses, nothing more. A service that
//! reaches for something its function did not build gets an internal error (a wiring
//! bug, caught by the end-to-end tests of that function), never a default.

use std::sync::Arc;

use wristband_core::mail::Mailer;
use wristband_core::store::{
    AccountStore, LoginThrottleStore, MfaChallengeStore, MfaStore, OneTimeTokenStore, PasskeyStore,
    RateLimitStore, RevocationCheck, RevocationStore, SessionEnder, SessionStore, UserRegistry,
    UserStore, WebauthnChallengeStore,
};
use wristband_core::{ApiError, Authenticator, Config, ConfigError, TokenIssuer, TokenVerifier};

use crate::password::PasswordHasher;

/// Configuration, keys, the password hasher and the stores of one function.
///
/// ```ignore
/// let app = App::new(config)
///     .issuing()?                      // the signing key (login, refresh)
///     .verifying(revocation_check)?    // verification keys + the revocation check
///     .with_revocations(revoked_tokens)
///     .with_users(users)
///     .with_sessions(sessions);
/// ```
pub struct App {
    pub config: Config,
    issuer: Option<TokenIssuer>,
    authenticator: Option<Arc<Authenticator>>,
    passwords: Option<PasswordHasher>,
    users: Option<Arc<dyn UserStore>>,
    registry: Option<Arc<dyn UserRegistry>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    sessions: Option<Arc<dyn SessionStore>>,
    ender: Option<Arc<dyn SessionEnder>>,
    throttle: Option<Arc<dyn LoginThrottleStore>>,
    accounts: Option<Arc<dyn AccountStore>>,
    one_time_tokens: Option<Arc<dyn OneTimeTokenStore>>,
    rate_limits: Option<Arc<dyn RateLimitStore>>,
    mailer: Option<Arc<dyn Mailer>>,
    mfa: Option<Arc<dyn MfaStore>>,
    mfa_challenges: Option<Arc<dyn MfaChallengeStore>>,
    passkeys: Option<Arc<dyn PasskeyStore>>,
    webauthn_challenges: Option<Arc<dyn WebauthnChallengeStore>>,
}

fn missing(what: &'static str) -> ApiError {
    ApiError::internal(format!("this function was not built with {what}"))
}

impl App {
    /// Configuration only: no key, no store.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            issuer: None,
            authenticator: None,
            passwords: None,
            users: None,
            registry: None,
            revocations: None,
            sessions: None,
            ender: None,
            throttle: None,
            accounts: None,
            one_time_tokens: None,
            rate_limits: None,
            mailer: None,
            mfa: None,
            mfa_challenges: None,
            passkeys: None,
            webauthn_challenges: None,
        }
    }

    /// The signing key (`JWT_SECRET`, or `JWT_PRIVATE_KEY` under EdDSA/ES256): login and
    /// refresh. Call it before [`App::verifying`]: the issuer installs the signing
    /// provider before anything verifies, and a function that does both parses its
    /// private key once.
    pub fn issuing(mut self) -> Result<Self, ConfigError> {
        self.issuer = Some(TokenIssuer::new(&self.config)?);
        Ok(self)
    }

    /// The verification keys and the revocation check the one [`Authenticator`] reads
    /// (in production wristband-dynamodb-lite's, the same as the verifier functions').
    pub fn verifying(mut self, revocations: Arc<dyn RevocationCheck>) -> Result<Self, ConfigError> {
        let verifier = match &self.issuer {
            Some(issuer) => TokenVerifier::for_issuer(&self.config, issuer)?,
            None => TokenVerifier::public_only(&self.config)?,
        };
        self.authenticator = Some(Arc::new(Authenticator::new(verifier, revocations)));
        Ok(self)
    }

    /// argon2id: register, login, password change.
    pub fn with_password_hasher(mut self) -> Self {
        self.passwords = Some(PasswordHasher::new());
        self
    }

    pub fn with_users(mut self, users: Arc<dyn UserStore>) -> Self {
        self.users = Some(users);
        self
    }

    /// Creates users (`/register`).
    pub fn with_registry(mut self, registry: Arc<dyn UserRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Where revocations are written (logout, refresh reuse, logout everywhere).
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// Ends sessions in both tables at once (logout everywhere, password change,
    /// `DELETE /sessions/{sid}`).
    pub fn with_session_ender(mut self, ender: Arc<dyn SessionEnder>) -> Self {
        self.ender = Some(ender);
        self
    }

    /// Failed-login counts (login throttling).
    pub fn with_login_throttle(mut self, throttle: Arc<dyn LoginThrottleStore>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Addresses, deletion and administration (the users table's account side).
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountStore>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Emailed links' tokens.
    pub fn with_one_time_tokens(mut self, tokens: Arc<dyn OneTimeTokenStore>) -> Self {
        self.one_time_tokens = Some(tokens);
        self
    }

    /// Mail limits per address and per source address.
    pub fn with_rate_limits(mut self, limits: Arc<dyn RateLimitStore>) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Sends mail (Amazon SES in production).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The second factor's state on the users table.
    pub fn with_mfa(mut self, mfa: Arc<dyn MfaStore>) -> Self {
        self.mfa = Some(mfa);
        self
    }

    /// `mfa_token`s of logins waiting for their second step.
    pub fn with_mfa_challenges(mut self, challenges: Arc<dyn MfaChallengeStore>) -> Self {
        self.mfa_challenges = Some(challenges);
        self
    }

    /// Passkeys (credentials on the users table).
    pub fn with_passkeys(mut self, passkeys: Arc<dyn PasskeyStore>) -> Self {
        self.passkeys = Some(passkeys);
        self
    }

    /// Challenges of passkey registrations and logins.
    pub fn with_webauthn_challenges(mut self, challenges: Arc<dyn WebauthnChallengeStore>) -> Self {
        self.webauthn_challenges = Some(challenges);
        self
    }

    /// The signing side.
    pub fn issuer(&self) -> Result<&TokenIssuer, ApiError> {
        self.issuer.as_ref().ok_or_else(|| missing("a signing key"))
    }

    /// The verifying side.
    pub fn authenticator(&self) -> Result<&Arc<Authenticator>, ApiError> {
        self.authenticator
            .as_ref()
            .ok_or_else(|| missing("verification keys"))
    }

    pub fn passwords(&self) -> Result<&PasswordHasher, ApiError> {
        self.passwords
            .as_ref()
            .ok_or_else(|| missing("a password hasher"))
    }

    pub fn users(&self) -> Result<&Arc<dyn UserStore>, ApiError> {
        self.users
            .as_ref()
            .ok_or_else(|| missing("the users store"))
    }

    pub fn registry(&self) -> Result<&Arc<dyn UserRegistry>, ApiError> {
        self.registry
            .as_ref()
            .ok_or_else(|| missing("the user registry"))
    }

    pub fn revocations(&self) -> Result<&Arc<dyn RevocationStore>, ApiError> {
        self.revocations
            .as_ref()
            .ok_or_else(|| missing("the revocation store"))
    }

    pub fn sessions(&self) -> Result<&Arc<dyn SessionStore>, ApiError> {
        self.sessions
            .as_ref()
            .ok_or_else(|| missing("the sessions store"))
    }

    pub fn ender(&self) -> Result<&Arc<dyn SessionEnder>, ApiError> {
        self.ender
            .as_ref()
            .ok_or_else(|| missing("the session ender"))
    }

    pub fn throttle(&self) -> Result<&Arc<dyn LoginThrottleStore>, ApiError> {
        self.throttle
            .as_ref()
            .ok_or_else(|| missing("the login throttle store"))
    }

    pub fn accounts(&self) -> Result<&Arc<dyn AccountStore>, ApiError> {
        self.accounts
            .as_ref()
            .ok_or_else(|| missing("the accounts store"))
    }

    pub fn one_time_tokens(&self) -> Result<&Arc<dyn OneTimeTokenStore>, ApiError> {
        self.one_time_tokens
            .as_ref()
            .ok_or_else(|| missing("the one-time token store"))
    }

    pub fn rate_limits(&self) -> Result<&Arc<dyn RateLimitStore>, ApiError> {
        self.rate_limits
            .as_ref()
            .ok_or_else(|| missing("the mail rate limits"))
    }

    pub fn mailer(&self) -> Result<&Arc<dyn Mailer>, ApiError> {
        self.mailer.as_ref().ok_or_else(|| missing("a mailer"))
    }

    pub fn mfa(&self) -> Result<&Arc<dyn MfaStore>, ApiError> {
        self.mfa
            .as_ref()
            .ok_or_else(|| missing("the second factor store"))
    }

    pub fn mfa_challenges(&self) -> Result<&Arc<dyn MfaChallengeStore>, ApiError> {
        self.mfa_challenges
            .as_ref()
            .ok_or_else(|| missing("the mfa_token store"))
    }

    pub fn passkeys(&self) -> Result<&Arc<dyn PasskeyStore>, ApiError> {
        self.passkeys
            .as_ref()
            .ok_or_else(|| missing("the passkey store"))
    }

    pub fn webauthn_challenges(&self) -> Result<&Arc<dyn WebauthnChallengeStore>, ApiError> {
        self.webauthn_challenges
            .as_ref()
            .ok_or_else(|| missing("the passkey challenge store"))
    }

    /// `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS` (checked at start by the passkey functions).
    pub fn relying_party(&self) -> Result<&wristband_core::webauthn::RelyingParty, ApiError> {
        self.config.relying_party().map_err(ApiError::internal)
    }

    /// `MFA_ENCRYPTION_KEY` (checked at start by the functions that need it).
    pub fn mfa_key(&self) -> Result<&wristband_core::mfa::MfaKey, ApiError> {
        self.config.mfa_key().map_err(ApiError::internal)
    }
}

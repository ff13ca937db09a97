//! What the issuing and session functions share, built once per process in `main`.

use std::sync::Arc;

use wristband_core::store::{
    LoginThrottleStore, RevocationStore, SessionEnder, SessionStore, UserStore,
};
use wristband_core::{Authenticator, Config, ConfigError, TokenIssuer, TokenVerifier};
use wristband_dynamodb::{
    DynamoDbLoginThrottle, DynamoDbRevokedTokens, DynamoDbSessionEnder, DynamoDbSessions,
    DynamoDbUsers,
};
use wristband_http::{ApiError, Cors};

use crate::password::PasswordHasher;

/// Which keys a function holds: only login and refresh sign (the private key, under
/// EdDSA/ES256), the others that take tokens verify (public keys), register needs none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys {
    pub issue: bool,
    pub verify: bool,
}

impl Keys {
    pub const NONE: Keys = Keys {
        issue: false,
        verify: false,
    };
    pub const VERIFY: Keys = Keys {
        issue: false,
        verify: true,
    };
    pub const ISSUE: Keys = Keys {
        issue: true,
        verify: false,
    };
    pub const ISSUE_AND_VERIFY: Keys = Keys {
        issue: true,
        verify: true,
    };
}

/// Configuration, keys, the password hasher and the stores of the endpoints in
/// `wristband-shared`. Verifier functions (protected, me, the authorizer) do not build one:
/// they need only an [`Authenticator`].
pub struct App {
    pub config: Config,
    pub cors: Cors,
    issuer: Option<TokenIssuer>,
    authenticator: Option<Arc<Authenticator>>,
    pub passwords: PasswordHasher,
    pub users: Arc<dyn UserStore>,
    pub revocations: Arc<dyn RevocationStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// Ends sessions in both tables at once (logout everywhere, password change,
    /// `DELETE /sessions/{sid}`).
    pub ender: Arc<dyn SessionEnder>,
    /// Failed-login counts (login throttling).
    pub throttle: Arc<dyn LoginThrottleStore>,
}

impl App {
    /// A function's start: logs, then configuration and clients from the environment;
    /// refuses to start (with the reason in the log) on bad configuration.
    pub fn init(keys: Keys) -> Result<Self, ConfigError> {
        wristband_http::logging::init();
        Self::from_env(keys).map_err(wristband_http::refuse_to_start)
    }

    /// Production wiring: configuration from the environment, DynamoDB stores.
    pub fn from_env(keys: Keys) -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        Self::with_dynamodb(config, wristband_dynamodb::client_from_env(), keys)
    }

    pub fn with_dynamodb(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        keys: Keys,
    ) -> Result<Self, ConfigError> {
        let tables = config.tables.clone();
        Self::new(
            config,
            Arc::new(DynamoDbUsers::new(client.clone(), tables.users)),
            Arc::new(DynamoDbRevokedTokens::new(
                client.clone(),
                tables.revoked_tokens.clone(),
            )),
            Arc::new(DynamoDbSessions::new(
                client.clone(),
                tables.sessions.clone(),
            )),
            Arc::new(DynamoDbSessionEnder::new(
                client.clone(),
                tables.revoked_tokens.clone(),
                tables.sessions,
            )),
            Arc::new(DynamoDbLoginThrottle::new(client, tables.revoked_tokens)),
            keys,
        )
    }

    pub fn new(
        config: Config,
        users: Arc<dyn UserStore>,
        revocations: Arc<dyn RevocationStore>,
        sessions: Arc<dyn SessionStore>,
        ender: Arc<dyn SessionEnder>,
        throttle: Arc<dyn LoginThrottleStore>,
        keys: Keys,
    ) -> Result<Self, ConfigError> {
        // The issuer first: it installs the signing provider before anything verifies.
        let issuer = keys.issue.then(|| TokenIssuer::new(&config)).transpose()?;
        let authenticator = match (keys.verify, &issuer) {
            // refresh: the verifier takes the issuer's key, JWT_PRIVATE_KEY is parsed once.
            (true, Some(issuer)) => Some(TokenVerifier::for_issuer(&config, issuer)?),
            (true, None) => Some(TokenVerifier::new(&config)?),
            (false, _) => None,
        }
        .map(|verifier| Arc::new(Authenticator::new(verifier, revocations.clone())));
        Ok(Self {
            cors: Cors::new(config.cors_allow_origins.clone()),
            issuer,
            authenticator,
            passwords: PasswordHasher::new(),
            config,
            users,
            revocations,
            sessions,
            ender,
            throttle,
        })
    }

    /// The signing side, in the functions built with [`Keys::ISSUE`].
    pub fn issuer(&self) -> Result<&TokenIssuer, ApiError> {
        self.issuer
            .as_ref()
            .ok_or_else(|| ApiError::internal("this function holds no signing key"))
    }

    /// The verifying side, in the functions built with [`Keys::VERIFY`].
    pub fn authenticator(&self) -> Result<&Arc<Authenticator>, ApiError> {
        self.authenticator
            .as_ref()
            .ok_or_else(|| ApiError::internal("this function holds no verification keys"))
    }
}

//! What the issuing and session functions share, built once per process in `main`.

use std::sync::Arc;

use wristband_core::store::{RevocationStore, SessionStore, UserStore};
use wristband_core::{Authenticator, Config, ConfigError, TokenIssuer, TokenVerifier};
use wristband_dynamodb::{DynamoDbRevokedTokens, DynamoDbSessions, DynamoDbUsers};
use wristband_http::Cors;

use crate::password::PasswordHasher;

/// Configuration, keys, the password hasher and the stores of the endpoints in
/// `wristband-shared`. Verifier functions (protected, me, the authorizer) do not build one:
/// they need only an [`Authenticator`].
pub struct App {
    pub config: Config,
    pub cors: Cors,
    pub issuer: TokenIssuer,
    pub authenticator: Arc<Authenticator>,
    pub passwords: PasswordHasher,
    pub users: Arc<dyn UserStore>,
    pub revocations: Arc<dyn RevocationStore>,
    pub sessions: Arc<dyn SessionStore>,
}

impl App {
    /// A function's start: logs, then configuration and clients from the environment;
    /// refuses to start (with the reason in the log) on bad configuration.
    pub fn init() -> Result<Self, ConfigError> {
        wristband_http::logging::init();
        Self::from_env().map_err(wristband_http::refuse_to_start)
    }

    /// Production wiring: configuration from the environment, DynamoDB stores.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        Ok(Self::with_dynamodb(
            config,
            wristband_dynamodb::client_from_env(),
        ))
    }

    pub fn with_dynamodb(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let tables = config.tables.clone();
        Self::new(
            config,
            Arc::new(DynamoDbUsers::new(client.clone(), tables.users)),
            Arc::new(DynamoDbRevokedTokens::new(
                client.clone(),
                tables.revoked_tokens,
            )),
            Arc::new(DynamoDbSessions::new(client, tables.sessions)),
        )
    }

    pub fn new(
        config: Config,
        users: Arc<dyn UserStore>,
        revocations: Arc<dyn RevocationStore>,
        sessions: Arc<dyn SessionStore>,
    ) -> Self {
        Self {
            cors: Cors::new(config.cors_allow_origins.clone()),
            issuer: TokenIssuer::new(&config),
            authenticator: Arc::new(Authenticator::new(
                TokenVerifier::new(&config),
                revocations.clone(),
            )),
            passwords: PasswordHasher::new(),
            config,
            users,
            revocations,
            sessions,
        }
    }
}

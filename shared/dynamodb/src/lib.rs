//! wristband's stores on DynamoDB through the AWS SDK, and the client they share.
//!
//! `store.rs` reads and writes the attributes named in `wristband_dynamodb_lite::schema`
//! (stated there once, for this crate and the verifiers' SDK-free revocation check). A
//! function builds the client once in `main` ([`client_from_env`]) and only the stores it
//! uses.

mod accounts;
pub mod aws;
pub mod https;
mod mfa;
mod passkeys;
mod store;

use std::sync::Arc;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use wristband_core::TableNames;
use wristband_dynamodb_lite::Policy;

pub use accounts::{DynamoDbOneTimeTokens, DynamoDbRateLimits};
pub use mfa::DynamoDbMfaChallenges;
pub use passkeys::DynamoDbWebauthnChallenges;
pub use store::{
    ensure_tables, DynamoDbLoginThrottle, DynamoDbRevokedTokens, DynamoDbSessionEnder,
    DynamoDbSessions, DynamoDbUsers,
};

/// One client and the table names: each store a function asks for, on that client.
#[derive(Clone, Debug)]
pub struct Tables {
    pub client: aws_sdk_dynamodb::Client,
    pub names: TableNames,
}

impl Tables {
    /// The client of [`client_from_env`] on `names`.
    pub fn from_env(names: &TableNames) -> Self {
        Self::new(client_from_env(), names.clone())
    }

    pub fn new(client: aws_sdk_dynamodb::Client, names: TableNames) -> Self {
        Self { client, names }
    }

    pub fn users(&self) -> Arc<DynamoDbUsers> {
        Arc::new(DynamoDbUsers::new(self.client.clone(), &self.names.users))
    }

    /// The users table's account side (addresses, deletion, administration): the same
    /// store as [`Tables::users`].
    pub fn accounts(&self) -> Arc<DynamoDbUsers> {
        self.users()
    }

    /// The second factor on the users table: the same store as [`Tables::users`].
    pub fn mfa(&self) -> Arc<DynamoDbUsers> {
        self.users()
    }

    /// `mfa_token`s of logins waiting for their second step (items in the revoked-tokens
    /// table).
    pub fn mfa_challenges(&self) -> Arc<DynamoDbMfaChallenges> {
        Arc::new(DynamoDbMfaChallenges::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }

    /// Passkeys on the users table: the same store as [`Tables::users`].
    pub fn passkeys(&self) -> Arc<DynamoDbUsers> {
        self.users()
    }

    /// Passkey challenges (items in the revoked-tokens table).
    pub fn webauthn_challenges(&self) -> Arc<DynamoDbWebauthnChallenges> {
        Arc::new(DynamoDbWebauthnChallenges::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }

    /// Emailed links' tokens (items in the revoked-tokens table).
    pub fn one_time_tokens(&self) -> Arc<DynamoDbOneTimeTokens> {
        Arc::new(DynamoDbOneTimeTokens::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }

    /// Mail rate limits (items in the revoked-tokens table).
    pub fn rate_limits(&self) -> Arc<DynamoDbRateLimits> {
        Arc::new(DynamoDbRateLimits::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }

    pub fn revoked_tokens(&self) -> Arc<DynamoDbRevokedTokens> {
        Arc::new(DynamoDbRevokedTokens::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }

    pub fn sessions(&self) -> Arc<DynamoDbSessions> {
        Arc::new(DynamoDbSessions::new(
            self.client.clone(),
            &self.names.sessions,
        ))
    }

    /// Ends sessions in both the revoked-tokens and the sessions table.
    pub fn session_ender(&self) -> Arc<DynamoDbSessionEnder> {
        Arc::new(DynamoDbSessionEnder::new(
            self.client.clone(),
            self.names.revoked_tokens.clone(),
            self.names.sessions.clone(),
        ))
    }

    /// Failed-login counts (items in the revoked-tokens table).
    pub fn login_throttle(&self) -> Arc<DynamoDbLoginThrottle> {
        Arc::new(DynamoDbLoginThrottle::new(
            self.client.clone(),
            &self.names.revoked_tokens,
        ))
    }
}

/// A DynamoDB client that fails fast: an unreachable or throttling table becomes a 503
/// (or a deny) within about four seconds instead of hanging until the Lambda timeout.
/// Region, endpoint and credentials come from the environment (see [`aws::AwsEnv`]).
pub fn client_from_env() -> aws_sdk_dynamodb::Client {
    let conf = aws::dynamodb_config(aws::AwsEnv::from_env())
        .timeout_config(timeouts())
        .retry_config(retries())
        .http_client(https_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// HTTPS (and plain HTTP for DynamoDB Local) on rustls with ring, verified against the
/// platform's roots (see [`https`]).
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    https::client(https::Roots::Platform)
}

/// Short connect/read timeouts and an overall cap per operation: wristband's [`Policy`],
/// as the SDK takes it.
pub fn timeouts() -> TimeoutConfig {
    let policy = Policy::default();
    TimeoutConfig::builder()
        .connect_timeout(policy.connect_timeout)
        .read_timeout(policy.attempt_timeout)
        .operation_attempt_timeout(policy.attempt_timeout)
        .operation_timeout(policy.total_timeout)
        .build()
}

/// Bounded retries with short backoff (throttling and transient network errors).
pub fn retries() -> RetryConfig {
    let policy = Policy::default();
    RetryConfig::standard()
        .with_max_attempts(policy.max_attempts)
        .with_initial_backoff(policy.initial_backoff)
        .with_max_backoff(policy.max_backoff)
}

//! DynamoDB without the AWS SDK, for the functions that only verify tokens.
//!
//! protected, me and the authorizer make one call: the revocation check (a BatchGetItem
//! of three keys). Through the SDK that call costs ~0.5 MB of every zip (its orchestrator,
//! endpoint rules, retry and identity machinery, the shapes of all of DynamoDB) and CPU on
//! every request. Here it is DynamoDB's JSON protocol by hand: SigV4 ([`sigv4`], held to
//! the SDK's signer by a test), one pooled HTTPS client ([`tls`], shared with the SDK
//! stores), the SDK stores' failure policy ([`Policy`]).
//!
//! Also here because both sides need them: the tables' attribute names ([`schema`]) and
//! the environment an AWS client reads ([`env`]). `wristband-ses` sends mail through the
//! same signer, pool and policy ([`SignedHttp`]).

mod client;
pub mod env;
mod revocations;
pub mod schema;
pub mod sigv4;
pub mod tls;

use std::sync::Arc;

use wristband_core::{Authenticator, Config, ConfigError, TokenVerifier};

pub use client::{is_outage_code, CallError, DynamoDbHttp, Operation, Policy, Service, SignedHttp};
pub use revocations::{LiteRevokedTokens, LiteSessionEnder};

/// The verifier's wiring: the verification keys from `config` and the revocation table
/// over `http`. What protected, me and the authorizer build in `main`, and nothing more.
pub fn authenticator(
    config: &Config,
    http: Arc<DynamoDbHttp>,
) -> Result<Arc<Authenticator>, ConfigError> {
    Ok(Arc::new(Authenticator::new(
        TokenVerifier::public_only(config)?,
        Arc::new(LiteRevokedTokens::new(
            http,
            config.tables.revoked_tokens.clone(),
        )),
    )))
}

/// The revocation check over `DynamoDB from the environment, for a function that also
/// writes revocations through the SDK (refresh, logout, ...): every function reads
/// revocations through this one code.
pub fn revocation_check_from_env(config: &Config) -> Result<Arc<LiteRevokedTokens>, ConfigError> {
    Ok(Arc::new(LiteRevokedTokens::new(
        Arc::new(DynamoDbHttp::from_env()?),
        config.tables.revoked_tokens.clone(),
    )))
}

/// [`authenticator`] with the endpoint, region and credentials from the environment: a
/// function of your own that verifies wristband's tokens builds this once in `main`.
pub fn authenticator_from_env(config: &Config) -> Result<Arc<Authenticator>, ConfigError> {
    authenticator(config, Arc::new(DynamoDbHttp::from_env()?))
}

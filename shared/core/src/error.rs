//! The core's own errors: what a store reports and why a token is refused. Free of HTTP:
//! `wristband-http` maps them to the contract's statuses.

use std::error::Error as StdError;

use thiserror::Error;

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A storage failure, as the stores report it.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store could not be reached, timed out or throttled us after retries.
    /// Callers fail closed (503, or deny).
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else (a missing table, a malformed item): a bug or a misconfiguration.
    #[error("store failure")]
    Other(#[source] BoxError),
}

/// Why a presented token (or its absence) does not open this route. `Display` is the
/// sentence a client may read; it never carries the token.
#[derive(Debug, Error)]
pub enum AuthError {
    /// No token where one is required.
    #[error("Missing Authorization Header")]
    Missing,
    /// Unusable: bad format, signature, algorithm, issuer, audience, `nbf`, type.
    #[error("{0}")]
    Invalid(&'static str),
    #[error("Token has expired")]
    Expired,
    /// Its `jti` is revoked, its session ended, or its user logged out everywhere.
    #[error("Token has been revoked")]
    Revoked,
    #[error("Fresh token required")]
    FreshRequired,
    /// A valid token without any of the roles the route asks for.
    #[error("Token does not carry a role this route requires")]
    MissingRole,
    /// Revocation could not be checked: the token is refused (fail closed).
    #[error("revocation could not be checked")]
    Store(#[source] StoreError),
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        AuthError::Store(err)
    }
}

/// "outer: inner: innermost", for logs.
pub fn error_chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

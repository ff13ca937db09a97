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

/// The contract's error vocabulary (API.md "Responses"): every way a request can fail.
/// `Display` is the client-facing message, [`ApiError::code`] the machine-readable code.
/// Free of HTTP: `wristband-http` maps each to its status and headers in one place.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    WeakPassword(&'static str),
    #[error("Bad username or password")]
    InvalidCredentials,
    /// `/oauth/introspect`: no, an unknown or a wrong client (RFC 6749 §5.2).
    #[error("Client authentication failed")]
    InvalidClient,
    #[error("Missing Authorization Header")]
    MissingToken,
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("Token has expired")]
    TokenExpired,
    #[error("Token has been revoked")]
    TokenRevoked,
    #[error("Fresh token required")]
    FreshTokenRequired,
    /// A valid token without a role the route asks for (RFC 6750 §3.1 `insufficient_scope`;
    /// API.md does not name this case).
    #[error("Token does not carry a role this route requires")]
    InsufficientRole,
    /// A cookie-authenticated state-changing request without the token's CSRF value in
    /// `X-CSRF-TOKEN` (double submit).
    #[error("Missing or invalid CSRF token")]
    CsrfFailed,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("Method not allowed on this path")]
    /// `allow`: the `Allow` header, the methods the path answers (`DELETE, POST`).
    MethodNotAllowed { allow: String },
    #[error("Username is already taken")]
    UsernameTaken,
    /// An emailed link's token that is unknown, expired, replaced or spent.
    #[error("Invalid or expired code")]
    InvalidCode,
    #[error("Email address is already taken")]
    EmailTaken,
    /// The password was right and the account has a second factor: no tokens yet, the
    /// body carries `mfa_token` and `methods` (API.md "Second factor").
    #[error("Second factor required")]
    MfaRequired {
        mfa_token: String,
        methods: Vec<&'static str>,
    },
    /// A wrong, replayed or expired second-factor code, or an unusable `mfa_token`.
    #[error("Invalid authentication code")]
    MfaFailed,
    /// A right password for an account an administrator disabled.
    #[error("Account disabled")]
    AccountDisabled,
    #[error("Too many failed logins; try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("The service is temporarily unavailable; try again shortly")]
    ServiceUnavailable(#[source] StoreError),
    #[error("Internal server error")]
    Internal(#[source] BoxError),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Missing => ApiError::MissingToken,
            AuthError::Invalid(why) => ApiError::InvalidToken(why),
            AuthError::Expired => ApiError::TokenExpired,
            AuthError::Revoked => ApiError::TokenRevoked,
            AuthError::FreshRequired => ApiError::FreshTokenRequired,
            AuthError::MissingRole => ApiError::InsufficientRole,
            AuthError::Store(err) => err.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ApiError::ServiceUnavailable(err),
            StoreError::Other(_) => ApiError::Internal(Box::new(err)),
        }
    }
}

impl ApiError {
    /// Every `error` code an answer can carry (the OpenAPI document lists the same).
    pub const CODES: &'static [&'static str] = &[
        "invalid_request",
        "weak_password",
        "invalid_credentials",
        "invalid_client",
        "missing_token",
        "invalid_token",
        "token_expired",
        "token_revoked",
        "fresh_token_required",
        "insufficient_scope",
        "csrf_failed",
        "not_found",
        "method_not_allowed",
        "username_taken",
        "too_many_attempts",
        "invalid_code",
        "mfa_required",
        "mfa_failed",
        "email_taken",
        "account_disabled",
        "service_unavailable",
        "internal_error",
    ];

    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(message.into())
    }

    pub fn internal(err: impl Into<BoxError>) -> Self {
        ApiError::Internal(err.into())
    }

    /// The contract's machine-readable `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::WeakPassword(_) => "weak_password",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidClient => "invalid_client",
            ApiError::MissingToken => "missing_token",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::TokenRevoked => "token_revoked",
            ApiError::FreshTokenRequired => "fresh_token_required",
            ApiError::InsufficientRole => "insufficient_scope",
            ApiError::CsrfFailed => "csrf_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::UsernameTaken => "username_taken",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::InvalidCode => "invalid_code",
            ApiError::MfaRequired { .. } => "mfa_required",
            ApiError::MfaFailed => "mfa_failed",
            ApiError::EmailTaken => "email_taken",
            ApiError::AccountDisabled => "account_disabled",
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The JSON body: `{"error", "message"}`. Internal details never reach it.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        if let ApiError::MfaRequired { mfa_token, methods } = self {
            body["mfa_token"] = mfa_token.as_str().into();
            body["methods"] = methods.clone().into();
        }
        body
    }

    /// Logs what the operator needs (the whole source chain for server-side failures);
    /// client mistakes are logged at debug level only.
    pub fn log(&self) {
        match self {
            ApiError::ServiceUnavailable(_) | ApiError::Internal(_) => {
                tracing::error!(error = self.code(), cause = %error_chain(self), "request failed");
            }
            _ => tracing::debug!(error = self.code(), "request refused"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_contract_messages() {
        assert_eq!(
            ApiError::InvalidCredentials.to_string(),
            "Bad username or password"
        );
        assert_eq!(
            ApiError::MissingToken.to_string(),
            "Missing Authorization Header"
        );
        assert_eq!(ApiError::TokenExpired.to_string(), "Token has expired");
        assert_eq!(ApiError::InvalidCode.to_string(), "Invalid or expired code");
        assert_eq!(ApiError::AccountDisabled.to_string(), "Account disabled");
        assert_eq!(ApiError::TokenRevoked.to_string(), "Token has been revoked");
        assert_eq!(
            ApiError::FreshTokenRequired.to_string(),
            "Fresh token required"
        );
    }

    #[test]
    fn body_is_code_and_message() {
        let body = ApiError::UsernameTaken.body();
        assert_eq!(body["error"], "username_taken");
        assert_eq!(body["message"], "Username is already taken");
    }
}

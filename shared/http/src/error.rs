//! The contract's error vocabulary (API.md "Responses") and its statuses and headers.
//! Every failure of every endpoint ends up here; `response.rs` turns it into a response.

use lambda_http::http::{header, HeaderValue, StatusCode};
use thiserror::Error;
use wristband_core::error::error_chain;
use wristband_core::{AuthError, BoxError, StoreError};

/// Every way a request can fail; `Display` is the client-facing message.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    WeakPassword(&'static str),
    #[error("Bad username or password")]
    InvalidCredentials,
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
    MethodNotAllowed { allow: &'static str },
    #[error("Username is already taken")]
    UsernameTaken,
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
        "service_unavailable",
        "internal_error",
    ];

    /// One of each variant (for tests, e.g. the OpenAPI document's check); the `match`
    /// stops compiling when a variant is added, so [`ApiError::CODES`] cannot miss one.
    #[doc(hidden)]
    pub fn one_of_each() -> Vec<ApiError> {
        let all = vec![
            ApiError::InvalidRequest("x".into()),
            ApiError::WeakPassword("x"),
            ApiError::InvalidCredentials,
            ApiError::MissingToken,
            ApiError::InvalidToken("x"),
            ApiError::TokenExpired,
            ApiError::TokenRevoked,
            ApiError::FreshTokenRequired,
            ApiError::InsufficientRole,
            ApiError::CsrfFailed,
            ApiError::NotFound("x"),
            ApiError::MethodNotAllowed { allow: "GET" },
            ApiError::UsernameTaken,
            ApiError::TooManyAttempts {
                retry_after_secs: 1,
            },
            ApiError::ServiceUnavailable(StoreError::Unavailable("x".into())),
            ApiError::Internal("x".into()),
        ];
        for err in &all {
            match err {
                ApiError::InvalidRequest(_)
                | ApiError::WeakPassword(_)
                | ApiError::InvalidCredentials
                | ApiError::MissingToken
                | ApiError::InvalidToken(_)
                | ApiError::TokenExpired
                | ApiError::TokenRevoked
                | ApiError::FreshTokenRequired
                | ApiError::InsufficientRole
                | ApiError::CsrfFailed
                | ApiError::NotFound(_)
                | ApiError::MethodNotAllowed { .. }
                | ApiError::UsernameTaken
                | ApiError::TooManyAttempts { .. }
                | ApiError::ServiceUnavailable(_)
                | ApiError::Internal(_) => {}
            }
        }
        all
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(message.into())
    }

    pub fn internal(err: impl Into<BoxError>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::WeakPassword(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidCredentials
            | ApiError::MissingToken
            | ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::TokenRevoked
            | ApiError::FreshTokenRequired => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientRole | ApiError::CsrfFailed => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UsernameTaken => StatusCode::CONFLICT,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's machine-readable `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::WeakPassword(_) => "weak_password",
            ApiError::InvalidCredentials => "invalid_credentials",
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
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// Extra headers the contract asks for (RFC 6750 §3, RFC 9110 §15.5.6, §10.2.3).
    pub fn headers(&self) -> Vec<(header::HeaderName, HeaderValue)> {
        match self {
            ApiError::MissingToken => {
                vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))]
            }
            ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::TokenRevoked
            | ApiError::FreshTokenRequired => vec![(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            )],
            ApiError::InsufficientRole => vec![(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
            )],
            ApiError::MethodNotAllowed { allow } => {
                vec![(header::ALLOW, HeaderValue::from_static(allow))]
            }
            ApiError::TooManyAttempts { retry_after_secs } => vec![(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(&1).to_owned()),
            )],
            _ => Vec::new(),
        }
    }

    /// The JSON body: `{"error", "message"}`. Internal details never reach it.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.to_string() })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_outage_fails_closed_with_503_and_no_detail() {
        let err: ApiError =
            StoreError::Unavailable("connection refused to 10.0.0.1:8000".into()).into();
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code(), "service_unavailable");
        assert!(!err.body().to_string().contains("10.0.0.1"));
    }

    #[test]
    fn internal_error_body_has_no_detail() {
        let err = ApiError::internal("table wristband-users has no attribute password_hash");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = err.body().to_string();
        assert!(!body.contains("password_hash"), "{body}");
        assert!(error_chain(&err).contains("password_hash"));
    }

    #[test]
    fn token_errors_carry_www_authenticate() {
        for err in [
            ApiError::InvalidToken("x"),
            ApiError::TokenExpired,
            ApiError::TokenRevoked,
            ApiError::FreshTokenRequired,
        ] {
            let headers = err.headers();
            assert_eq!(headers[0].0, header::WWW_AUTHENTICATE);
            assert_eq!(headers[0].1, "Bearer error=\"invalid_token\"");
        }
        assert_eq!(ApiError::MissingToken.headers()[0].1, "Bearer");
    }

    #[test]
    fn codes_lists_every_variant_once() {
        let codes: Vec<&str> = ApiError::one_of_each().iter().map(ApiError::code).collect();
        assert_eq!(codes, ApiError::CODES);
    }

    #[test]
    fn csrf_failure_is_403_with_the_contract_message() {
        let err = ApiError::CsrfFailed;
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.code(), "csrf_failed");
        assert_eq!(err.to_string(), "Missing or invalid CSRF token");
        assert!(err.headers().is_empty());
    }

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
        assert_eq!(ApiError::TokenRevoked.to_string(), "Token has been revoked");
        assert_eq!(
            ApiError::FreshTokenRequired.to_string(),
            "Fresh token required"
        );
    }
}

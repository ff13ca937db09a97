//! The one mapping of the contract's errors to HTTP: each [`ApiError`] (defined in
//! wristband-core, free of HTTP) gets its status and the headers the contract asks for
//! here, and `response.rs` turns it into a response with its JSON body.

use lambda_http::http::{header, HeaderValue, StatusCode};
pub use wristband_core::error::ApiError;

/// The HTTP side of an [`ApiError`]: status and extra headers.
pub trait ErrorResponse {
    fn status(&self) -> StatusCode;
    /// Extra headers the contract asks for (RFC 6750 §3, RFC 9110 §15.5.6, §10.2.3).
    fn headers(&self) -> Vec<(header::HeaderName, HeaderValue)>;
}

impl ErrorResponse for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::WeakPassword(_) | ApiError::InvalidCode => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidCredentials
            | ApiError::InvalidClient
            | ApiError::MissingToken
            | ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::TokenRevoked
            | ApiError::FreshTokenRequired
            | ApiError::MfaRequired { .. }
            | ApiError::MfaFailed => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientRole | ApiError::CsrfFailed | ApiError::AccountDisabled => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UsernameTaken | ApiError::EmailTaken => StatusCode::CONFLICT,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn headers(&self) -> Vec<(header::HeaderName, HeaderValue)> {
        match self {
            ApiError::MissingToken => {
                vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))]
            }
            ApiError::InvalidClient => vec![(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wristband\""),
            )],
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
            ApiError::MethodNotAllowed { allow } => HeaderValue::from_str(allow)
                .map(|allow| vec![(header::ALLOW, allow)])
                .unwrap_or_default(),
            ApiError::TooManyAttempts { retry_after_secs } => vec![(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(&1).to_owned()),
            )],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wristband_core::error::error_chain;
    use wristband_core::StoreError;

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
    fn method_not_allowed_lists_the_methods() {
        let err = ApiError::MethodNotAllowed {
            allow: "DELETE, POST".into(),
        };
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            err.headers(),
            vec![(header::ALLOW, HeaderValue::from_static("DELETE, POST"))]
        );
    }

    #[test]
    fn csrf_failure_is_403_with_the_contract_message() {
        let err = ApiError::CsrfFailed;
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.code(), "csrf_failed");
        assert_eq!(err.to_string(), "Missing or invalid CSRF token");
        assert!(err.headers().is_empty());
    }
}

//! One of each contract error, for tests that hold a list of codes (the OpenAPI
//! document's, `ApiError::CODES`) to the enum.

use wristband_core::{ApiError, StoreError};

/// One of each variant; the `match` stops compiling when a variant is added, so a list
/// checked against this cannot miss one.
pub fn every_api_error() -> Vec<ApiError> {
    let all = vec![
        ApiError::InvalidRequest("x".into()),
        ApiError::WeakPassword("x"),
        ApiError::InvalidCredentials,
        ApiError::InvalidClient,
        ApiError::MissingToken,
        ApiError::InvalidToken("x"),
        ApiError::TokenExpired,
        ApiError::TokenRevoked,
        ApiError::FreshTokenRequired,
        ApiError::InsufficientRole,
        ApiError::CsrfFailed,
        ApiError::NotFound("x"),
        ApiError::MethodNotAllowed {
            allow: "GET".into(),
        },
        ApiError::UsernameTaken,
        ApiError::TooManyAttempts {
            retry_after_secs: 1,
        },
        ApiError::InvalidCode,
        ApiError::MfaRequired {
            mfa_token: "x".into(),
            methods: vec!["totp"],
        },
        ApiError::MfaFailed,
        ApiError::EmailTaken,
        ApiError::AccountDisabled,
        ApiError::ServiceUnavailable(StoreError::Unavailable("x".into())),
        ApiError::Internal("x".into()),
    ];
    for err in &all {
        match err {
            ApiError::InvalidRequest(_)
            | ApiError::WeakPassword(_)
            | ApiError::InvalidCredentials
            | ApiError::InvalidClient
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
            | ApiError::InvalidCode
            | ApiError::MfaRequired { .. }
            | ApiError::MfaFailed
            | ApiError::EmailTaken
            | ApiError::AccountDisabled
            | ApiError::ServiceUnavailable(_)
            | ApiError::Internal(_) => {}
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_lists_every_variant_once() {
        let codes: Vec<&str> = every_api_error().iter().map(ApiError::code).collect();
        assert_eq!(codes, ApiError::CODES);
    }
}

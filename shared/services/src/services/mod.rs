//! One module per endpoint: typed input, typed output, the endpoint's logic. No HTTP
//! request in sight: `crate::endpoints` parses requests into these inputs.

pub mod account;
pub mod admin;
pub mod email;
pub mod login;
pub mod login_mfa;
pub mod login_passkey;
pub mod logout;
pub mod logout_all;
pub mod mail;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod sessions;

use serde::Serialize;
use wristband_core::ApiError;
use wristband_core::TokenPair;

use crate::app::App;

/// What `/login` and `/refresh` answer.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Cookie mode: the pair's CSRF values, for the readable cookies (not in the body).
    #[serde(skip)]
    pub csrf: Option<CsrfValues>,
}

/// The `csrf` claims of an access and a refresh token.
#[derive(Clone, Debug)]
pub struct CsrfValues {
    pub access: String,
    pub refresh: String,
}

impl TokenResponse {
    fn new(app: &App, pair: TokenPair) -> Result<Self, ApiError> {
        let csrf = match (pair.access.csrf, pair.refresh.csrf) {
            (Some(access), Some(refresh)) => Some(CsrfValues { access, refresh }),
            _ => None,
        };
        Ok(Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: app.issuer()?.access_ttl(),
            csrf,
        })
    }
}

/// A `{"message": ...}` answer.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: &'static str,
}

//! The guard: protecting a Rust function of your own with wristband, the
//! `@jwt_required()` of this project. Build one in `main`, call it first in the handler:
//!
//! ```ignore
//! let guard = Guard::new(authenticator, Requirements::access().any_role(["admin"]));
//! // in the handler:
//! let claims = guard.require(&req).await?; // or the contract's 401/403/503
//! ```

use std::sync::Arc;

use lambda_http::Request;
use wristband_core::{Authenticator, Claims, Requirements};

use crate::credentials;
use crate::error::ApiError;

/// A route's requirements and the authenticator that checks them.
#[derive(Clone)]
pub struct Guard {
    authenticator: Arc<Authenticator>,
    requirements: Requirements,
}

impl Guard {
    pub fn new(authenticator: Arc<Authenticator>, requirements: Requirements) -> Self {
        Self {
            authenticator,
            requirements,
        }
    }

    /// The caller's verified claims, `None` for an anonymous caller of an optional route,
    /// or the contract's error (401, 403 for a missing role or a failed CSRF check, 503
    /// when revocation cannot be checked). The token is read where `TOKEN_LOCATION` says
    /// (see [`crate::credentials`]).
    pub async fn check(&self, req: &Request) -> Result<Option<Claims>, ApiError> {
        let found = credentials::authenticate(&self.authenticator, req, &self.requirements).await?;
        Ok(found.map(|(claims, _)| claims))
    }

    /// [`Self::check`] for a route that always needs a token.
    pub async fn require(&self, req: &Request) -> Result<Claims, ApiError> {
        let (claims, _) =
            credentials::require(&self.authenticator, req, &self.requirements).await?;
        Ok(claims)
    }
}

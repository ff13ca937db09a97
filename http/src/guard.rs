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

use crate::error::ApiError;
use crate::request::bearer_token;

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
    /// or the contract's error (401, 403 for a missing role, 503 when revocation cannot
    /// be checked).
    pub async fn check(&self, req: &Request) -> Result<Option<Claims>, ApiError> {
        let token = bearer_token(req)?;
        Ok(self
            .authenticator
            .authenticate(token, &self.requirements)
            .await?)
    }

    /// [`Self::check`] for a route that always needs a token.
    pub async fn require(&self, req: &Request) -> Result<Claims, ApiError> {
        let token = bearer_token(req)?;
        Ok(self
            .authenticator
            .require(token, &self.requirements)
            .await?)
    }
}

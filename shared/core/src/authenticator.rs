//! The one verification path: every endpoint that takes a token, the guard of users' own
//! functions and the API Gateway authorizer call [`Authenticator::authenticate`].

use std::sync::Arc;

use crate::error::AuthError;
use crate::ids::now_secs;
use crate::store::RevocationCheck;
use crate::tokens::{Claims, TokenType, TokenVerifier};

/// What a route asks of its caller (Flask-JWT-Extended's `@jwt_required(...)` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// Which kind of token opens it: access (default) or refresh (`/refresh` only).
    pub token_type: TokenType,
    /// Only an access token issued by `/login`, not by `/refresh`.
    pub fresh: bool,
    /// No token at all is fine (anonymous); a token that is present must still be valid.
    pub optional: bool,
    /// When not empty, the token must carry at least one of these roles.
    pub any_role: Vec<String>,
    /// The login must have used a second factor (`mfa` in `amr`).
    pub mfa: bool,
}

impl Default for Requirements {
    fn default() -> Self {
        Self::access()
    }
}

impl Requirements {
    /// A valid access token (the default).
    pub fn access() -> Self {
        Self {
            token_type: TokenType::Access,
            fresh: false,
            optional: false,
            any_role: Vec::new(),
            mfa: false,
        }
    }

    /// A valid refresh token.
    pub fn refresh() -> Self {
        Self {
            token_type: TokenType::Refresh,
            ..Self::access()
        }
    }

    /// Also require a fresh token (`fresh: true`, issued by `/login`).
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Also require a login with a second factor (`mfa` in `amr`): `403
    /// insufficient_scope` without.
    pub fn mfa(mut self) -> Self {
        self.mfa = true;
        self
    }

    /// Let anonymous callers through (as `None`); a presented token is still checked.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Also require at least one of `roles`.
    pub fn any_role<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.any_role = roles.into_iter().map(Into::into).collect();
        self
    }
}

/// Signature, claims, type and revocation (one store round trip), then the route's
/// requirements. Built once per process and shared.
pub struct Authenticator {
    verifier: TokenVerifier,
    revocations: Arc<dyn RevocationCheck>,
}

impl Authenticator {
    pub fn new(verifier: TokenVerifier, revocations: Arc<dyn RevocationCheck>) -> Self {
        Self {
            verifier,
            revocations,
        }
    }

    /// Where requests may carry tokens (`TOKEN_LOCATION`).
    pub fn token_location(&self) -> crate::config::TokenLocation {
        self.verifier.token_location()
    }

    /// The verified claims of `token` if it meets `requirements`; `Ok(None)` only when no
    /// token was presented and the route is optional. A store that cannot answer refuses
    /// the token ([`AuthError::Store`]): fail closed.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
    ) -> Result<Option<Claims>, AuthError> {
        let Some(token) = token else {
            return if requirements.optional {
                Ok(None)
            } else {
                Err(AuthError::Missing)
            };
        };
        let claims = self.verifier.verify(token, requirements.token_type)?;
        if self.revocations.is_revoked(&claims, now_secs()).await? {
            return Err(AuthError::Revoked);
        }
        if requirements.fresh && !claims.is_fresh() {
            return Err(AuthError::FreshRequired);
        }
        if !requirements.any_role.is_empty()
            && !claims
                .roles
                .iter()
                .any(|r| requirements.any_role.contains(r))
        {
            return Err(AuthError::MissingRole);
        }
        if requirements.mfa && !claims.has_mfa() {
            return Err(AuthError::MissingRole);
        }
        Ok(Some(claims))
    }

    /// [`Self::authenticate`] for routes that always need a token: no token is
    /// [`AuthError::Missing`] even when `requirements` allow anonymous callers.
    pub async fn require(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
    ) -> Result<Claims, AuthError> {
        self.authenticate(token, requirements)
            .await?
            .ok_or(AuthError::Missing)
    }
}

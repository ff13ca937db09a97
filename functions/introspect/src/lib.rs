//! `POST /oauth/introspect` (RFC 7662): another service asks whether a token is still
//! good and whose it is. The client authenticates with HTTP Basic against
//! `INTROSPECTION_CLIENTS`; the token goes through the one Authenticator (signature,
//! claims, revocation in one round trip), as an access token and as a refresh token
//! (its own audience). Anything unusable is `{"active": false}` with no hint why; when
//! revocation cannot be checked the answer is `503`, never `active: true`.

pub mod clients;

use std::sync::Arc;

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::{ApiError, AuthError, Authenticator, Claims, Requirements, TokenType};
use wristband_http::request::{basic_credentials, Fields};
use wristband_http::{Reply, Request};

pub use clients::Clients;

/// The token asked about.
pub struct Input {
    pub token: String,
    /// `access_token` or `refresh_token`: which to try first (RFC 7662 §2.1).
    pub token_type_hint: Option<String>,
}

/// RFC 7662 §2.2: `active`, and for an active token the claims of API.md (an inactive
/// one has `active` alone).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl Answer {
    fn inactive() -> Self {
        Self::default()
    }

    fn active(claims: Claims) -> Self {
        Self {
            active: true,
            token_type: Some(match claims.token_type {
                TokenType::Access => "access",
                TokenType::Refresh => "refresh",
            }),
            sub: Some(claims.sub),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            jti: Some(claims.jti),
            sid: Some(claims.sid),
            iss: Some(claims.iss),
            aud: Some(claims.aud),
            roles: Some(claims.roles),
            amr: Some(claims.amr),
        }
    }
}

/// Built once in `main`: the verification keys with the revocation check, and the
/// clients.
pub struct Introspection {
    pub authenticator: Arc<Authenticator>,
    pub clients: Clients,
}

impl Introspection {
    /// The calling service, from its Basic credentials; every refusal is the same 401.
    pub fn client(&self, credentials: Option<(String, String)>) -> Result<(), ApiError> {
        let checked = match &credentials {
            Some((id, secret)) => self.clients.check(id, secret),
            None => Err(ApiError::InvalidClient),
        };
        checked.inspect_err(|_| {
            audit::record(Event::IntrospectionClientRefused).emit();
        })
    }

    /// The token as an access token, then as a refresh token (the hint may swap them).
    pub async fn introspect(&self, input: Input) -> Result<Answer, ApiError> {
        let order = match input.token_type_hint.as_deref() {
            Some("refresh_token") => [Requirements::refresh(), Requirements::access()],
            _ => [Requirements::access(), Requirements::refresh()],
        };
        for requirements in &order {
            match self
                .authenticator
                .require(Some(&input.token), requirements)
                .await
            {
                Ok(claims) => return Ok(Answer::active(claims)),
                // Fail closed: unknown revocation is a 503, never an answer.
                Err(AuthError::Store(err)) => return Err(err.into()),
                Err(_) => {}
            }
        }
        Ok(Answer::inactive())
    }
}

/// The HTTP side: the client first (a 401 tells an unauthenticated caller nothing about
/// its body), then the form (or JSON) body's `token` and `token_type_hint`.
pub async fn handle(introspection: &Introspection, req: Request) -> Result<Reply, ApiError> {
    introspection.client(basic_credentials(&req).unwrap_or(None))?;
    let fields = Fields::from_request(&req)?;
    let input = Input {
        token: fields.required_str("token")?.to_owned(),
        token_type_hint: fields.optional_str("token_type_hint")?.map(str::to_owned),
    };
    Reply::ok(introspection.introspect(input).await?)
}

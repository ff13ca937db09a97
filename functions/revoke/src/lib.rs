//! `POST /oauth/revoke` (RFC 7009): a client gives a token back; the token itself is the
//! credential. An access token's `jti` is revoked until its `exp`; a refresh token ends
//! its session (every token of the family refused, the session off the list). The answer
//! is `200 {}` whatever the token was (§2.2), except `503` when the revocation could not
//! be written (§2.2.1) and the contract's `400` for a body that breaks the input rules.

use std::sync::Arc;

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::store::{RevocationStore, SessionEnder, SessionRecord};
use wristband_core::{ApiError, TokenType, TokenVerifier};
use wristband_http::request::Fields;
use wristband_http::{Reply, Request};

/// The token given back.
pub struct Input {
    pub token: String,
    /// `access_token` or `refresh_token`: which to try first.
    pub token_type_hint: Option<String>,
}

/// RFC 7009's empty object.
#[derive(Debug, Serialize)]
pub struct Revoked {}

/// Built once in `main`: the verification keys (signature and claims only: a revoked
/// token given back again is simply revoked again) and where revocations are written.
pub struct Revocation {
    pub verifier: TokenVerifier,
    pub revocations: Arc<dyn RevocationStore>,
    pub ender: Arc<dyn SessionEnder>,
    /// How long a session's tokens can live: an ended session is refused that long.
    pub refresh_ttl: u64,
}

impl Revocation {
    pub async fn revoke(&self, input: Input) -> Result<Revoked, ApiError> {
        let order = match input.token_type_hint.as_deref() {
            Some("refresh_token") => [TokenType::Refresh, TokenType::Access],
            _ => [TokenType::Access, TokenType::Refresh],
        };
        let Some(claims) = order
            .iter()
            .find_map(|kind| self.verifier.verify(&input.token, *kind).ok())
        else {
            // Garbage, forged, expired, another issuer's: nothing to revoke (§2.2).
            return Ok(Revoked {});
        };
        match claims.token_type {
            TokenType::Access => {
                self.revocations
                    .revoke_token(&claims.jti, claims.exp)
                    .await?;
            }
            TokenType::Refresh => {
                let until = now_secs() + self.refresh_ttl;
                self.ender
                    .end_sessions(&[SessionRecord::from_token(&claims.sub, &claims.sid, until)])
                    .await?;
            }
        }
        audit::record(Event::TokenRevokedByClient)
            .username(&claims.sub)
            .sid(&claims.sid)
            .detail(
                "token_type",
                match claims.token_type {
                    TokenType::Access => "access",
                    TokenType::Refresh => "refresh",
                },
            )
            .emit();
        Ok(Revoked {})
    }
}

/// The HTTP side: the form (or JSON) body's `token` and `token_type_hint`.
pub async fn handle(revocation: &Revocation, req: Request) -> Result<Reply, ApiError> {
    let fields = Fields::from_request(&req)?;
    let input = Input {
        token: fields.required_str("token")?.to_owned(),
        token_type_hint: fields.optional_str("token_type_hint")?.map(str::to_owned),
    };
    Reply::ok(revocation.revoke(input).await?)
}

//! `POST /refresh`: rotates the refresh token; reuse of a spent one ends the session.
//! The user is read again, so roles changed since login reach the new tokens.

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::store::Rotation;
use wristband_core::tokens::Subject;
use wristband_core::ApiError;
use wristband_core::Claims;

use super::TokenResponse;
use crate::app::App;

/// The presented refresh token, verified (signature, claims, type, revocation).
pub struct Input {
    pub refresh: Claims,
}

pub async fn refresh(app: &App, input: Input) -> Result<TokenResponse, ApiError> {
    let claims = input.refresh;
    let Some(user) = app.users()?.get(&claims.sub).await? else {
        // The user is gone: nothing of theirs is renewed.
        return Err(ApiError::TokenRevoked);
    };
    if user.disabled {
        // Disabling ended every session; a login that raced with it and slipped a session
        // past that is still not renewed.
        return Err(ApiError::TokenRevoked);
    }
    let now = now_secs();
    let pair = app
        .issuer()?
        .issue_token_pair(
            Subject {
                username: &claims.sub,
                roles: &user.roles,
                sid: &claims.sid,
                // The login's `amr` stays with its session.
                amr: &claims.amr,
            },
            false,
            now,
        )
        .map_err(ApiError::Internal)?;
    let rotation = app
        .sessions()?
        .rotate(
            &claims.sub,
            &claims.sid,
            &claims.jti,
            &pair.refresh.jti,
            now,
            pair.refresh.exp,
        )
        .await?;
    match rotation {
        Rotation::Rotated => {
            audit::record(Event::TokenRefreshed)
                .username(&claims.sub)
                .sid(&claims.sid)
                .emit();
            TokenResponse::new(app, pair)
        }
        Rotation::RecentlySpent { rotated_at }
            if now.saturating_sub(rotated_at) <= app.config.refresh_reuse_grace.as_secs() =>
        {
            // Most likely a client retry after a lost answer: refuse, do not punish.
            audit::record(Event::RefreshRetryRefused)
                .username(&claims.sub)
                .sid(&claims.sid)
                .emit();
            Err(ApiError::TokenRevoked)
        }
        Rotation::NoSession => Err(ApiError::TokenRevoked),
        Rotation::RecentlySpent { .. } | Rotation::Reused => {
            // A spent refresh token came back: it was copied. End the whole family.
            audit::record(Event::RefreshReuseDetected)
                .username(&claims.sub)
                .sid(&claims.sid)
                .detail("outcome", "session revoked")
                .emit();
            let until = now + app.config.refresh_ttl.as_secs();
            app.revocations()?
                .revoke_session(&claims.sid, until)
                .await?;
            app.sessions()?.delete(&claims.sub, &claims.sid).await?;
            Err(ApiError::TokenRevoked)
        }
    }
}

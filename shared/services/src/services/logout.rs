//! `DELETE|POST /logout`: revokes the access token and, when given, the session's refresh
//! token (which is checked by the same Authenticator as every other token).

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::ApiError;
use wristband_core::{AuthError, Claims, Requirements};

use super::Message;
use crate::app::App;

pub struct Input {
    /// The caller's access token, verified.
    pub access: Claims,
    /// The body's `refresh_token`, if any (not verified yet).
    pub refresh_token: Option<String>,
    /// End the access token's whole session too: a browser in cookie mode cannot send
    /// its refresh token (an HttpOnly cookie on `Path=/refresh`), so logging out through
    /// the access cookie ends the session its refresh token belongs to.
    pub end_session: bool,
}

pub async fn logout(app: &App, input: Input) -> Result<Message, ApiError> {
    let claims = input.access;
    let refresh = match input.refresh_token.as_deref() {
        None | Some("") => None,
        Some(token) => match app
            .authenticator()?
            .require(Some(token), &Requirements::refresh())
            .await
        {
            Ok(refresh) if refresh.sub == claims.sub => Some(refresh),
            Ok(_) => {
                return Err(ApiError::invalid_request(
                    "Field refresh_token is not this user's refresh token",
                ))
            }
            // Already dead: nothing left to revoke.
            Err(AuthError::Expired | AuthError::Revoked) => None,
            Err(AuthError::Store(err)) => return Err(err.into()),
            Err(_) => {
                return Err(ApiError::invalid_request(
                    "Field refresh_token is not a valid refresh token",
                ))
            }
        },
    };
    app.revocations()?
        .revoke_token(&claims.jti, claims.exp)
        .await?;
    if input.end_session {
        let until = now_secs() + app.config.refresh_ttl.as_secs();
        app.revocations()?
            .revoke_session(&claims.sid, until)
            .await?;
        app.sessions()?.delete(&claims.sub, &claims.sid).await?;
    }
    let refresh_revoked = refresh.is_some();
    if let Some(refresh) = refresh {
        app.revocations()?
            .revoke_token(&refresh.jti, refresh.exp)
            .await?;
        // The session cannot refresh any more: take it off the list.
        app.sessions()?.delete(&refresh.sub, &refresh.sid).await?;
    }
    audit::record(Event::LoggedOut)
        .username(&claims.sub)
        .sid(&claims.sid)
        .flag("refresh_token_revoked", refresh_revoked)
        .emit();
    Ok(Message {
        message: "Access token revoked",
    })
}

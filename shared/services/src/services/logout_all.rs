//! `POST /logout/all`: every token of the user issued before now is refused.

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::ApiError;
use wristband_core::Claims;

use super::Message;
use crate::app::App;

pub struct Input {
    pub access: Claims,
}

pub async fn logout_all(app: &App, input: Input) -> Result<Message, ApiError> {
    let claims = input.access;
    let now = now_secs();
    let until = now + app.config.refresh_ttl.as_secs();
    // The cutoff refuses tokens issued in earlier seconds, ending sessions refuses those
    // of this second too, and a login right after still works.
    app.revocations()?
        .revoke_user_tokens_before(&claims.sub, now, until)
        .await?;
    let sessions = app.sessions()?.list(&claims.sub, now).await?;
    app.ender()?.end_sessions(&sessions).await?;
    if !sessions.iter().any(|s| s.sid == claims.sid) {
        app.revocations()?
            .revoke_session(&claims.sid, until)
            .await?;
    }
    audit::record(Event::LoggedOutEverywhere)
        .username(&claims.sub)
        .sid(&claims.sid)
        .count("sessions_ended", sessions.len() as u64)
        .emit();
    Ok(Message {
        message: "All sessions revoked",
    })
}

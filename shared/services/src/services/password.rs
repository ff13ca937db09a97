//! `POST /password`: needs a fresh token and the old password; ends the other sessions.

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::store::SessionRecord;
use wristband_core::ApiError;
use wristband_core::Claims;

use super::Message;
use crate::app::App;
use crate::password::check_password_policy;

pub struct Input {
    /// A fresh access token, verified.
    pub access: Claims,
    pub old_password: String,
    pub new_password: String,
}

pub async fn change_password(app: &App, input: Input) -> Result<Message, ApiError> {
    let claims = input.access;
    check_password_policy(&input.new_password)?;
    let user = app.users()?.get(&claims.sub).await?;
    let verified = app
        .passwords()?
        .verify(input.old_password, user.map(|u| u.password_hash))
        .await?;
    if !verified {
        audit::record(Event::PasswordChangeFailed)
            .username(&claims.sub)
            .sid(&claims.sid)
            .reason("invalid_credentials")
            .emit();
        return Err(ApiError::InvalidCredentials);
    }
    let hash = app.passwords()?.hash(input.new_password).await?;
    app.users()?.set_password_hash(&claims.sub, &hash).await?;
    let others: Vec<SessionRecord> = app
        .sessions()?
        .list(&claims.sub, now_secs())
        .await?
        .into_iter()
        .filter(|s| s.sid != claims.sid)
        .collect();
    app.ender()?.end_sessions(&others).await?;
    audit::record(Event::PasswordChanged)
        .username(&claims.sub)
        .sid(&claims.sid)
        .count("sessions_ended", others.len() as u64)
        .emit();
    Ok(Message {
        message: "Password changed; other sessions ended",
    })
}

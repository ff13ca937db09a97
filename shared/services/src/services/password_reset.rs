//! `POST /password/forgot` and `POST /password/reset`: a link to a verified address, and
//! a new password that ends every session and logs nobody in.

use std::time::{Duration, Instant};

use wristband_core::audit::{self, Event};
use wristband_core::email::normalise_email;
use wristband_core::store::{ClientInfo, Purpose};
use wristband_core::ApiError;

use super::Message;
use crate::app::App;
use crate::password::check_password_policy;
use crate::services::account::end_every_session;
use crate::services::email::spend_link;
use crate::services::mail::{self, Notice};

/// `/password/forgot` answers no sooner than this after the request arrived, whatever the
/// address: the lookups, the token's writes and the mail to a verified address all fit
/// well inside it (tens of milliseconds), so an unknown, an unverified and a verified
/// address take the same time. Work that overruns it is logged.
pub const FORGOT_FLOOR: Duration = Duration::from_millis(300);

pub const FORGOT_ANSWER: Message = Message {
    message: "If an account has this verified address, a reset link has been sent",
};

pub struct ForgotInput {
    pub email: String,
    pub client: ClientInfo,
}

/// Always the same answer, after the same time; a link goes only to a verified address
/// of an enabled account. A failure of the store or the mail service is logged, not
/// answered (it would tell that the address has an account).
pub async fn forgot(app: &App, input: ForgotInput) -> Result<Message, ApiError> {
    let started = Instant::now();
    let email =
        normalise_email(&input.email).map_err(|why| ApiError::invalid_request(why.to_string()))?;
    let mut record = audit::record(Event::PasswordResetRequested);
    let sent = match send_reset_link(app, &email, input.client.source_ip.as_deref()).await {
        Ok(Some((username, sent))) => {
            record = record.username(&username);
            sent
        }
        Ok(None) => false,
        Err(err) => {
            err.log();
            false
        }
    };
    record.flag("sent", sent).emit();
    let spent = started.elapsed();
    if spent > FORGOT_FLOOR {
        tracing::warn!(
            elapsed_ms = u64::try_from(spent.as_millis()).unwrap_or(u64::MAX),
            "password/forgot overran its time floor"
        );
    }
    tokio::time::sleep(FORGOT_FLOOR.saturating_sub(spent)).await;
    Ok(FORGOT_ANSWER)
}

/// The account of the address, if any, and whether a link went out.
async fn send_reset_link(
    app: &App,
    email: &str,
    source_ip: Option<&str>,
) -> Result<Option<(String, bool)>, ApiError> {
    let Some(user) = app.accounts()?.find_by_email(email).await? else {
        return Ok(None);
    };
    if !user.email_verified || user.disabled {
        return Ok(Some((user.username, false)));
    }
    let link = mail::send_link(
        app,
        Purpose::ResetPassword,
        &user.username,
        email,
        source_ip,
    )
    .await?;
    Ok(Some((user.username, link == mail::Link::Sent)))
}

pub struct ResetInput {
    pub token: String,
    pub new_password: String,
}

pub const RESET_DONE: Message = Message {
    message: "Password changed; all sessions ended",
};

/// The new password must pass the rules first (a weak one leaves the link unspent); then
/// the link is spent, the password replaced, every token issued before now refused, and
/// a notice sent. Nobody is logged in.
pub async fn reset(app: &App, input: ResetInput) -> Result<Message, ApiError> {
    check_password_policy(&input.new_password)?;
    let token = spend_link(app, &input.token, &[Purpose::ResetPassword]).await?;
    let Some(user) = app.users()?.get(&token.username).await? else {
        return Err(ApiError::InvalidCode);
    };
    let hash = app.passwords()?.hash(input.new_password).await?;
    app.users()?
        .set_password_hash(&user.username, &hash)
        .await?;
    let ended = end_every_session(app, &user.username).await?;
    audit::record(Event::PasswordReset)
        .username(&user.username)
        .count("sessions_ended", ended as u64)
        .emit();
    let to = user.email.as_deref().unwrap_or(&token.email);
    mail::notify(app, &user.username, to, Notice::PasswordChanged).await?;
    Ok(RESET_DONE)
}

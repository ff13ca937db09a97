//! `GET /account` and `DELETE /account`, and what the account flows share: the account as
//! its owner and administrators see it, and ending every session of an account.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::store::UserRecord;
use wristband_core::{ApiError, Claims};

use crate::app::App;
use crate::services::mail::{self, Notice};

/// `GET /account`'s answer: the account as its owner sees it (never a hash or secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: u64,
    pub roles: Vec<String>,
    /// Second factors (`["totp"]` or none): none until TOTP exists.
    pub mfa: Vec<&'static str>,
    /// Registered passkeys.
    pub passkeys: u64,
}

impl AccountView {
    pub fn of(user: &UserRecord) -> Self {
        Self {
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            created_at: user.created_at,
            roles: user.roles.clone(),
            mfa: if user.totp.is_some() {
                vec!["totp"]
            } else {
                Vec::new()
            },
            passkeys: user.passkeys.len() as u64,
        }
    }
}

/// An administrator's view: the account's and `disabled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    #[serde(flatten)]
    pub account: AccountView,
    pub disabled: bool,
}

impl UserView {
    pub fn of(user: &UserRecord) -> Self {
        Self {
            account: AccountView::of(user),
            disabled: user.disabled,
        }
    }
}

/// Refuses every token of the account issued before now, also those of this second:
/// the user's cutoff refuses earlier seconds, ending each session (at most the cap's
/// worth) refuses its tokens whenever issued. A login after this works at once. The
/// number of sessions ended.
pub async fn end_every_session(app: &App, username: &str) -> Result<usize, ApiError> {
    let now = now_secs();
    let until = now + app.config.refresh_ttl.as_secs();
    app.revocations()?
        .revoke_user_tokens_before(username, now, until)
        .await?;
    let sessions = app.sessions()?.list(username, now).await?;
    app.ender()?.end_sessions(&sessions).await?;
    Ok(sessions.len())
}

pub async fn get(app: &App, access: Claims) -> Result<AccountView, ApiError> {
    let user = app
        .users()?
        .get(&access.sub)
        .await?
        // A valid token of an account deleted since (in the same second) has nothing to show.
        .ok_or(ApiError::TokenRevoked)?;
    Ok(AccountView::of(&user))
}

pub struct DeleteInput {
    /// A fresh access token, verified.
    pub access: Claims,
    pub password: String,
}

/// `DELETE /account`: the password again; then the account, its address, sessions and
/// links are gone, its tokens refused, and a notice goes to its address.
pub async fn delete(app: &App, input: DeleteInput) -> Result<(), ApiError> {
    let claims = input.access;
    let user = app.users()?.get(&claims.sub).await?;
    let verified = app
        .passwords()?
        .verify(
            input.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let Some(user) = user.filter(|_| verified) else {
        audit::record(Event::ReauthenticationFailed)
            .username(&claims.sub)
            .sid(&claims.sid)
            .detail("action", "delete_account")
            .reason("invalid_credentials")
            .emit();
        return Err(ApiError::InvalidCredentials);
    };
    delete_account(app, &user).await?;
    audit::record(Event::AccountDeleted)
        .username(&user.username)
        .sid(&claims.sid)
        .emit();
    Ok(())
}

/// Removes everything of the account, tokens refused first (so a failure part-way leaves
/// an account that can be deleted again, never a deleted one whose tokens work), then a
/// notice to its address. Shared with the administrators' delete.
pub async fn delete_account(app: &App, user: &UserRecord) -> Result<(), ApiError> {
    end_every_session(app, &user.username).await?;
    app.one_time_tokens()?.remove_all(&user.username).await?;
    app.accounts()?.delete(&user.username).await?;
    if let Some(email) = &user.email {
        mail::notify(app, &user.username, email, Notice::AccountDeleted).await?;
    }
    Ok(())
}

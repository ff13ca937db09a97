//! `POST /login`: the same answer, and one argon2 verification, for an unknown user and a
//! wrong password.

use wristband_core::ids::{now_secs, random_id};
use wristband_core::store::{ClientInfo, SessionRecord};
use wristband_core::tokens::Subject;
use wristband_http::ApiError;

use super::TokenResponse;
use crate::app::App;
use crate::password::MAX_PASSWORD_CHARS;
use crate::services::register::normalise_username;

pub struct Input {
    pub username: String,
    pub password: String,
    pub client: ClientInfo,
}

pub async fn login(app: &App, input: Input) -> Result<TokenResponse, ApiError> {
    let username = normalise_username(&input.username);
    let user = match &username {
        Some(name) if input.password.chars().count() <= MAX_PASSWORD_CHARS => {
            app.users.get(name).await?
        }
        _ => None,
    };
    let now = now_secs();
    if let Some(user) = &user {
        if user.locked_until > now {
            return Err(ApiError::TooManyAttempts {
                retry_after_secs: user.locked_until - now,
            });
        }
    }
    let verified = app
        .passwords
        .verify(
            input.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let user = match user {
        Some(user) if verified => user,
        Some(user) => {
            let locked = app
                .users
                .record_failed_login(&user.username, now, app.config.lockout)
                .await?;
            if locked.is_some() {
                tracing::warn!(username = %user.username, "login locked after repeated failures");
            }
            return Err(ApiError::InvalidCredentials);
        }
        None => return Err(ApiError::InvalidCredentials),
    };
    if user.failed_logins > 0 || user.locked_until > 0 {
        app.users.clear_failed_logins(&user.username).await?;
    }

    let sid = random_id().map_err(ApiError::Internal)?;
    let pair = app
        .issuer()?
        .issue_token_pair(
            Subject {
                username: &user.username,
                roles: &user.roles,
                sid: &sid,
            },
            true,
            now,
        )
        .map_err(ApiError::Internal)?;
    app.sessions
        .create(&SessionRecord {
            username: user.username.clone(),
            sid,
            created_at: now,
            last_refreshed_at: now,
            expires_at: pair.refresh.exp,
            user_agent: input.client.user_agent,
            source_ip: input.client.source_ip,
            refresh_jti: pair.refresh.jti.clone(),
        })
        .await?;
    TokenResponse::new(app, pair)
}

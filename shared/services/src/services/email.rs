//! `POST /email/verification`, `POST /email/verify` and `PUT /email`: an account's
//! address is verified by spending an emailed link, and changes only then.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::email::normalise_email;
use wristband_core::ids::now_secs;
use wristband_core::onetime::{is_plausible_token, token_hash};
use wristband_core::store::{ClientInfo, EmailChange, OneTimeToken, Purpose};
use wristband_core::{ApiError, Claims};

use super::Message;
use crate::app::App;
use crate::services::mail::{self, Notice};

pub const VERIFICATION_SENT: Message = Message {
    message: "Verification email sent",
};

/// What `POST /email/verification` did.
#[derive(Debug)]
pub enum Verification {
    /// `202`: a link is on its way (or, over the mail limits, silently not).
    Sent(Message),
    /// `200`: the address is verified already.
    AlreadyVerified(Verified),
}

/// `POST /email/verify`'s answer, and `POST /email/verification`'s for a verified address.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Verified {
    pub email: String,
    pub email_verified: bool,
}

pub struct RequestInput {
    pub access: Claims,
    pub client: ClientInfo,
}

pub async fn request_verification(
    app: &App,
    input: RequestInput,
) -> Result<Verification, ApiError> {
    let user = app
        .users()?
        .get(&input.access.sub)
        .await?
        .ok_or(ApiError::TokenRevoked)?;
    let Some(email) = user.email else {
        return Err(ApiError::invalid_request(
            "The account has no email address",
        ));
    };
    if user.email_verified {
        return Ok(Verification::AlreadyVerified(Verified {
            email,
            email_verified: true,
        }));
    }
    let link = mail::send_link(
        app,
        Purpose::VerifyEmail,
        &user.username,
        &email,
        input.client.source_ip.as_deref(),
    )
    .await?;
    if link == mail::Link::Sent {
        audit::record(Event::EmailVerificationSent)
            .username(&user.username)
            .detail("purpose", Purpose::VerifyEmail.name())
            .emit();
    }
    Ok(Verification::Sent(VERIFICATION_SENT))
}

/// Spends a link's token of one of `purposes`: the token, or `400 invalid_code` for one
/// that is malformed, unknown, expired, replaced or spent.
pub async fn spend_link(
    app: &App,
    token: &str,
    purposes: &[Purpose],
) -> Result<OneTimeToken, ApiError> {
    let spent = if is_plausible_token(token) {
        app.one_time_tokens()?
            .spend(&token_hash(token), purposes, now_secs())
            .await?
    } else {
        None
    };
    spent.ok_or_else(|| {
        audit::record(Event::InvalidCodeRefused)
            .detail("purpose", purposes.first().map_or("", |p| p.name()))
            .emit();
        ApiError::InvalidCode
    })
}

pub struct VerifyInput {
    pub token: String,
}

/// `POST /email/verify`: a verification link marks the address verified; an address
/// change link moves the account to the new address (verified), frees the old one and
/// sends it a notice.
pub async fn verify(app: &App, input: VerifyInput) -> Result<Verified, ApiError> {
    let token = spend_link(
        app,
        &input.token,
        &[Purpose::VerifyEmail, Purpose::ChangeEmail],
    )
    .await?;
    let refused = || {
        audit::record(Event::InvalidCodeRefused)
            .username(&token.username)
            .detail("purpose", token.purpose.name())
            .reason("address_changed")
            .emit();
        ApiError::InvalidCode
    };
    match token.purpose {
        Purpose::ChangeEmail => {
            let before = app.users()?.get(&token.username).await?;
            match app
                .accounts()?
                .change_email(&token.username, &token.email)
                .await?
            {
                EmailChange::Changed => {}
                EmailChange::Taken => return Err(ApiError::EmailTaken),
                EmailChange::NoUser => return Err(refused()),
            }
            audit::record(Event::EmailChanged)
                .username(&token.username)
                .emit();
            if let Some(old) = before
                .and_then(|u| u.email)
                .filter(|old| *old != token.email)
            {
                mail::notify(
                    app,
                    &token.username,
                    &old,
                    Notice::EmailChanged {
                        new_email: &token.email,
                    },
                )
                .await?;
            }
        }
        _ => {
            if !app
                .accounts()?
                .mark_email_verified(&token.username, &token.email)
                .await?
            {
                return Err(refused());
            }
            audit::record(Event::EmailVerified)
                .username(&token.username)
                .emit();
        }
    }
    Ok(Verified {
        email: token.email,
        email_verified: true,
    })
}

pub struct ChangeInput {
    /// A fresh access token, verified.
    pub access: Claims,
    pub email: String,
    pub password: String,
    pub client: ClientInfo,
}

/// `PUT /email`: the password again, then a link to the new address; the account keeps
/// its address until that link is spent.
pub async fn change(app: &App, input: ChangeInput) -> Result<Message, ApiError> {
    let claims = input.access;
    let email =
        normalise_email(&input.email).map_err(|why| ApiError::invalid_request(why.to_string()))?;
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
            .detail("action", "change_email")
            .reason("invalid_credentials")
            .emit();
        return Err(ApiError::InvalidCredentials);
    };
    if user.email.as_deref() == Some(email.as_str()) {
        return Err(ApiError::invalid_request(
            "email is already the account's address",
        ));
    }
    if app
        .accounts()?
        .find_by_email(&email)
        .await?
        .is_some_and(|holder| holder.username != user.username)
    {
        return Err(ApiError::EmailTaken);
    }
    let link = mail::send_link(
        app,
        Purpose::ChangeEmail,
        &user.username,
        &email,
        input.client.source_ip.as_deref(),
    )
    .await?;
    if link == mail::Link::Sent {
        audit::record(Event::EmailVerificationSent)
            .username(&user.username)
            .detail("purpose", Purpose::ChangeEmail.name())
            .emit();
    }
    Ok(VERIFICATION_SENT)
}

//! `POST /register`: a new user with an argon2id hash; never overwrites.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::email::normalise_email;
use wristband_core::ids::{now_secs, random_id};
use wristband_core::store::{ClientInfo, Created, Purpose, UserRecord};
use wristband_core::ApiError;

use crate::app::App;
use crate::password::check_password_policy;
use crate::services::mail;

pub struct Input {
    pub username: String,
    pub password: String,
    /// Optional unless `EMAIL_REQUIRED=true`.
    pub email: Option<String>,
    pub client: ClientInfo,
}

#[derive(Debug, Serialize)]
pub struct Output {
    /// Lower-cased.
    pub username: String,
}

pub async fn register(app: &App, input: Input) -> Result<Output, ApiError> {
    let username = normalise_username(&input.username).ok_or_else(|| {
        ApiError::invalid_request(
            "Field username must be 3 to 64 characters of letters, digits and ._@-",
        )
    })?;
    let email = match input.email {
        Some(email) => Some(
            normalise_email(&email).map_err(|why| ApiError::invalid_request(why.to_string()))?,
        ),
        None if app.config.mail.email_required => {
            return Err(ApiError::invalid_request("Missing email parameter"))
        }
        None => None,
    };
    check_password_policy(&input.password)?;
    let password_hash = app.passwords()?.hash(input.password).await?;
    let user = UserRecord {
        username,
        password_hash,
        created_at: now_secs(),
        roles: Vec::new(),
        // This request's own id: the store's retry of a write that landed finds it and
        // answers 201, where someone else's registration is a 409.
        creation_id: random_id().map_err(ApiError::Internal)?,
        email,
        email_verified: false,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    };
    match app.registry()?.create(&user).await? {
        Created::Created => {}
        Created::UsernameTaken => return Err(ApiError::UsernameTaken),
        Created::EmailTaken => return Err(ApiError::EmailTaken),
    }
    audit::record(Event::UserRegistered)
        .username(&user.username)
        .flag("email", user.email.is_some())
        .emit();
    if let Some(email) = &user.email {
        match mail::send_link(
            app,
            Purpose::VerifyEmail,
            &user.username,
            email,
            input.client.source_ip.as_deref(),
        )
        .await
        {
            Ok(mail::Link::Sent) => audit::record(Event::EmailVerificationSent)
                .username(&user.username)
                .detail("purpose", Purpose::VerifyEmail.name())
                .emit(),
            Ok(mail::Link::Throttled) => {}
            // The account exists now: an outage of the store or the mail service does not
            // undo it (the owner asks for another link with `POST /email/verification`).
            Err(err @ ApiError::ServiceUnavailable(_)) => err.log(),
            Err(err) => return Err(err),
        }
    }
    Ok(Output {
        username: user.username,
    })
}

/// 3 to 64 characters of ASCII letters, digits and `._@-`, lower-cased; `None` otherwise.
pub fn normalise_username(username: &str) -> Option<String> {
    let valid = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    valid.then(|| username.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalise_username("Alice").as_deref(), Some("alice"));
        assert_eq!(
            normalise_username("a.b_c@d-e").as_deref(),
            Some("a.b_c@d-e")
        );
        for bad in ["ab", "", "has space", "émile", "a/b", &"x".repeat(65)] {
            assert_eq!(normalise_username(bad), None, "{bad}");
        }
        assert!(normalise_username(&"x".repeat(64)).is_some());
    }
}

//! `POST /register`: a new user with an argon2id hash; never overwrites.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::ids::{now_secs, random_id};
use wristband_core::store::{Created, UserRecord};
use wristband_core::ApiError;

use crate::app::App;
use crate::password::check_password_policy;

pub struct Input {
    pub username: String,
    pub password: String,
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
        email: None,
        email_verified: false,
        disabled: false,
    };
    match app.users()?.create(&user).await? {
        Created::Created => {}
        Created::UsernameTaken => return Err(ApiError::UsernameTaken),
        Created::EmailTaken => return Err(ApiError::EmailTaken),
    }
    audit::record(Event::UserRegistered)
        .username(&user.username)
        .emit();
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

//! `POST /login`: the same answer, and one argon2 verification, for an unknown user and a
//! wrong password; throttled per username and source address (API.md "Login throttling");
//! at most `MAX_SESSIONS_PER_USER` sessions per account (API.md "Sessions per account").

use wristband_core::audit::{self, Event};
use wristband_core::ids::{now_millis, random_id};
use wristband_core::onetime::new_token;
use wristband_core::store::{
    throttle_key, ClientInfo, FailureCount, MfaChallenge, SessionRecord, UserRecord,
};
use wristband_core::tokens::Subject;
use wristband_core::ApiError;

use super::TokenResponse;
use crate::app::App;
use crate::password::MAX_PASSWORD_CHARS;
use crate::services::register::normalise_username;

pub struct Input {
    pub username: String,
    pub password: String,
    pub client: ClientInfo,
}

/// Whole seconds until `until_ms`, at least 1 (the `Retry-After` of a 429).
fn retry_after_secs(until_ms: u64, now_ms: u64) -> u64 {
    until_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
}

pub(crate) fn throttled(username: &str, until_ms: u64, now_ms: u64) -> ApiError {
    let retry_after_secs = retry_after_secs(until_ms, now_ms);
    audit::record(Event::LoginThrottled)
        .username(username)
        .count("retry_after_secs", retry_after_secs)
        .emit();
    ApiError::TooManyAttempts { retry_after_secs }
}

pub async fn login(app: &App, input: Input) -> Result<TokenResponse, ApiError> {
    let now_ms = now_millis();
    let now = now_ms / 1000;
    let username = normalise_username(&input.username);
    // Known and unknown names are throttled alike (their counts live apart from users),
    // so a 429 does not tell which names exist. Names that break the username rule can
    // never exist and are always a plain 401.
    let key = username
        .as_deref()
        .map(|name| throttle_key(name, input.client.source_ip.as_deref()));
    // The throttling state and the user are independent reads: one round trip for both.
    // A throttled attempt is refused before the password is looked at, user or not.
    let (throttle_store, users, sessions) = (app.throttle()?, app.users()?, app.sessions()?);
    let throttle_state = async {
        match &key {
            Some(key) => throttle_store.state(key, now_ms).await,
            None => Ok(None),
        }
    };
    let user_lookup = async {
        match &username {
            Some(name) if input.password.chars().count() <= MAX_PASSWORD_CHARS => {
                users.get(name).await
            }
            _ => Ok(None),
        }
    };
    // The account's live sessions, for the cap: in the same round trip, so a login costs
    // no extra wait for it, and every attempt (known name or not) costs the same.
    let live_sessions = async {
        match &username {
            Some(name) => sessions.list(name, now).await,
            None => Ok(Vec::new()),
        }
    };
    let (throttle, user, live_sessions) =
        tokio::try_join!(throttle_state, user_lookup, live_sessions)?;
    if let (Some(state), Some(name)) = (&throttle, &username) {
        if state.blocks(now_ms) {
            return Err(throttled(name, state.blocked_until_ms, now_ms));
        }
    }
    let verified = app
        .passwords()?
        .verify(
            input.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            let mut record = audit::record(Event::LoginFailed).reason("invalid_credentials");
            if let (Some(key), Some(name)) = (&key, &username) {
                match app
                    .throttle()?
                    .record_failure(key, now_ms, &app.config.throttle)
                    .await?
                {
                    FailureCount::AlreadyBlocked { until_ms } => {
                        return Err(throttled(name, until_ms, now_ms));
                    }
                    FailureCount::Counted { failures, .. } => {
                        record = record.username(name).count("failures", failures.into());
                    }
                }
            }
            record.emit();
            return Err(ApiError::InvalidCredentials);
        }
    };
    if user.disabled {
        audit::record(Event::LoginFailed)
            .username(&user.username)
            .reason("account_disabled")
            .emit();
        return Err(ApiError::AccountDisabled);
    }
    if user.totp.is_some() {
        // The second step decides; a right password alone resets no throttling count.
        return Err(mfa_required(app, &user, now).await?);
    }
    if let (Some(key), Some(_)) = (&key, throttle) {
        app.throttle()?.reset(key).await?;
    }
    complete_login(app, &user, &[PWD], input.client, live_sessions, now).await
}

/// `amr` values (RFC 8176).
pub const PWD: &str = "pwd";
pub const OTP: &str = "otp";
pub const MFA: &str = "mfa";

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_SECS: u64 = 300;

/// The `401 mfa_required` of a right password on an account with a factor: a new
/// `mfa_token` (stored as its hash) and the methods the second step takes.
async fn mfa_required(app: &App, user: &UserRecord, now: u64) -> Result<ApiError, ApiError> {
    let username = user.username.as_str();
    let random = new_token().map_err(ApiError::Internal)?;
    let mfa_token = wristband_core::mfa::mfa_token(&random.token, username);
    app.mfa_challenges()?
        .create(
            &wristband_core::onetime::token_hash(&mfa_token),
            &MfaChallenge {
                username: username.to_owned(),
                expires_at: now + MFA_TOKEN_SECS,
                failures: 0,
            },
        )
        .await?;
    audit::record(Event::MfaRequired).username(username).emit();
    Ok(ApiError::MfaRequired {
        mfa_token,
        methods: if user.passkeys.is_empty() {
            vec!["totp", "recovery_code"]
        } else {
            vec!["totp", "recovery_code", "passkey"]
        },
    })
}

/// The end of every login: room under the session cap, a new session, a fresh token pair
/// carrying `amr`.
pub(crate) async fn complete_login(
    app: &App,
    user: &UserRecord,
    amr: &[&str],
    client: ClientInfo,
    live_sessions: Vec<SessionRecord>,
    now: u64,
) -> Result<TokenResponse, ApiError> {
    // Make room before any token exists: an eviction that fails fails the login (503),
    // and a login never fails after handing out tokens.
    evict_least_recently_used(app, &user.username, live_sessions).await?;

    let sid = random_id().map_err(ApiError::Internal)?;
    let amr: Vec<String> = amr.iter().map(|m| (*m).to_owned()).collect();
    let pair = app
        .issuer()?
        .issue_token_pair(
            Subject {
                username: &user.username,
                roles: &user.roles,
                sid: &sid,
                amr: &amr,
            },
            true,
            now,
        )
        .map_err(ApiError::Internal)?;
    app.sessions()?
        .create(&SessionRecord {
            username: user.username.clone(),
            sid: sid.clone(),
            created_at: now,
            last_refreshed_at: now,
            expires_at: pair.refresh.exp,
            user_agent: client.user_agent,
            source_ip: client.source_ip,
            refresh_jti: pair.refresh.jti.clone(),
        })
        .await?;
    audit::record(Event::LoginSucceeded)
        .username(&user.username)
        .sid(&sid)
        .flag("mfa", amr.iter().any(|m| m == MFA))
        .emit();
    TokenResponse::new(app, pair)
}

/// Ends the least recently used of `live` (oldest `last_refreshed_at`, then `created_at`)
/// so that one more session fits under the cap, through the one session ending (each
/// revoked before it leaves the list).
async fn evict_least_recently_used(
    app: &App,
    username: &str,
    mut live: Vec<SessionRecord>,
) -> Result<(), ApiError> {
    let cap = app.config.max_sessions_per_user.max(1);
    if live.len() < cap {
        return Ok(());
    }
    live.sort_by(|a, b| a.recency().cmp(&b.recency()));
    let evicted = &live[..live.len() + 1 - cap];
    app.ender()?.end_sessions(evicted).await?;
    for session in evicted {
        audit::record(Event::SessionEvicted)
            .username(username)
            .sid(&session.sid)
            .reason("session_cap")
            .emit();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(1_000, 0), 1);
        assert_eq!(retry_after_secs(1_001, 0), 2);
        assert_eq!(retry_after_secs(5_000, 4_999), 1);
        assert_eq!(retry_after_secs(900_000, 0), 900);
        assert_eq!(retry_after_secs(0, 10), 1);
    }
}

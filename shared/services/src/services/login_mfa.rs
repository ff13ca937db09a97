//! `POST /login/mfa`: the second step of a login on an account with a factor. The
//! `mfa_token` names the login (five minutes, one login, dead after five wrong codes);
//! the code is a TOTP code (accepted once per time step) or a recovery code (once).
//! Wrong codes count as failed logins for the account's throttling, and a wait that runs
//! answers `429` before the code is looked at.

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_millis;
use wristband_core::mfa::mfa_token_username;
use wristband_core::onetime::token_hash;
use wristband_core::store::{throttle_key, ClientInfo, FailureCount};
use wristband_core::ApiError;

use super::TokenResponse;
use crate::app::App;
use crate::services::login::{complete_login, throttled, MFA, OTP, PWD};
use crate::services::mfa::{candidate, spend, Accept};

pub struct Input {
    pub mfa_token: String,
    pub code: String,
    pub client: ClientInfo,
}

fn failed(username: Option<&str>, reason: &'static str) -> ApiError {
    let mut record = audit::record(Event::MfaFailed).reason(reason);
    if let Some(username) = username {
        record = record.username(username);
    }
    record.emit();
    ApiError::MfaFailed
}

pub async fn login_mfa(app: &App, input: Input) -> Result<TokenResponse, ApiError> {
    let now_ms = now_millis();
    let now = now_ms / 1000;
    // The token names its account: the login, the account, its throttling and its
    // sessions are read in one round trip.
    let Some(username) = mfa_token_username(&input.mfa_token) else {
        return Err(failed(None, "mfa_token"));
    };
    let hash = token_hash(&input.mfa_token);
    let key = throttle_key(username, input.client.source_ip.as_deref());
    let (challenge, throttle, user, live_sessions) = tokio::try_join!(
        app.mfa_challenges()?.get(&hash, now),
        app.throttle()?.state(&key, now_ms),
        app.users()?.get(username),
        app.sessions()?.list(username, now),
    )?;
    if challenge.is_none_or(|c| c.username != username) {
        return Err(failed(None, "mfa_token"));
    }
    if let Some(state) = throttle.filter(|s| s.blocks(now_ms)) {
        return Err(throttled(username, state.blocked_until_ms, now_ms));
    }
    let Some(user) = user else {
        return Err(failed(Some(username), "no_account"));
    };
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let candidate = candidate(app, &user, &input.code, Accept::TotpOrRecovery, now)?;
    // A right code and the mfa_token are spent together (one round trip): of two logins
    // racing with one code, or with one mfa_token, one gets tokens. A code replayed by
    // the loser of such a race has spent its mfa_token too: it logs in again.
    let spent = match &candidate {
        Some(candidate) => {
            let challenges = app.mfa_challenges()?;
            let (proof, token_spent) = tokio::try_join!(spend(app, username, candidate), async {
                Ok::<_, ApiError>(challenges.spend(&hash, now).await?)
            })?;
            if proof.is_some() && !token_spent {
                return Err(failed(Some(username), "mfa_token"));
            }
            proof.is_some()
        }
        None => false,
    };
    if !spent {
        let (_, counted) = tokio::try_join!(
            app.mfa_challenges()?.record_failure(&hash),
            app.throttle()?
                .record_failure(&key, now_ms, &app.config.throttle),
        )?;
        if let FailureCount::AlreadyBlocked { until_ms } = counted {
            return Err(throttled(username, until_ms, now_ms));
        }
        return Err(failed(Some(username), "invalid_code"));
    }
    if throttle.is_some() {
        app.throttle()?.reset(&key).await?;
    }
    complete_login(
        app,
        &user,
        &[PWD, OTP, MFA],
        input.client,
        live_sessions,
        now,
    )
    .await
}

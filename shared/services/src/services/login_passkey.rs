//! `POST /login/passkey/options` and `POST /login/passkey`: a complete login with a
//! discoverable passkey. The options are the same for every caller (no username is looked
//! at, so they tell nothing about accounts); the credential finds its account.
//!
//! Every refusal is `401 invalid_credentials`; one of a known credential counts as a failed
//! login for its account's throttling, and a wait that runs answers `429` before the
//! signature is looked at.

use serde_json::{json, Value};
use wristband_core::audit::{self, Event};
use wristband_core::ids::now_millis;
use wristband_core::onetime::{is_plausible_token, new_token, token_hash};
use wristband_core::store::{
    throttle_key, ClientInfo, FailureCount, WebauthnChallenge, WebauthnPurpose,
};
use wristband_core::webauthn::{b64url, b64url_decode, Assertion, PublicKey, CHALLENGE_BYTES};
use wristband_core::ApiError;

use super::TokenResponse;
use crate::app::App;
use crate::services::login::{complete_login, throttled, MFA};
use crate::services::passkeys::{random_bytes, Options, CHALLENGE_SECS};

/// `amr` of a hardware-bound key (RFC 8176).
pub const HWK: &str = "hwk";

/// Request options with a new challenge, kept under the hash of a new `challenge_id`.
pub async fn options(app: &App) -> Result<Options, ApiError> {
    let rp = app.relying_party()?;
    let challenge = random_bytes::<CHALLENGE_BYTES>()?;
    let id = new_token().map_err(ApiError::Internal)?;
    app.webauthn_challenges()?
        .create(
            &id.hash,
            &WebauthnChallenge {
                purpose: WebauthnPurpose::Login,
                challenge: b64url(&challenge),
                username: None,
                user_handle: None,
                expires_at: now_millis() / 1000 + CHALLENGE_SECS,
            },
        )
        .await?;
    Ok(Options {
        public_key: json!({
            "challenge": b64url(&challenge),
            "timeout": CHALLENGE_SECS * 1000,
            "rpId": rp.id,
            "allowCredentials": [],
            "userVerification": "preferred",
        }),
        challenge_id: Some(id.token),
    })
}

pub struct Input {
    pub challenge_id: String,
    /// `PublicKeyCredential.toJSON()` of `navigator.credentials.get()`.
    pub credential: Value,
    /// The `mfa_token` of a password step this passkey answers: spent with the login.
    pub mfa_token: Option<String>,
    pub client: ClientInfo,
}

fn failed(username: Option<&str>, reason: &'static str) -> ApiError {
    let mut record = audit::record(Event::LoginFailed)
        .reason("invalid_credentials")
        .detail("method", "passkey")
        .detail("message", reason);
    if let Some(username) = username {
        record = record.username(username);
    }
    record.emit();
    ApiError::InvalidCredentials
}

pub async fn login(app: &App, input: Input) -> Result<TokenResponse, ApiError> {
    let rp = app.relying_party()?;
    let now_ms = now_millis();
    let now = now_ms / 1000;
    if !is_plausible_token(&input.challenge_id) {
        return Err(failed(None, "challenge_id"));
    }
    let assertion = Assertion::parse(&input.credential).map_err(|e| failed(None, e.message()))?;
    // Spent first: whatever follows, this challenge has had its one use.
    let Some(challenge) = app
        .webauthn_challenges()?
        .take(
            &token_hash(&input.challenge_id),
            WebauthnPurpose::Login,
            None,
            now,
        )
        .await?
    else {
        return Err(failed(
            None,
            "credential: challenge unknown, spent or expired",
        ));
    };
    let challenge = b64url_decode(&challenge.challenge, "stored challenge")
        .map_err(|e| ApiError::internal(e.message()))?;
    let credential_id = b64url(&assertion.credential_id);
    let Some(passkey) = app.passkeys()?.get(&credential_id).await? else {
        return Err(failed(None, "credential: unknown"));
    };
    let username = passkey.username.as_str();
    let key = throttle_key(username, input.client.source_ip.as_deref());
    let (throttle, user, live_sessions) = tokio::try_join!(
        app.throttle()?.state(&key, now_ms),
        app.users()?.get(username),
        app.sessions()?.list(username, now),
    )?;
    if let Some(state) = throttle.filter(|s| s.blocks(now_ms)) {
        return Err(throttled(username, state.blocked_until_ms, now_ms));
    }
    let public_key = PublicKey::from_stored(passkey.algorithm, &passkey.public_key)
        .map_err(|e| ApiError::internal(e.message()))?;
    let handle = b64url_decode(&passkey.user_handle, "stored user handle")
        .map_err(|e| ApiError::internal(e.message()))?;
    let verified = rp.verify_assertion(
        &assertion,
        &challenge,
        &public_key,
        &handle,
        passkey.sign_count,
    );
    // The counter moves only from what was read: of two logins racing with one counter
    // value, one stores it and the other is refused like a counter that went back.
    let outcome = match verified {
        Ok(v) => {
            let stored = app
                .passkeys()?
                .record_use(&credential_id, passkey.sign_count, v.sign_count, now)
                .await?;
            if stored {
                Ok(v)
            } else {
                Err("credential: signature counter did not increase")
            }
        }
        Err(e) => Err(e.message()),
    };
    let verified = match outcome {
        Ok(v) => v,
        Err(reason) => {
            if let FailureCount::AlreadyBlocked { until_ms } = app
                .throttle()?
                .record_failure(&key, now_ms, &app.config.throttle)
                .await?
            {
                return Err(throttled(username, until_ms, now_ms));
            }
            return Err(failed(Some(username), reason));
        }
    };
    let Some(user) = user.filter(|u| u.passkeys.contains(&credential_id)) else {
        return Err(failed(Some(username), "credential: no account"));
    };
    if user.disabled {
        audit::record(Event::LoginFailed)
            .username(username)
            .reason("account_disabled")
            .emit();
        return Err(ApiError::AccountDisabled);
    }
    // A passkey answers the second step of a password login too: its mfa_token is done.
    if let Some(token) = input
        .mfa_token
        .as_deref()
        .filter(|t| wristband_core::mfa::mfa_token_username(t) == Some(username))
    {
        app.mfa_challenges()?.spend(&token_hash(token), now).await?;
    }
    if throttle.is_some() {
        app.throttle()?.reset(&key).await?;
    }
    let amr: &[&str] = if verified.user_verified {
        &[HWK, MFA]
    } else {
        &[HWK]
    };
    complete_login(app, &user, amr, input.client, live_sessions, now).await
}

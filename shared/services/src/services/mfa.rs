//! `POST /mfa/totp`, `POST /mfa/totp/confirm`, `POST /mfa/recovery-codes` and `DELETE
//! /mfa/totp` (fresh access tokens), and the one check of a second-factor code.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::mfa::{
    base32, is_totp_code, matching_step, new_recovery_codes, new_secret, normalise_recovery_code,
    otpauth_uri, MfaKey,
};
use wristband_core::store::UserRecord;
use wristband_core::{ApiError, Claims};

use super::Message;
use crate::app::App;

/// Which codes a step takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    TotpOnly,
    TotpOrRecovery,
}

/// What a code proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// A code that matches the account's factor, not yet spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A TOTP code of this time step, later than the last one used.
    Totp { step: u64 },
    /// A recovery code, as stored.
    RecoveryCode { hash: String },
}

/// What `code` would prove for the account's active factor, checked without a store:
/// `None` for a wrong code, a TOTP code of a step already used, a recovery code already
/// spent, the wrong kind of code, or an account without a factor.
pub fn candidate(
    app: &App,
    user: &UserRecord,
    code: &str,
    accept: Accept,
    now: u64,
) -> Result<Option<Candidate>, ApiError> {
    let Some(factor) = &user.totp else {
        return Ok(None);
    };
    let key = app.mfa_key()?;
    if is_totp_code(code) {
        let secret = key
            .open(&user.username, &factor.sealed_secret)
            .map_err(ApiError::internal)?;
        return Ok(matching_step(&secret, code, now)
            .filter(|step| *step > factor.last_step)
            .map(|step| Candidate::Totp { step }));
    }
    if accept == Accept::TotpOnly {
        return Ok(None);
    }
    Ok(normalise_recovery_code(code)
        .map(|normal| key.recovery_code_hash(&user.username, &normal))
        // Unused as of the account's read: only a concurrent use can still beat it.
        .filter(|hash| user.recovery_codes.contains(hash))
        .map(|hash| Candidate::RecoveryCode { hash }))
}

/// Spends a candidate: a TOTP code's time step moves the factor's last used step forward
/// (a conditional write: once, also under concurrency), a recovery code leaves the set.
/// `None` when another use came first.
pub async fn spend(
    app: &App,
    username: &str,
    candidate: &Candidate,
) -> Result<Option<Proof>, ApiError> {
    match candidate {
        Candidate::Totp { step } => {
            let used = app.mfa()?.use_totp_step(username, *step).await?;
            Ok(used.then_some(Proof::Totp))
        }
        Candidate::RecoveryCode { hash } => {
            if !app.mfa()?.use_recovery_code(username, hash).await? {
                return Ok(None);
            }
            audit::record(Event::RecoveryCodeUsed)
                .username(username)
                .emit();
            Ok(Some(Proof::RecoveryCode))
        }
    }
}

/// Checks `code` against the account's active factor and spends it ([`candidate`], then
/// [`spend`]). `None` for a wrong, replayed or spent code, or an account without a factor.
pub async fn check_code(
    app: &App,
    user: &UserRecord,
    code: &str,
    accept: Accept,
    now: u64,
) -> Result<Option<Proof>, ApiError> {
    match candidate(app, user, code, accept, now)? {
        Some(candidate) => spend(app, &user.username, &candidate).await,
        None => Ok(None),
    }
}

/// The account of a verified token (a token of an account deleted since is refused).
async fn account(app: &App, access: &Claims) -> Result<UserRecord, ApiError> {
    app.users()?
        .get(&access.sub)
        .await?
        .ok_or(ApiError::TokenRevoked)
}

fn refused(username: &str, reason: &'static str) -> ApiError {
    audit::record(Event::MfaFailed)
        .username(username)
        .reason(reason)
        .emit();
    ApiError::MfaFailed
}

/// `POST /mfa/totp`'s answer: shown once; the factor is not active until confirmed.
#[derive(Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(..)")
    }
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.recovery_codes.len())
    }
}

/// Ten recovery codes, shown this once.
#[derive(Serialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A new secret, kept sealed as the account's pending one (a newer enrolment replaces
/// it). An account with an active factor removes it first.
pub async fn enrol(app: &App, access: Claims) -> Result<Enrolment, ApiError> {
    let user = account(app, &access).await?;
    if user.totp.is_some() {
        return Err(ApiError::invalid_request(
            "A TOTP factor is already active; remove it first (DELETE /mfa/totp)",
        ));
    }
    let key = app.mfa_key()?;
    let secret = new_secret().map_err(ApiError::Internal)?;
    let sealed = key
        .seal(&user.username, &secret)
        .map_err(ApiError::Internal)?;
    if !app.mfa()?.set_pending_totp(&user.username, &sealed).await? {
        return Err(ApiError::invalid_request(
            "A TOTP factor is already active; remove it first (DELETE /mfa/totp)",
        ));
    }
    audit::record(Event::MfaEnrolmentStarted)
        .username(&user.username)
        .emit();
    Ok(Enrolment {
        secret: base32(&secret),
        otpauth_uri: otpauth_uri(&app.config.jwt_issuer, &user.username, &secret),
    })
}

fn hashes(key: &MfaKey, username: &str, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| normalise_recovery_code(code))
        .map(|normal| key.recovery_code_hash(username, &normal))
        .collect()
}

pub struct CodeInput {
    /// A fresh access token, verified.
    pub access: Claims,
    pub code: String,
}

/// The pending secret becomes active with a first right code (whose step then counts as
/// used), and ten recovery codes are made.
pub async fn confirm(app: &App, input: CodeInput) -> Result<RecoveryCodes, ApiError> {
    let user = account(app, &input.access).await?;
    let Some(sealed) = user.totp_pending.clone().filter(|_| user.totp.is_none()) else {
        return Err(ApiError::invalid_request(
            "No TOTP enrolment to confirm; POST /mfa/totp first",
        ));
    };
    let key = app.mfa_key()?;
    let secret = key
        .open(&user.username, &sealed)
        .map_err(ApiError::internal)?;
    let Some(step) = matching_step(&secret, &input.code, now_secs()) else {
        return Err(refused(&user.username, "invalid_code"));
    };
    let codes = new_recovery_codes().map_err(ApiError::Internal)?;
    let stored = hashes(key, &user.username, &codes);
    if !app
        .mfa()?
        .activate_totp(&user.username, &sealed, step, &stored)
        .await?
    {
        // A newer enrolment or a concurrent confirmation came first.
        return Err(refused(&user.username, "enrolment_changed"));
    }
    audit::record(Event::MfaEnabled)
        .username(&user.username)
        .emit();
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Ten new recovery codes for a TOTP code; every older one is void.
pub async fn regenerate(app: &App, input: CodeInput) -> Result<RecoveryCodes, ApiError> {
    let user = account(app, &input.access).await?;
    if user.totp.is_none() {
        return Err(ApiError::invalid_request(
            "The account has no second factor",
        ));
    }
    if check_code(app, &user, &input.code, Accept::TotpOnly, now_secs())
        .await?
        .is_none()
    {
        return Err(refused(&user.username, "invalid_code"));
    }
    let codes = new_recovery_codes().map_err(ApiError::Internal)?;
    let stored = hashes(app.mfa_key()?, &user.username, &codes);
    if !app
        .mfa()?
        .replace_recovery_codes(&user.username, &stored)
        .await?
    {
        return Err(refused(&user.username, "no_factor"));
    }
    audit::record(Event::RecoveryCodesRegenerated)
        .username(&user.username)
        .emit();
    Ok(RecoveryCodes {
        recovery_codes: codes,
    })
}

/// Removes the factor and its recovery codes, for a TOTP or a recovery code.
pub async fn remove(app: &App, input: CodeInput) -> Result<Message, ApiError> {
    let user = account(app, &input.access).await?;
    if user.totp.is_none() {
        return Err(ApiError::invalid_request(
            "The account has no second factor",
        ));
    }
    if check_code(app, &user, &input.code, Accept::TotpOrRecovery, now_secs())
        .await?
        .is_none()
    {
        return Err(refused(&user.username, "invalid_code"));
    }
    app.mfa()?.remove_totp(&user.username).await?;
    audit::record(Event::MfaDisabled)
        .username(&user.username)
        .emit();
    Ok(Message {
        message: "Second factor removed",
    })
}

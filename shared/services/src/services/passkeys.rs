//! `POST /passkeys/registration/options`, `POST /passkeys/registration` (fresh access
//! tokens), `GET /passkeys` and `DELETE /passkeys/{id}` (fresh): an account's passkeys.
//!
//! A registration's challenge is kept server-side, hashed, for five minutes and for the
//! account it was given to; the credential is verified by the relying party of
//! `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`, and a credential id registered anywhere
//! already is refused.

use serde::Serialize;
use serde_json::{json, Value};
use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::onetime::sha256_hex;
use wristband_core::store::{
    PasskeyCreated, PasskeyRecord, UserRecord, WebauthnChallenge, WebauthnPurpose,
    MAX_PASSKEYS_PER_USER,
};
use wristband_core::webauthn::{
    b64url, passkey_name, Registration, WebauthnError, ALGORITHMS, CHALLENGE_BYTES,
    MAX_CREDENTIAL_ID_BYTES,
};
use wristband_core::{ApiError, Claims};

use crate::app::App;

/// How long a passkey challenge lives, and the `timeout` the options give the browser.
pub const CHALLENGE_SECS: u64 = 300;

/// `N` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    wristband_core::webauthn::random_bytes::<N>().map_err(ApiError::Internal)
}

/// The account of a verified token (a token of an account deleted since is refused).
async fn account(app: &App, access: &Claims) -> Result<UserRecord, ApiError> {
    app.users()?
        .get(&access.sub)
        .await?
        .ok_or(ApiError::TokenRevoked)
}

fn refused(username: &str, err: WebauthnError) -> ApiError {
    audit::record(Event::PasskeyRegistrationFailed)
        .username(username)
        .reason(err.message())
        .emit();
    ApiError::invalid_request(err.message())
}

/// `{"publicKey": <options>}` (and `challenge_id` for a login).
#[derive(Debug, Serialize)]
pub struct Options {
    #[serde(rename = "publicKey")]
    pub public_key: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
}

/// Creation options for the caller's account: a new challenge (kept for it alone), a user
/// handle of random bytes (never the username), the algorithms we verify, discoverable
/// credentials, and the account's passkeys excluded.
pub async fn registration_options(app: &App, access: Claims) -> Result<Options, ApiError> {
    let rp = app.relying_party()?;
    let user = account(app, &access).await?;
    if user.passkeys.len() >= MAX_PASSKEYS_PER_USER {
        return Err(ApiError::invalid_request(format!(
            "An account holds at most {MAX_PASSKEYS_PER_USER} passkeys; remove one first"
        )));
    }
    let challenge = random_bytes::<CHALLENGE_BYTES>()?;
    let handle = b64url(&random_bytes::<16>()?);
    app.webauthn_challenges()?
        .create(
            &sha256_hex(&challenge),
            &WebauthnChallenge {
                purpose: WebauthnPurpose::Registration,
                challenge: b64url(&challenge),
                username: Some(user.username.clone()),
                user_handle: Some(handle.clone()),
                expires_at: now_secs() + CHALLENGE_SECS,
            },
        )
        .await?;
    let exclude: Vec<Value> = user
        .passkeys
        .iter()
        .map(|id| json!({"type": "public-key", "id": id}))
        .collect();
    let params: Vec<Value> = ALGORITHMS
        .iter()
        .map(|alg| json!({"type": "public-key", "alg": alg}))
        .collect();
    Ok(Options {
        public_key: json!({
            "rp": {"id": rp.id, "name": rp.name},
            "user": {"id": handle, "name": user.username, "displayName": user.username},
            "challenge": b64url(&challenge),
            "pubKeyCredParams": params,
            "timeout": CHALLENGE_SECS * 1000,
            "attestation": "none",
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "preferred",
            },
            "excludeCredentials": exclude,
        }),
        challenge_id: None,
    })
}

pub struct RegisterInput {
    /// A fresh access token, verified.
    pub access: Claims,
    /// `PublicKeyCredential.toJSON()` of `navigator.credentials.create()`.
    pub credential: Value,
    pub name: Option<String>,
}

/// A passkey as listed.
#[derive(Debug, Serialize)]
pub struct Passkey {
    pub id: String,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

impl From<&PasskeyRecord> for Passkey {
    fn from(p: &PasskeyRecord) -> Self {
        Self {
            id: p.credential_id.clone(),
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// `201 {"id", "name", "created_at"}`.
#[derive(Debug, Serialize)]
pub struct Registered {
    pub id: String,
    pub name: String,
    pub created_at: u64,
}

/// Verifies a registration (WebAuthn §7.1) against the challenge given to this account
/// and stores the credential. The challenge is spent whatever the outcome after it.
pub async fn register(app: &App, input: RegisterInput) -> Result<Registered, ApiError> {
    let rp = app.relying_party()?;
    let name = passkey_name(input.name.as_deref()).map_err(ApiError::invalid_request)?;
    let username = input.access.sub.as_str();
    let registration = Registration::parse(&input.credential).map_err(|e| refused(username, e))?;
    let challenge = registration
        .client_data
        .challenge_bytes()
        .map_err(|e| refused(username, e))?;
    let user = account(app, &input.access).await?;
    let Some(kept) = app
        .webauthn_challenges()?
        .take(
            &sha256_hex(&challenge),
            WebauthnPurpose::Registration,
            Some(&user.username),
            now_secs(),
        )
        .await?
    else {
        return Err(refused(username, WebauthnError::Challenge));
    };
    let verified = rp
        .verify_registration(&registration, &challenge)
        .map_err(|e| refused(username, e))?;
    let now = now_secs();
    let record = PasskeyRecord {
        credential_id: b64url(&verified.credential_id),
        username: user.username.clone(),
        name,
        created_at: now,
        last_used_at: None,
        algorithm: verified.public_key.algorithm(),
        public_key: verified.public_key.bytes().to_vec(),
        sign_count: verified.sign_count,
        user_handle: kept.user_handle.unwrap_or_default(),
        transports: registration.transports.clone(),
    };
    match app.passkeys()?.create(&record).await? {
        PasskeyCreated::Created => {}
        PasskeyCreated::CredentialTaken => {
            return Err(refused(
                username,
                WebauthnError::Malformed("credential: already registered"),
            ))
        }
        PasskeyCreated::TooMany => {
            return Err(ApiError::invalid_request(format!(
                "An account holds at most {MAX_PASSKEYS_PER_USER} passkeys; remove one first"
            )))
        }
        PasskeyCreated::NoAccount => return Err(ApiError::TokenRevoked),
    }
    audit::record(Event::PasskeyRegistered)
        .username(&user.username)
        .flag("user_verified", verified.user_verified)
        .emit();
    Ok(Registered {
        id: record.credential_id,
        name: record.name,
        created_at: record.created_at,
    })
}

/// `GET /passkeys`.
#[derive(Debug, Serialize)]
pub struct PasskeyList {
    pub passkeys: Vec<Passkey>,
}

pub async fn list(app: &App, access: Claims) -> Result<PasskeyList, ApiError> {
    let passkeys = app.passkeys()?.list(&access.sub).await?;
    Ok(PasskeyList {
        passkeys: passkeys.iter().map(Passkey::from).collect(),
    })
}

/// Whether `id` could be a credential id we store (unpadded base64url of at most 1023
/// bytes): anything else is an unknown id without asking the store.
pub fn is_plausible_credential_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= (MAX_CREDENTIAL_ID_BYTES * 4).div_ceil(3)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub struct DeleteInput {
    /// A fresh access token, verified.
    pub access: Claims,
    pub id: String,
}

/// `DELETE /passkeys/{id}`: `404` for an id that is not one of the caller's.
pub async fn delete(app: &App, input: DeleteInput) -> Result<(), ApiError> {
    let not_found = ApiError::NotFound("No such passkey");
    if !is_plausible_credential_id(&input.id) {
        return Err(not_found);
    }
    if !app.passkeys()?.delete(&input.access.sub, &input.id).await? {
        return Err(not_found);
    }
    audit::record(Event::PasskeyRemoved)
        .username(&input.access.sub)
        .emit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn credential_ids_are_bounded_before_the_store() {
        assert!(is_plausible_credential_id("AbC-_9"));
        assert!(!is_plausible_credential_id(""));
        assert!(!is_plausible_credential_id("a+b"));
        assert!(!is_plausible_credential_id("a=="));
        assert!(is_plausible_credential_id(&"A".repeat(1364)));
        assert!(!is_plausible_credential_id(&"A".repeat(1365)));
    }

    proptest! {
        #[test]
        fn every_plausible_id_fits_a_store_key(id in "[A-Za-z0-9_-]{1,2000}") {
            if is_plausible_credential_id(&id) {
                prop_assert!(id.len() <= 1364);
            }
        }
    }
}

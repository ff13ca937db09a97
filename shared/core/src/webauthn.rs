//! The relying party of WebAuthn (Level 2/3), pure: parsing the browser's credential JSON
//! (`PublicKeyCredential.toJSON()`), client data, authenticator data, attestation objects
//! and COSE keys, and verifying registrations and assertions. No store, no HTTP: the
//! services spend challenges and keep credentials.
//!
//! Accepted: attestation `none` (any other format is accepted and its statement not
//! verified: passkeys of synced authenticators carry none anyway), ES256 (-7) and EdDSA
//! (-8). Client data is parsed as JSON, never matched as a byte prefix.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cbor::{self, Value};

/// COSE algorithm ids (IANA): ES256 and EdDSA, the order we ask for them in.
pub const COSE_ES256: i64 = -7;
pub const COSE_EDDSA: i64 = -8;
pub const ALGORITHMS: [i64; 2] = [COSE_EDDSA, COSE_ES256];

/// WebAuthn's bound on credential ids (§4, "Credential ID").
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;
/// Our challenges: 32 random bytes.
pub const CHALLENGE_BYTES: usize = 32;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Why a credential was refused. The message names the reason (API.md: registration
/// answers it in a `400`; a login answers `401 invalid_credentials` whatever it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebauthnError {
    Malformed(&'static str),
    WrongType,
    Challenge,
    Origin,
    RpId,
    UserPresence,
    Algorithm,
    CredentialId,
    UserHandle,
    Signature,
    Counter,
}

impl WebauthnError {
    pub fn message(&self) -> &'static str {
        match self {
            WebauthnError::Malformed(what) => what,
            WebauthnError::WrongType => "credential: wrong type",
            WebauthnError::Challenge => {
                "credential: challenge unknown, spent, expired or not this account's"
            }
            WebauthnError::Origin => "credential: origin not allowed",
            WebauthnError::RpId => "credential: rpIdHash is not this relying party's",
            WebauthnError::UserPresence => "credential: user presence missing",
            WebauthnError::Algorithm => "credential: unsupported public key algorithm",
            WebauthnError::CredentialId => "credential: id does not match the authenticator data",
            WebauthnError::UserHandle => "credential: userHandle does not match",
            WebauthnError::Signature => "credential: bad signature",
            WebauthnError::Counter => "credential: signature counter did not increase",
        }
    }
}

impl std::fmt::Display for WebauthnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for WebauthnError {}

type Result<T> = std::result::Result<T, WebauthnError>;

/// base64url, unpadded as `toJSON()` writes it (padding tolerated).
pub fn b64url_decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| WebauthnError::Malformed(what))
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `N` random bytes (challenges, user handles).
pub fn random_bytes<const N: usize>() -> std::result::Result<[u8; N], crate::BoxError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| crate::BoxError::from(e.to_string()))?;
    Ok(bytes)
}

/// A credential public key, as stored: the algorithm and its raw key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// SEC1 uncompressed P-256 point (65 bytes).
    Es256(Vec<u8>),
    /// Ed25519 public key (32 bytes).
    EdDsa([u8; 32]),
}

impl PublicKey {
    pub fn algorithm(&self) -> i64 {
        match self {
            PublicKey::Es256(_) => COSE_ES256,
            PublicKey::EdDsa(_) => COSE_EDDSA,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            PublicKey::Es256(b) => b,
            PublicKey::EdDsa(b) => b,
        }
    }

    /// From the stored form; a key that is not a valid point is refused.
    pub fn from_stored(algorithm: i64, bytes: &[u8]) -> Result<Self> {
        let key = match algorithm {
            COSE_ES256 => PublicKey::Es256(bytes.to_vec()),
            COSE_EDDSA => PublicKey::EdDsa(
                bytes
                    .try_into()
                    .map_err(|_| WebauthnError::Malformed("credential: bad public key"))?,
            ),
            _ => return Err(WebauthnError::Algorithm),
        };
        key.check()?;
        Ok(key)
    }

    fn check(&self) -> Result<()> {
        let ok = match self {
            PublicKey::Es256(b) => p256::ecdsa::VerifyingKey::from_sec1_bytes(b).is_ok(),
            PublicKey::EdDsa(b) => ed25519_dalek::VerifyingKey::from_bytes(b).is_ok(),
        };
        ok.then_some(())
            .ok_or(WebauthnError::Malformed("credential: bad public key"))
    }

    /// From a COSE_Key (RFC 9053): EC2 P-256 with ES256, OKP Ed25519 with EdDSA.
    pub fn from_cose(key: &Value) -> Result<Self> {
        let int = |label: i64| key.get_int(label).and_then(Value::as_int);
        let bytes = |label: i64| key.get_int(label).and_then(Value::as_bytes);
        let bad = WebauthnError::Malformed("credential: bad public key");
        let parsed = match (int(1), int(3)) {
            // kty EC2, alg ES256, crv P-256
            (Some(2), Some(-7)) => {
                if int(-1) != Some(1) {
                    return Err(WebauthnError::Algorithm);
                }
                let (x, y) = (bytes(-2).ok_or(bad)?, bytes(-3).ok_or(bad)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(bad);
                }
                PublicKey::Es256([&[0x04], x, y].concat())
            }
            // kty OKP, alg EdDSA, crv Ed25519
            (Some(1), Some(-8)) => {
                if int(-1) != Some(6) {
                    return Err(WebauthnError::Algorithm);
                }
                PublicKey::EdDsa(bytes(-2).ok_or(bad)?.try_into().map_err(|_| bad)?)
            }
            (Some(_), Some(_)) => return Err(WebauthnError::Algorithm),
            _ => return Err(bad),
        };
        parsed.check()?;
        Ok(parsed)
    }

    /// Verifies `signature` over `message`: ES256 signatures are ASN.1 DER (either `s`,
    /// as authenticators do not all normalise it), EdDSA ones 64 raw bytes.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        use p256::ecdsa::signature::Verifier as _;
        let ok = match self {
            PublicKey::Es256(key) => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map_err(|_| WebauthnError::Signature)?;
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| WebauthnError::Signature)?
                    .normalize_s();
                key.verify(message, &sig).is_ok()
            }
            PublicKey::EdDsa(key) => {
                let key = ed25519_dalek::VerifyingKey::from_bytes(key)
                    .map_err(|_| WebauthnError::Signature)?;
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| WebauthnError::Signature)?;
                key.verify_strict(message, &sig).is_ok()
            }
        };
        ok.then_some(()).ok_or(WebauthnError::Signature)
    }
}

/// `CollectedClientData` (WebAuthn §5.8.1): the fields a relying party checks.
#[derive(Clone, Debug, Deserialize)]
pub struct ClientData {
    #[serde(rename = "type")]
    pub type_: String,
    pub challenge: String,
    pub origin: String,
    #[serde(rename = "crossOrigin", default)]
    pub cross_origin: Option<bool>,
}

impl ClientData {
    pub fn parse(json: &[u8]) -> Result<Self> {
        serde_json::from_slice(json)
            .map_err(|_| WebauthnError::Malformed("credential: bad clientDataJSON"))
    }

    /// The challenge's bytes (what the options gave, base64url).
    pub fn challenge_bytes(&self) -> Result<Vec<u8>> {
        let bytes = b64url_decode(&self.challenge, "credential: bad challenge")?;
        if bytes.len() != CHALLENGE_BYTES {
            return Err(WebauthnError::Challenge);
        }
        Ok(bytes)
    }
}

/// A credential created by an authenticator (in registration's authenticator data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
}

/// Authenticator data (WebAuthn §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
}

impl AuthenticatorData {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = WebauthnError::Malformed("credential: bad authenticator data");
        if bytes.len() < 37 {
            return Err(bad);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&bytes[..32]);
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        let mut rest = &bytes[37..];
        let attested = if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(bad);
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            if id_len == 0 || id_len > MAX_CREDENTIAL_ID_BYTES || rest.len() < 18 + id_len {
                return Err(bad);
            }
            let credential_id = rest[18..18 + id_len].to_vec();
            rest = &rest[18 + id_len..];
            let (key, used) = cbor::decode_prefix(rest).map_err(|_| bad)?;
            rest = &rest[used..];
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key: PublicKey::from_cose(&key)?,
            })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (extensions, used) = cbor::decode_prefix(rest).map_err(|_| bad)?;
            if !matches!(extensions, Value::Map(_)) {
                return Err(bad);
            }
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(bad);
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    pub fn user_present(&self) -> bool {
        self.flags & FLAG_UP != 0
    }

    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_UV != 0
    }
}

#[derive(Deserialize)]
struct RegistrationJson {
    id: String,
    #[serde(rename = "rawId", default)]
    raw_id: Option<String>,
    #[serde(rename = "type")]
    type_: String,
    response: AttestationResponseJson,
}

#[derive(Deserialize)]
struct AttestationResponseJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct AssertionJson {
    id: String,
    #[serde(rename = "rawId", default)]
    raw_id: Option<String>,
    #[serde(rename = "type")]
    type_: String,
    response: AssertionResponseJson,
}

#[derive(Deserialize)]
struct AssertionResponseJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle", default)]
    user_handle: Option<String>,
}

/// The id of `toJSON()` and its `rawId`, which must agree.
fn credential_id(id: &str, raw_id: Option<&str>) -> Result<Vec<u8>> {
    let bytes = b64url_decode(id, "credential: bad id")?;
    if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID_BYTES {
        return Err(WebauthnError::Malformed("credential: bad id"));
    }
    if let Some(raw) = raw_id {
        if b64url_decode(raw, "credential: bad rawId")? != bytes {
            return Err(WebauthnError::CredentialId);
        }
    }
    Ok(bytes)
}

/// The name a passkey is listed under: at most 64 characters, no control characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A registration as the browser sent it, parsed but not yet checked.
#[derive(Clone, Debug)]
pub struct Registration {
    pub credential_id: Vec<u8>,
    pub client_data: ClientData,
    pub authenticator_data: AuthenticatorData,
    pub format: String,
    pub transports: Vec<String>,
}

impl Registration {
    /// Parses the `credential` of `POST /passkeys/registration`.
    pub fn parse(credential: &serde_json::Value) -> Result<Self> {
        let json = RegistrationJson::deserialize(credential)
            .map_err(|_| WebauthnError::Malformed("credential: not a registration credential"))?;
        if json.type_ != "public-key" {
            return Err(WebauthnError::WrongType);
        }
        let credential_id = credential_id(&json.id, json.raw_id.as_deref())?;
        let client_data = ClientData::parse(&b64url_decode(
            &json.response.client_data_json,
            "credential: bad clientDataJSON",
        )?)?;
        let object = cbor::decode(&b64url_decode(
            &json.response.attestation_object,
            "credential: bad attestationObject",
        )?)
        .map_err(|_| WebauthnError::Malformed("credential: bad attestationObject"))?;
        let bad = WebauthnError::Malformed("credential: bad attestationObject");
        let format = object
            .get_text("fmt")
            .and_then(Value::as_text)
            .ok_or(bad)?
            .to_owned();
        let statement = object.get_text("attStmt").ok_or(bad)?;
        if format == "none" && statement != &Value::Map(Vec::new()) {
            return Err(bad);
        }
        let auth_data = object
            .get_text("authData")
            .and_then(Value::as_bytes)
            .ok_or(bad)?;
        let authenticator_data = AuthenticatorData::parse(auth_data)?;
        let transports = json
            .response
            .transports
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .take(8)
            .collect();
        Ok(Self {
            credential_id,
            client_data,
            authenticator_data,
            format,
            transports,
        })
    }
}

/// An assertion as the browser sent it, parsed but not yet checked.
#[derive(Clone, Debug)]
pub struct Assertion {
    pub credential_id: Vec<u8>,
    pub client_data: ClientData,
    client_data_json: Vec<u8>,
    authenticator_data_bytes: Vec<u8>,
    pub authenticator_data: AuthenticatorData,
    signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

impl Assertion {
    /// Parses the `credential` of `POST /login/passkey`.
    pub fn parse(credential: &serde_json::Value) -> Result<Self> {
        let json = AssertionJson::deserialize(credential)
            .map_err(|_| WebauthnError::Malformed("credential: not an assertion"))?;
        if json.type_ != "public-key" {
            return Err(WebauthnError::WrongType);
        }
        let credential_id = credential_id(&json.id, json.raw_id.as_deref())?;
        let client_data_json = b64url_decode(
            &json.response.client_data_json,
            "credential: bad clientDataJSON",
        )?;
        let client_data = ClientData::parse(&client_data_json)?;
        let authenticator_data_bytes = b64url_decode(
            &json.response.authenticator_data,
            "credential: bad authenticatorData",
        )?;
        let authenticator_data = AuthenticatorData::parse(&authenticator_data_bytes)?;
        let signature = b64url_decode(&json.response.signature, "credential: bad signature")?;
        let user_handle = match json.response.user_handle.as_deref() {
            None | Some("") => None,
            Some(h) => Some(b64url_decode(h, "credential: bad userHandle")?),
        };
        Ok(Self {
            credential_id,
            client_data,
            client_data_json,
            authenticator_data_bytes,
            authenticator_data,
            signature,
            user_handle,
        })
    }
}

/// The relying party: `WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS` and a display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
}

/// What a verified registration gives to store.
#[derive(Clone, Debug)]
pub struct VerifiedRegistration {
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
    pub sign_count: u32,
    pub user_verified: bool,
}

/// What a verified assertion gives.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub user_verified: bool,
}

impl RelyingParty {
    fn check_client_data(&self, data: &ClientData, type_: &str, challenge: &[u8]) -> Result<()> {
        if data.type_ != type_ {
            return Err(WebauthnError::WrongType);
        }
        // Constant time is not needed (the challenge is public once sent), equality is.
        if data.challenge_bytes()? != challenge {
            return Err(WebauthnError::Challenge);
        }
        if data.cross_origin == Some(true) || !self.origins.contains(&data.origin) {
            return Err(WebauthnError::Origin);
        }
        Ok(())
    }

    fn check_authenticator_data(&self, data: &AuthenticatorData) -> Result<()> {
        if data.rp_id_hash[..] != Sha256::digest(self.id.as_bytes())[..] {
            return Err(WebauthnError::RpId);
        }
        if !data.user_present() {
            return Err(WebauthnError::UserPresence);
        }
        Ok(())
    }

    /// WebAuthn §7.1 steps 5-26 for attestation `none` (other formats' statements are not
    /// verified): type, the challenge that was issued, origin, RP id, user presence, an
    /// accepted algorithm, and the credential id the browser named.
    pub fn verify_registration(
        &self,
        registration: &Registration,
        challenge: &[u8],
    ) -> Result<VerifiedRegistration> {
        self.check_client_data(&registration.client_data, "webauthn.create", challenge)?;
        let data = &registration.authenticator_data;
        self.check_authenticator_data(data)?;
        let attested = data.attested.as_ref().ok_or(WebauthnError::Malformed(
            "credential: no attested credential data",
        ))?;
        if attested.credential_id != registration.credential_id {
            return Err(WebauthnError::CredentialId);
        }
        Ok(VerifiedRegistration {
            credential_id: attested.credential_id.clone(),
            public_key: attested.public_key.clone(),
            sign_count: data.sign_count,
            user_verified: data.user_verified(),
        })
    }

    /// WebAuthn §7.2 steps 7-21: the user handle (when given) is the credential's, the
    /// client data, RP id and user presence, the signature over authenticator data and
    /// the client data's hash, and a counter that moved forward (or stays 0 on both sides).
    pub fn verify_assertion(
        &self,
        assertion: &Assertion,
        challenge: &[u8],
        public_key: &PublicKey,
        user_handle: &[u8],
        stored_sign_count: u32,
    ) -> Result<VerifiedAssertion> {
        if let Some(handle) = &assertion.user_handle {
            if handle != user_handle {
                return Err(WebauthnError::UserHandle);
            }
        }
        self.check_client_data(&assertion.client_data, "webauthn.get", challenge)?;
        let data = &assertion.authenticator_data;
        self.check_authenticator_data(data)?;
        let mut message = assertion.authenticator_data_bytes.clone();
        message.extend_from_slice(&Sha256::digest(&assertion.client_data_json));
        public_key.verify(&message, &assertion.signature)?;
        let count = data.sign_count;
        if !(count > stored_sign_count || (count == 0 && stored_sign_count == 0)) {
            return Err(WebauthnError::Counter);
        }
        Ok(VerifiedAssertion {
            sign_count: count,
            user_verified: data.user_verified(),
        })
    }
}

/// Checks a passkey's display name: trimmed, 1 to 64 characters, no control characters.
pub fn passkey_name(name: Option<&str>) -> std::result::Result<String, &'static str> {
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Ok("Passkey".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err("name must be 1 to 64 characters without control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cose_keys_of_both_algorithms_parse_and_others_are_refused() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let cose = Value::Map(vec![
            (Value::Unsigned(1), Value::Unsigned(2)),
            (Value::Unsigned(3), Value::Negative(-7)),
            (Value::Negative(-1), Value::Unsigned(1)),
            (Value::Negative(-2), Value::Bytes(bytes[1..33].to_vec())),
            (Value::Negative(-3), Value::Bytes(bytes[33..].to_vec())),
        ]);
        assert_eq!(
            PublicKey::from_cose(&cose).unwrap(),
            PublicKey::Es256(bytes.to_vec())
        );
        // RS256 (-257) is not accepted.
        let rsa = Value::Map(vec![
            (Value::Unsigned(1), Value::Unsigned(3)),
            (Value::Unsigned(3), Value::Negative(-257)),
        ]);
        assert_eq!(PublicKey::from_cose(&rsa), Err(WebauthnError::Algorithm));
        // A point off the curve.
        let off = Value::Map(vec![
            (Value::Unsigned(1), Value::Unsigned(2)),
            (Value::Unsigned(3), Value::Negative(-7)),
            (Value::Negative(-1), Value::Unsigned(1)),
            (Value::Negative(-2), Value::Bytes(vec![1; 32])),
            (Value::Negative(-3), Value::Bytes(vec![2; 32])),
        ]);
        assert!(PublicKey::from_cose(&off).is_err());
    }

    #[test]
    fn authenticator_data_is_bounded_and_exact() {
        let mut data = vec![0u8; 37];
        data[32] = FLAG_UP;
        assert!(AuthenticatorData::parse(&data).is_ok());
        data.push(0);
        assert!(AuthenticatorData::parse(&data).is_err(), "trailing byte");
        assert!(AuthenticatorData::parse(&[0u8; 36]).is_err());
        // AT set but no credential data.
        let mut at = vec![0u8; 37];
        at[32] = FLAG_UP | FLAG_AT;
        assert!(AuthenticatorData::parse(&at).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(passkey_name(None).unwrap(), "Passkey");
        assert_eq!(passkey_name(Some("  Laptop ")).unwrap(), "Laptop");
        assert!(passkey_name(Some("a\u{7}b")).is_err());
        assert!(passkey_name(Some(&"x".repeat(65))).is_err());
    }

    proptest! {
        #[test]
        fn authenticator_data_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AuthenticatorData::parse(&bytes);
        }

        #[test]
        fn credential_json_never_panics(json in ".{0,300}") {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) {
                let _ = Registration::parse(&value);
                let _ = Assertion::parse(&value);
            }
        }

        #[test]
        fn a_valid_header_with_any_flags_parses_when_nothing_is_attached(
            flags in any::<u8>().prop_map(|f| f & !(FLAG_AT | FLAG_ED)),
            count in any::<u32>(),
        ) {
            let mut data = vec![9u8; 32];
            data.push(flags);
            data.extend_from_slice(&count.to_be_bytes());
            let parsed = AuthenticatorData::parse(&data).unwrap();
            prop_assert_eq!(parsed.sign_count, count);
            prop_assert_eq!(parsed.user_present(), flags & FLAG_UP != 0);
        }
    }
}

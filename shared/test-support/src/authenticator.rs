//! A software WebAuthn authenticator: what a browser and a passkey hand a relying party,
//! made from options, so that tests drive `/passkeys/registration` and `/login/passkey`
//! without a browser (the Chromium test drives a real one). Its fields are public so that a
//! test can make it misbehave: another origin or RP id, no user presence, a counter that
//! goes back, a bad signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wristband_core::cbor::{encode, Value as Cbor};

pub enum Key {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
}

impl Key {
    pub fn es256() -> Self {
        loop {
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&random32()) {
                return Key::Es256(key);
            }
        }
    }

    pub fn eddsa() -> Self {
        Key::EdDsa(ed25519_dalek::SigningKey::from_bytes(&random32()))
    }

    /// The COSE_Key of the public key.
    pub fn cose(&self) -> Cbor {
        match self {
            Key::Es256(key) => {
                let point = key.verifying_key().to_sec1_point(false);
                let bytes = point.as_bytes();
                Cbor::Map(vec![
                    (Cbor::Unsigned(1), Cbor::Unsigned(2)),
                    (Cbor::Unsigned(3), Cbor::Negative(-7)),
                    (Cbor::Negative(-1), Cbor::Unsigned(1)),
                    (Cbor::Negative(-2), Cbor::Bytes(bytes[1..33].to_vec())),
                    (Cbor::Negative(-3), Cbor::Bytes(bytes[33..65].to_vec())),
                ])
            }
            Key::EdDsa(key) => Cbor::Map(vec![
                (Cbor::Unsigned(1), Cbor::Unsigned(1)),
                (Cbor::Unsigned(3), Cbor::Negative(-8)),
                (Cbor::Negative(-1), Cbor::Unsigned(6)),
                (
                    Cbor::Negative(-2),
                    Cbor::Bytes(key.verifying_key().to_bytes().to_vec()),
                ),
            ]),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Key::EdDsa(key) => key.sign(message).to_bytes().to_vec(),
        }
    }
}

pub const FLAG_UP: u8 = 0x01;
pub const FLAG_UV: u8 = 0x04;
pub const FLAG_AT: u8 = 0x40;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One discoverable credential on one authenticator.
pub struct SoftAuthenticator {
    pub key: Key,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration.
    pub user_handle: Vec<u8>,
    /// The counter of the next signature (incremented after each, unless 0).
    pub counter: u32,
    /// What the browser would put in client data, and the RP id hashed into the
    /// authenticator data: a test changes them to play a phishing site.
    pub origin: String,
    pub rp_id: String,
    /// Flags of the next answer (user present and verified by default).
    pub flags: u8,
    /// Type of the client data (`webauthn.create` / `webauthn.get` when `None`).
    pub client_data_type: Option<String>,
    /// Flip a bit of the next signature.
    pub corrupt_signature: bool,
    /// The attestation format of registrations: `none` (an empty statement), or another
    /// name with a statement the relying party does not verify.
    pub attestation_format: &'static str,
}

impl SoftAuthenticator {
    pub fn new(key: Key, rp_id: &str, origin: &str) -> Self {
        Self {
            key,
            credential_id: random32().to_vec(),
            user_handle: Vec::new(),
            counter: 1,
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            flags: FLAG_UP | FLAG_UV,
            client_data_type: None,
            corrupt_signature: false,
            attestation_format: "none",
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        let kind = self.client_data_type.as_deref().unwrap_or(kind);
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        if let Some(attested) = attested {
            data.extend_from_slice(&attested);
        }
        data
    }

    /// `PublicKeyCredential.toJSON()` of `navigator.credentials.create(options)`, where
    /// `options` is the `publicKey` of `/passkeys/registration/options`.
    pub fn register(&mut self, options: &Value) -> Value {
        let challenge = options["challenge"].as_str().expect("a challenge");
        if let Some(handle) = options["user"]["id"].as_str() {
            self.user_handle = URL_SAFE_NO_PAD.decode(handle).expect("base64url user.id");
        }
        let client_data = self.client_data("webauthn.create", challenge);
        let mut attested = vec![0u8; 16];
        attested.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend_from_slice(&encode(&self.key.cose()));
        let auth_data = self.auth_data(self.flags | FLAG_AT, Some(attested));
        let statement = if self.attestation_format == "none" {
            Cbor::Map(Vec::new())
        } else {
            Cbor::Map(vec![
                (Cbor::Text("alg".into()), Cbor::Negative(-7)),
                (Cbor::Text("sig".into()), Cbor::Bytes(vec![0x30; 70])),
            ])
        };
        let object = Cbor::Map(vec![
            (
                Cbor::Text("fmt".into()),
                Cbor::Text(self.attestation_format.into()),
            ),
            (Cbor::Text("attStmt".into()), statement),
            (
                Cbor::Text("authData".into()),
                Cbor::Bytes(auth_data.clone()),
            ),
        ]);
        if self.counter > 0 {
            self.counter += 1;
        }
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&encode(&object)),
                "authenticatorData": b64(&auth_data),
                "transports": ["internal"],
            },
        })
    }

    /// `PublicKeyCredential.toJSON()` of `navigator.credentials.get(options)`.
    pub fn assert(&mut self, options: &Value) -> Value {
        let challenge = options["challenge"].as_str().expect("a challenge");
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(self.flags, None);
        let mut message = auth_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data));
        let mut signature = self.key.sign(&message);
        if self.corrupt_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        if self.counter > 0 {
            self.counter += 1;
        }
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
                "userHandle": b64(&self.user_handle),
            },
        })
    }
}

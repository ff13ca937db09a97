//! Fuzz target: the parsers of passkeys' untrusted input (API.md "Second factor",
//! passkeys): `wristband_core::cbor` (attestation objects, COSE keys),
//! `wristband_core::webauthn::AuthenticatorData::parse`, `ClientData::parse` and the
//! credential JSON of `PublicKeyCredential.toJSON()` (`Registration::parse`,
//! `Assertion::parse`), then the relying party's verification of whatever parsed.
//!
//! The first byte picks the parser, the rest is its input. Checked:
//!
//! - CBOR: a decoded item took at most the input's bytes, and encoding it again decodes to
//!   the same item (nothing is invented or lost on the way);
//! - authenticator data: a parsed credential id is 1 to 1023 bytes, parsing is
//!   deterministic, and its flags and counter are the input's bytes 32 to 36;
//! - credentials: a parsed one's id is 1 to 1023 bytes; verifying it against a fixed relying
//!   party and challenge never panics, and never succeeds for a challenge it was not given;
//!
//! never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wristband_core::cbor;
use wristband_core::webauthn::{
    Assertion, AuthenticatorData, ClientData, PublicKey, Registration, RelyingParty,
    MAX_CREDENTIAL_ID_BYTES,
};

fn relying_party() -> RelyingParty {
    RelyingParty {
        id: "localhost".into(),
        name: "fuzz".into(),
        origins: vec!["http://localhost:3000".into()],
    }
}

/// A challenge no input can know: random per run would make failures unreproducible, so a
/// fixed one that the seeds do not use.
const CHALLENGE: [u8; 32] = [0xa5; 32];

fn check_cbor(data: &[u8]) {
    if let Ok((value, used)) = cbor::decode_prefix(data) {
        assert!(used >= 1 && used <= data.len());
        let again = cbor::encode(&value);
        assert_eq!(cbor::decode(&again).as_ref(), Ok(&value));
    }
}

fn check_authenticator_data(data: &[u8]) {
    let parsed = AuthenticatorData::parse(data);
    assert_eq!(parsed, AuthenticatorData::parse(data), "not deterministic");
    if let Ok(parsed) = parsed {
        assert_eq!(parsed.flags, data[32]);
        assert_eq!(
            parsed.sign_count,
            u32::from_be_bytes([data[33], data[34], data[35], data[36]])
        );
        if let Some(attested) = &parsed.attested {
            let n = attested.credential_id.len();
            assert!((1..=MAX_CREDENTIAL_ID_BYTES).contains(&n));
        }
    }
}

fn check_credential(data: &[u8]) {
    let _ = ClientData::parse(data);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let rp = relying_party();
    if let Ok(registration) = Registration::parse(&json) {
        assert!((1..=MAX_CREDENTIAL_ID_BYTES).contains(&registration.credential_id.len()));
        assert!(rp.verify_registration(&registration, &CHALLENGE).is_err());
        if let Ok(challenge) = registration.client_data.challenge_bytes() {
            let _ = rp.verify_registration(&registration, &challenge);
        }
    }
    if let Ok(assertion) = Assertion::parse(&json) {
        assert!((1..=MAX_CREDENTIAL_ID_BYTES).contains(&assertion.credential_id.len()));
        let key = PublicKey::EdDsa([0x3b; 32]);
        if let Ok(challenge) = assertion.client_data.challenge_bytes() {
            let _ = rp.verify_assertion(&assertion, &challenge, &key, b"", 0);
        }
        assert!(rp
            .verify_assertion(&assertion, &CHALLENGE, &key, b"", 0)
            .is_err());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check_cbor(rest),
        1 => check_authenticator_data(rest),
        _ => check_credential(rest),
    }
});

//! jsonwebtoken `CryptoProvider`s for HS256/384/512, EdDSA (Ed25519) and ES256 (P-256).
//!
//! This extends wristband's HMAC-only provider (formerly `shared::jwt_crypto`) rather than enabling
//! jsonwebtoken's `rust_crypto` feature, because that feature also links RSA, P-384 and
//! `rand`, which the deployment zips cannot afford.
//!
//! Key formats follow jsonwebtoken's own conventions, so `EncodingKey::from_ed_der`,
//! `DecodingKey::from_jwk` and friends work unchanged through this provider:
//!
//! | family | `EncodingKey` content | `DecodingKey` content            |
//! |--------|-----------------------|----------------------------------|
//! | Hmac   | the secret            | the secret                       |
//! | Ed     | PKCS#8 DER            | raw 32-byte Ed25519 public key   |
//! | Ec     | PKCS#8 DER            | SEC1 point (0x04 ‖ x ‖ y)        |
//!
//! Two providers are offered: [`PROVIDER`] signs and verifies everything, while
//! [`VERIFY_ONLY_PROVIDER`] refuses to *sign* with EdDSA/ES256. Verifier-only Lambda
//! functions should install the latter: nothing else references the Ed25519/P-256 signing
//! code (RFC 6979 nonces, fixed-base tables), so fat LTO drops it from the binary.

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{new_error, ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Signs and verifies HS256/384/512, EdDSA (Ed25519) and ES256.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(unsupported()),
        rsa_pub_components_from_public_key: |_| Err(unsupported()),
        ec_pub_components_from_private_key,
        ed_pub_components_from_private_key,
        compute_digest,
    },
};

/// Verifies everything [`PROVIDER`] does, but signs with HMAC only: for functions that
/// only check tokens, so the asymmetric signing code is not linked in.
pub static VERIFY_ONLY_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_hmac_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(unsupported()),
        rsa_pub_components_from_public_key: |_| Err(unsupported()),
        ec_pub_components_from_private_key: |_, _| Err(unsupported()),
        ed_pub_components_from_private_key: |_, _| Err(unsupported()),
        compute_digest,
    },
};

/// Makes [`PROVIDER`] jsonwebtoken's process default (idempotent).
///
/// Returns false if another provider was installed first, in which case that one stays in
/// force: the caller should treat that as a configuration bug (e.g. two crates racing).
pub fn install() -> bool {
    install_provider(&PROVIDER)
}

/// Makes [`VERIFY_ONLY_PROVIDER`] the process default (idempotent; see [`install`]).
pub fn install_verify_only() -> bool {
    install_provider(&VERIFY_ONLY_PROVIDER)
}

fn install_provider(provider: &'static CryptoProvider) -> bool {
    // `install_default` fails when any provider is already set, including this very one
    // from an earlier call; only a *different* provider is a problem.
    match provider.install_default() {
        Ok(()) => true,
        Err(current) => std::ptr::eq(current, provider),
    }
}

fn unsupported() -> jsonwebtoken::errors::Error {
    new_error(ErrorKind::InvalidAlgorithm)
}

// ---------------------------------------------------------------------------------------
// Signers and verifiers. Each one checks that the key's family matches the algorithm:
// that is what stops an HS256 verifier from ever being keyed with an Ed/EC public key
// (the classic "alg confusion" attack), independently of the key ring's own checks.

/// A keyed HMAC for one of HS256/HS384/HS512 (HMAC was all wristband signed with before EdDSA and ES256).
#[derive(Clone)]
enum Keyed {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl Keyed {
    fn new(algorithm: Algorithm, family: AlgorithmFamily, secret: &[u8]) -> Result<Self> {
        if family != AlgorithmFamily::Hmac {
            return Err(new_error(ErrorKind::InvalidKeyFormat));
        }
        let bad_key = |_| new_error(ErrorKind::InvalidKeyFormat);
        Ok(match algorithm {
            Algorithm::HS256 => Keyed::Hs256(Hmac::new_from_slice(secret).map_err(bad_key)?),
            Algorithm::HS384 => Keyed::Hs384(Hmac::new_from_slice(secret).map_err(bad_key)?),
            Algorithm::HS512 => Keyed::Hs512(Hmac::new_from_slice(secret).map_err(bad_key)?),
            _ => return Err(unsupported()),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Keyed::Hs256(_) => Algorithm::HS256,
            Keyed::Hs384(_) => Algorithm::HS384,
            Keyed::Hs512(_) => Algorithm::HS512,
        }
    }
}

impl Signer<Vec<u8>> for Keyed {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        Ok(match self.clone() {
            Keyed::Hs256(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
            Keyed::Hs384(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
            Keyed::Hs512(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
        })
    }
}

impl Verifier<Vec<u8>> for Keyed {
    fn verify(&self, msg: &[u8], tag: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        // `verify_slice` compares in constant time and rejects truncated tags.
        let ok = match self.clone() {
            Keyed::Hs256(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
            Keyed::Hs384(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
            Keyed::Hs512(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
        };
        ok.then_some(()).ok_or_else(SignatureError::new)
    }
}

impl JwtSigner for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

impl JwtVerifier for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

pub(crate) struct Ed25519Signer(pub(crate) ed25519_dalek::SigningKey);

impl Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        use ed25519_dalek::Signer as _;
        Ok(self.0.sign(msg).to_bytes().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Ed25519Verifier(ed25519_dalek::VerifyingKey);

impl Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| SignatureError::new())?;
        // Strict: rejects small-order keys and R, and non-canonical S, so a signature
        // cannot be mangled into another valid one. (jsonwebtoken's own rust_crypto
        // backend uses the lax `verify`.)
        self.0
            .verify_strict(msg, &sig)
            .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

pub(crate) struct Es256Signer(pub(crate) p256::ecdsa::SigningKey);

impl Signer<Vec<u8>> for Es256Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        use p256::ecdsa::signature::Signer as _;
        // RFC 6979 deterministic nonce: no RNG needed (and no getrandom code linked).
        // JWS wants the fixed 64-byte r ‖ s form, not ASN.1 DER (RFC 7518 §3.4).
        let sig: p256::ecdsa::Signature =
            self.0.try_sign(msg).map_err(|_| SignatureError::new())?;
        Ok(sig.to_bytes().to_vec())
    }
}

impl JwtSigner for Es256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

struct Es256Verifier(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Es256Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        use p256::ecdsa::signature::Verifier as _;
        // `from_slice` takes exactly 64 bytes (r ‖ s, both non-zero); DER is refused.
        let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|_| SignatureError::new())?;
        self.0.verify(msg, &sig).map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Es256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

// ---------------------------------------------------------------------------------------
// Factories.

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match (algorithm, key.family()) {
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => Ok(Box::new(Ed25519Signer(
            ed25519_signing_key(key.as_bytes())?,
        ))),
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            Ok(Box::new(Es256Signer(p256_signing_key(key.as_bytes())?)))
        }
        _ => new_hmac_signer(algorithm, key),
    }
}

fn new_hmac_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Keyed::new(
        *algorithm,
        key.family(),
        key.as_bytes(),
    )?))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key.family()) {
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => Ok(Box::new(Ed25519Verifier(
            ed25519_verifying_key(key.try_get_as_bytes()?)?,
        ))),
        (Algorithm::ES256, AlgorithmFamily::Ec) => Ok(Box::new(Es256Verifier(p256_verifying_key(
            key.try_get_as_bytes()?,
        )?))),
        // Anything else must be an HMAC algorithm with an HMAC key: `Keyed::new` refuses
        // every other (algorithm, family) pair, e.g. HS256 with an Ed or EC public key.
        _ => Ok(Box::new(Keyed::new(
            *algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?)),
    }
}

// ---------------------------------------------------------------------------------------
// Key parsing, shared with `keys.rs` so both accept exactly the same encodings.

pub(crate) fn ed25519_signing_key(pkcs8_der: &[u8]) -> Result<ed25519_dalek::SigningKey> {
    ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8_der)
        .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))
}

pub(crate) fn p256_signing_key(pkcs8_der: &[u8]) -> Result<p256::ecdsa::SigningKey> {
    // Also checks the curve parameter, so a P-384 key is refused here.
    p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8_der)
        .map_err(|_| new_error(ErrorKind::InvalidEcdsaKey))
}

/// Parses a raw Ed25519 public key, refusing anything but exactly 32 bytes (jsonwebtoken's
/// own backend slices `[..32]`, which panics on shorter input) and weak (small-order) keys.
pub(crate) fn ed25519_verifying_key(raw: &[u8]) -> Result<ed25519_dalek::VerifyingKey> {
    let bytes: &[u8; 32] = raw
        .try_into()
        .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))?;
    if key.is_weak() {
        return Err(new_error(ErrorKind::InvalidEddsaKey));
    }
    Ok(key)
}

/// Parses a SEC1 P-256 point; the crate checks that it is on the curve and not the
/// identity, which is what defeats invalid-curve attacks.
pub(crate) fn p256_verifying_key(sec1: &[u8]) -> Result<p256::ecdsa::VerifyingKey> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
        .map_err(|_| new_error(ErrorKind::InvalidEcdsaKey))
}

// `KeyUtils` makes `Jwk::from_encoding_key` and `Jwk::thumbprint` work; the default
// `KeyUtils::new_unimplemented()` panics on them instead.

type EcComponents = (EllipticCurve, Vec<u8>, Vec<u8>);

fn ec_pub_components_from_private_key(der: &[u8], alg: Algorithm) -> Result<EcComponents> {
    if alg != Algorithm::ES256 {
        return Err(unsupported());
    }
    let point = p256_signing_key(der)?.verifying_key().to_sec1_point(false);
    match (point.x(), point.y()) {
        (Some(x), Some(y)) => Ok((EllipticCurve::P256, x.to_vec(), y.to_vec())),
        _ => Err(new_error(ErrorKind::InvalidEcdsaKey)),
    }
}

fn ed_pub_components_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(unsupported());
    }
    Ok(ed25519_signing_key(der)?
        .verifying_key()
        .to_bytes()
        .to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    Ok(match hash {
        ThumbprintHash::SHA256 => Sha256::digest(data).to_vec(),
        ThumbprintHash::SHA384 => Sha384::digest(data).to_vec(),
        ThumbprintHash::SHA512 => Sha512::digest(data).to_vec(),
        // `ThumbprintHash` is non-exhaustive: refuse hashes added later.
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn hs256_matches_rfc_4231() {
        let signer = new_signer(&Algorithm::HS256, &EncodingKey::from_secret(b"Jefe")).unwrap();
        let tag = signer.try_sign(b"what do ya want for nothing?").unwrap();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let verifier = new_verifier(&Algorithm::HS256, &DecodingKey::from_secret(b"Jefe")).unwrap();
        assert!(verifier
            .verify(b"what do ya want for nothing?", &tag)
            .is_ok());
        assert!(verifier
            .verify(b"what do ya want for nothing!", &tag)
            .is_err());
        assert!(verifier
            .verify(b"what do ya want for nothing?", &tag[..31].to_vec())
            .is_err());
    }

    // RFC 8032 §7.1 test 1: empty message.
    #[test]
    fn ed25519_matches_rfc_8032() {
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let signature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        let unhex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let key = DecodingKey::from_ed_der(&unhex(public));
        let verifier = new_verifier(&Algorithm::EdDSA, &key).unwrap();
        assert!(verifier.verify(b"", &unhex(signature)).is_ok());
        assert!(verifier.verify(b"x", &unhex(signature)).is_err());
    }

    #[test]
    fn unsupported_algorithms_are_refused() {
        let secret = EncodingKey::from_secret(&[7; 32]);
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES384,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            assert!(new_signer(&alg, &secret).is_err(), "{alg:?}");
        }
        // An Ed-family key (content irrelevant: refused on the family before parsing).
        let ed = EncodingKey::from_ed_der(b"not parsed");
        for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::RS256] {
            assert!(new_signer(&alg, &ed).is_err(), "{alg:?}");
        }
    }

    #[test]
    fn short_or_weak_ed25519_keys_are_refused_without_panicking() {
        for raw in [&[][..], &[1u8; 31][..], &[1u8; 33][..]] {
            assert!(new_verifier(&Algorithm::EdDSA, &DecodingKey::from_ed_der(raw)).is_err());
        }
        // The identity point (y = 1) has order 1: "weak", would verify anything laxly.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(ed25519_verifying_key(&identity).is_err());
    }

    #[test]
    fn off_curve_p256_points_are_refused() {
        let mut point = vec![4u8];
        point.extend_from_slice(&[1; 64]);
        assert!(new_verifier(&Algorithm::ES256, &DecodingKey::from_ec_der(&point)).is_err());
    }
}

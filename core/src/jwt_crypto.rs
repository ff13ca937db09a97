//! The HMAC-only crypto provider for `jsonwebtoken`.
//!
//! wristband signs and verifies with HMAC-SHA2 only, so instead of one of jsonwebtoken's
//! backends (aws-lc, about 1.5 MB of code, or RustCrypto with RSA, ECDSA and EdDSA) we
//! install this provider: RustCrypto's `hmac` + `sha2`, which the AWS request signer uses
//! anyway. Other algorithms are refused with `InvalidAlgorithm`; verification compares
//! in constant time (`verify_slice`).

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{new_error, ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::{Sha256, Sha384, Sha512};

static HMAC_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes the HMAC provider jsonwebtoken's process default (idempotent; done by
/// `TokenService::new`, before any token is signed or verified).
pub fn install() {
    // Err means a provider is installed already: ours, by an earlier call.
    let _ = HMAC_ONLY.install_default();
}

/// One keyed HMAC for one of HS256/HS384/HS512.
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
            _ => return Err(new_error(ErrorKind::InvalidAlgorithm)),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Keyed::Hs256(_) => Algorithm::HS256,
            Keyed::Hs384(_) => Algorithm::HS384,
            Keyed::Hs512(_) => Algorithm::HS512,
        }
    }

    fn tag(&self, msg: &[u8]) -> Vec<u8> {
        match self.clone() {
            Keyed::Hs256(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
            Keyed::Hs384(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
            Keyed::Hs512(mac) => mac.chain_update(msg).finalize().into_bytes().to_vec(),
        }
    }

    fn check(&self, msg: &[u8], tag: &[u8]) -> std::result::Result<(), SignatureError> {
        let ok = match self.clone() {
            Keyed::Hs256(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
            Keyed::Hs384(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
            Keyed::Hs512(mac) => mac.chain_update(msg).verify_slice(tag).is_ok(),
        };
        ok.then_some(()).ok_or_else(SignatureError::new)
    }
}

struct HmacSigner(Keyed);

impl Signer<Vec<u8>> for HmacSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        Ok(self.0.tag(msg))
    }
}

impl JwtSigner for HmacSigner {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

struct HmacVerifier(Keyed);

impl Verifier<Vec<u8>> for HmacVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        self.0.check(msg, signature)
    }
}

impl JwtVerifier for HmacVerifier {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(HmacSigner(Keyed::new(
        *algorithm,
        key.family(),
        key.as_bytes(),
    )?)))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(HmacVerifier(Keyed::new(
        *algorithm,
        key.family(),
        key.try_get_as_bytes()?,
    )?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn hs256_matches_rfc_4231() {
        install();
        let key = EncodingKey::from_secret(b"Jefe");
        let signer = new_signer(&Algorithm::HS256, &key).unwrap();
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

    #[test]
    fn non_hmac_algorithms_are_refused() {
        let key = EncodingKey::from_secret(b"secret");
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            assert!(new_signer(&alg, &key).is_err());
        }
    }
}

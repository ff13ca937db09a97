//! Signing keys: loading from PKCS#8 PEM, signing tokens, and exporting the public half as
//! a JWK.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::sync::Arc;

use jsonwebtoken::crypto::JwtSigner;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use pkcs8::der::SecretDocument;
use pkcs8::PrivateKeyInfoRef;
use serde::{Deserialize, Serialize};

use crate::error::KeyError;
use crate::provider;

/// The public half of an asymmetric key, validated (on the curve, not weak).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// Raw 32-byte Ed25519 key (RFC 8032 encoding).
    Ed25519([u8; 32]),
    /// P-256 affine coordinates, big-endian.
    P256 { x: [u8; 32], y: [u8; 32] },
}

impl PublicKey {
    /// Validates a raw Ed25519 public key (32 bytes, not of small order).
    pub fn ed25519(raw: &[u8]) -> Result<Self, KeyError> {
        let key = provider::ed25519_verifying_key(raw)
            .map_err(|_| KeyError::InvalidKey("not a valid Ed25519 public key"))?;
        Ok(PublicKey::Ed25519(key.to_bytes()))
    }

    /// Validates P-256 coordinates (each 32 bytes, point on the curve).
    pub fn p256(x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        let bad = || KeyError::InvalidKey("not a valid P-256 public key");
        let (x, y): ([u8; 32], [u8; 32]) = (
            x.try_into().map_err(|_| bad())?,
            y.try_into().map_err(|_| bad())?,
        );
        provider::p256_verifying_key(&sec1_uncompressed(&x, &y)).map_err(|_| bad())?;
        Ok(PublicKey::P256 { x, y })
    }

    /// The only algorithm this key is ever used with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::EdDSA,
            PublicKey::P256 { .. } => Algorithm::ES256,
        }
    }

    /// The key in the form this crate's provider verifies with.
    pub fn decoding_key(&self) -> DecodingKey {
        // jsonwebtoken's `from_*_der` constructors just tag bytes with a family; for Ed and
        // EC public keys the bytes its providers expect are the raw key / SEC1 point.
        match self {
            PublicKey::Ed25519(raw) => DecodingKey::from_ed_der(raw),
            PublicKey::P256 { x, y } => DecodingKey::from_ec_der(&sec1_uncompressed(x, y)),
        }
    }

    /// The public JWK (RFC 7517/8037), with `kid`, `alg` and `use: "sig"`.
    pub fn to_jwk(&self, kid: &str) -> PublicJwk {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let (kty, crv, x, y) = match self {
            PublicKey::Ed25519(raw) => ("OKP", "Ed25519", b64(raw), None),
            PublicKey::P256 { x, y } => ("EC", "P-256", b64(x), Some(b64(y))),
        };
        PublicJwk {
            kty: kty.into(),
            crv: crv.into(),
            x,
            y,
            kid: kid.into(),
            alg: alg_name(self.algorithm()).into(),
            key_use: "sig".into(),
        }
    }
}

fn sec1_uncompressed(x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    point
}

pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        Algorithm::HS256 => "HS256",
        // Nothing else is ever constructed by this crate.
        _ => "unsupported",
    }
}

/// A public JWK as published in a JWKS. Field order matches common practice; serde
/// writes them in declaration order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

/// A key this service signs tokens with, under a fixed `kid` and algorithm.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    /// The parsed private key, for asymmetric keys. jsonwebtoken's `encode` would ask the
    /// provider to re-parse the PKCS#8 DER on every call, which re-derives the public key:
    /// a second scalar multiplication that doubles the cost of issuing a token.
    prepared: Option<Arc<dyn JwtSigner + Send + Sync>>,
    /// `None` for HMAC: a shared secret has no public half to publish.
    public: Option<PublicKey>,
}

impl std::fmt::Debug for SigningKey {
    // Never print key material, not even by accident in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads an Ed25519 (→ EdDSA) or P-256 (→ ES256) private key from unencrypted PKCS#8
    /// PEM (`-----BEGIN PRIVATE KEY-----`), as written by `openssl genpkey`.
    pub fn from_pkcs8_pem(kid: impl Into<String>, pem: &str) -> Result<Self, KeyError> {
        // SecretDocument zeroizes the decoded DER when dropped.
        let (label, der) =
            SecretDocument::from_pem(pem).map_err(|e| KeyError::Pem(e.to_string()))?;
        if label != "PRIVATE KEY" {
            return Err(KeyError::PemLabel(label.to_owned()));
        }
        Self::from_pkcs8_der(kid, der.as_bytes())
    }

    /// As [`from_pkcs8_pem`](Self::from_pkcs8_pem), from DER bytes.
    pub fn from_pkcs8_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, KeyError> {
        // Dispatch on the PKCS#8 algorithm OID rather than "try Ed25519, then P-256", so
        // the error for e.g. a P-384 or RSA key says what is wrong.
        let info = PrivateKeyInfoRef::try_from(der)
            .map_err(|_| KeyError::InvalidKey("not a PKCS#8 PrivateKeyInfo"))?;
        let oid = info.algorithm.oid;
        type Prepared = Arc<dyn JwtSigner + Send + Sync>;
        let (alg, encoding, public, prepared): (_, _, _, Prepared) = if oid
            == ed25519_dalek::pkcs8::ALGORITHM_OID
        {
            let key = provider::ed25519_signing_key(der)
                .map_err(|_| KeyError::InvalidKey("bad Ed25519 PKCS#8 key"))?;
            let public = PublicKey::Ed25519(key.verifying_key().to_bytes());
            let prepared = Arc::new(provider::Ed25519Signer(key));
            (
                Algorithm::EdDSA,
                EncodingKey::from_ed_der(der),
                public,
                prepared,
            )
        } else if oid == p256::elliptic_curve::ALGORITHM_OID {
            // id-ecPublicKey covers every curve; the P-256 parser checks the curve OID.
            let key = provider::p256_signing_key(der).map_err(|_| KeyError::UnsupportedKeyType)?;
            let point = key.verifying_key().to_sec1_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(KeyError::InvalidKey("P-256 public key is not uncompressed"));
            };
            let public = PublicKey::p256(x, y)?;
            let prepared = Arc::new(provider::Es256Signer(key));
            (
                Algorithm::ES256,
                EncodingKey::from_ec_der(der),
                public,
                prepared,
            )
        } else {
            return Err(KeyError::UnsupportedKeyType);
        };
        Ok(SigningKey {
            kid: kid.into(),
            alg,
            encoding,
            prepared: Some(prepared),
            public: Some(public),
        })
    }

    /// An HS256 key. The secret must be at least 32 bytes: RFC 7518 §3.2 requires a key
    /// at least as long as the hash output.
    pub fn hmac(kid: impl Into<String>, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::ShortSecret);
        }
        Ok(SigningKey {
            kid: kid.into(),
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            prepared: None,
            public: None,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public half; `None` for HMAC keys.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_ref()
    }

    /// The public JWK to publish; `None` for HMAC keys, which must never be published.
    pub fn public_jwk(&self) -> Option<PublicJwk> {
        self.public.as_ref().map(|p| p.to_jwk(&self.kid))
    }

    /// The HMAC secret, for building the matching verification key. Crate-private: the
    /// only way out of a `SigningKey` for a secret is into a `VerificationKeys`.
    pub(crate) fn hmac_secret(&self) -> Option<&[u8]> {
        (self.alg == Algorithm::HS256).then(|| self.encoding.as_bytes())
    }

    /// Signs `claims` as a compact JWS with header `{"typ":"JWT","alg":...,"kid":...}`.
    /// HS256 goes through jsonwebtoken's provider, so [`crate::install`] (or the
    /// verify-only provider) must have been called.
    pub fn sign<T: Serialize>(&self, claims: &T) -> jsonwebtoken::errors::Result<String> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        let Some(signer) = &self.prepared else {
            return jsonwebtoken::encode(&header, claims, &self.encoding);
        };
        // Byte-for-byte what `jsonwebtoken::encode` produces (a test checks this), but
        // with the already-parsed key.
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let message = format!(
            "{}.{}",
            b64(&serde_json::to_vec(&header)?),
            b64(&serde_json::to_vec(claims)?)
        );
        let signature = signer.try_sign(message.as_bytes())?;
        Ok(format!("{message}.{}", b64(&signature)))
    }
}

/// A JWKS document (`{"keys":[...]}`) with the public halves of `keys`; HMAC keys are
/// left out.
pub fn public_jwks<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> String {
    #[derive(Serialize)]
    struct Jwks {
        keys: Vec<PublicJwk>,
    }
    let keys = keys
        .into_iter()
        .filter_map(SigningKey::public_jwk)
        .collect();
    // Serializing plain strings into a String cannot fail.
    serde_json::to_string(&Jwks { keys }).expect("JWKS serializes")
}

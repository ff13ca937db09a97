//! Error types. Key-loading errors and token errors are separate because they happen at
//! different times (cold start vs. per request) and are handled differently: a bad key is
//! a deployment bug, a bad token is a 401.

use jsonwebtoken::Algorithm;

/// A key or JWKS document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM document: {0}")]
    Pem(String),
    #[error("PEM label is {0:?}; expected \"PRIVATE KEY\" (PKCS#8). Convert SEC1 keys with `openssl pkcs8 -topk8 -nocrypt`")]
    PemLabel(String),
    #[error("unsupported private key type (only Ed25519 and P-256 are supported)")]
    UnsupportedKeyType,
    #[error("invalid key material: {0}")]
    InvalidKey(&'static str),
    #[error("HMAC secret must be at least 32 bytes (RFC 7518 §3.2)")]
    ShortSecret,
    #[error("JWKS is not valid JSON of the expected shape: {0}")]
    JwksJson(#[from] serde_json::Error),
    #[error("JWKS entry {index}: {reason}")]
    JwksEntry { index: usize, reason: &'static str },
    #[error("duplicate kid {0:?}")]
    DuplicateKid(String),
}

/// A token was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("token longer than the accepted maximum")]
    TooLong,
    #[error("token header is malformed: {0}")]
    MalformedHeader(jsonwebtoken::errors::Error),
    #[error("token header has no kid")]
    MissingKid,
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    #[error("header alg {header:?} does not match the key's alg {key:?}")]
    AlgorithmMismatch { header: Algorithm, key: Algorithm },
    #[error("token header carries {0:?}, which is never honoured")]
    ForbiddenHeader(&'static str),
    /// Bad signature, expired, wrong audience, ...: jsonwebtoken's own verdict.
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

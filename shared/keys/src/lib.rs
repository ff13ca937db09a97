//! Asymmetric JWT keys for wristband: HS256 (as today), EdDSA (Ed25519) and ES256 (P-256)
//! on top of `jsonwebtoken` without any of its crypto backend features.
//!
//! * [`provider`]: jsonwebtoken `CryptoProvider`s built on RustCrypto (`hmac`, `sha2`,
//!   `ed25519-dalek`, `p256`); [`install`] or [`install_verify_only`] once at start-up.
//! * [`SigningKey`]: a private key (PKCS#8 PEM) or HMAC secret with its `kid`; signs
//!   tokens and exports its public JWK; [`public_jwks`] builds the JWKS document.
//! * [`VerificationKeys`]: the key ring, by `kid`, each key pinned to one algorithm;
//!   built from our own keys or parsed from a JWKS; [`VerificationKeys::decode`] verifies.
//!
//! ```
//! # use wristband_keys::*;
//! # let pem = include_str!("../fixtures/ed25519.pem");
//! install();
//! let key = SigningKey::from_pkcs8_pem("2026-05-ed", pem).unwrap();
//! let jwks = public_jwks([&key]); // publish this
//! let token = key.sign(&serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64})).unwrap();
//!
//! let ring = VerificationKeys::from_jwks(&jwks).unwrap();
//! let data = ring
//!     .decode::<serde_json::Value>(&token, &jsonwebtoken::Validation::default())
//!     .unwrap();
//! assert_eq!(data.claims["sub"], "alice");
//! ```

mod error;
mod keyring;
mod keys;
pub mod provider;

pub use error::{KeyError, VerifyError};
pub use keyring::{VerificationKeys, MAX_TOKEN_LEN};
pub use keys::{alg_name, public_jwks, PublicJwk, PublicKey, SigningKey};
pub use provider::{install, install_verify_only};

//! wristband's core: issuing and verifying tokens, the one [`Authenticator`] (signature,
//! claims, type, revocation), and the storage traits.
//!
//! Nothing here knows HTTP, Lambda, DynamoDB or argon2: the HTTP layer (`wristband-http`)
//! maps [`AuthError`] to the contract's responses, `wristband-dynamodb` implements the
//! stores, and the issuing functions bring password hashing (`wristband-services`).

pub mod audit;
pub mod authenticator;
pub mod cbor;
pub mod config;
pub mod email;
pub mod error;
pub mod ids;
pub mod mail;
pub mod mfa;
pub mod onetime;
pub mod store;
pub mod tokens;
pub mod webauthn;

pub use authenticator::{Authenticator, Requirements};
pub use config::{Config, ConfigError, CookieSettings, SameSite, TableNames, TokenLocation};
pub use error::{ApiError, AuthError, BoxError, StoreError};
pub use tokens::{Claims, TokenIssuer, TokenPair, TokenType, TokenVerifier};

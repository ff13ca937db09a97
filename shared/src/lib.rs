//! wristband's shared library: tokens, passwords, request parsing, errors, configuration
//! and stores. The functions in `functions/` are thin `main`s around [`lambda::serve`].

pub mod app;
pub mod aws;
pub mod config;
pub mod error;
pub mod http;
pub mod jwt_crypto;
pub mod lambda;
pub mod logging;
pub mod password;
pub mod request;
pub mod store;
pub mod test_support;
pub mod tokens;

pub use app::App;
pub use config::Config;
pub use error::{ApiError, StoreError};
pub use http::{handle, Endpoint};

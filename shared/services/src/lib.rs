//! The endpoints that issue tokens and manage sessions (register, login, refresh, logout,
//! logout-all, sessions, password): one module per endpoint with its typed input and
//! output, the [`App`] a function builds for them, and password hashing. No HTTP, no AWS
//! SDK: `wristband-endpoints` parses requests into these inputs, the functions' `main`
//! builds the stores. Verifier functions do not link this crate.

pub mod app;
pub mod password;
pub mod services;

pub use app::App;

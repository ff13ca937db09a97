//! The endpoints that issue tokens and manage sessions (register, login, refresh, logout,
//! logout-all, sessions, password): their services, their HTTP adapters, password hashing
//! and the wiring they share. Verifier functions do not link this crate.

pub mod app;
pub mod endpoints;
pub mod hashing_main;
pub mod password;
pub mod services;

pub use app::{App, Keys};
pub use endpoints::ENDPOINTS;

use wristband_http::{Body, Request, Response};

/// Answers one request with this crate's endpoints: route, method, CORS, errors.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    wristband_http::respond(ENDPOINTS, &app.cors, req, |endpoint, req| {
        app.call(endpoint, req)
    })
    .await
}

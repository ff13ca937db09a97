//! wristband's HTTP layer, the only crate that knows `lambda_http`: event conversion,
//! request parsing, credentials, the one error → response mapping, `serve` over the
//! routes the caller gives, wristband's own route table (`api`), the guard for users'
//! own functions and the API Gateway authorizer.

pub mod api;
pub mod authorizer;
pub mod credentials;
pub mod error;
pub mod guard;
pub mod lambda;
pub mod logging;
pub mod request;
pub mod response;
pub mod routes;

pub use error::{ApiError, ErrorResponse};
pub use guard::Guard;
pub use lambda::{refuse_to_start, run, serve, serve_handler, Error, Handler, HandlerFuture};
pub use lambda_http::http::{header, HeaderName, HeaderValue, StatusCode};
pub use lambda_http::{Body, Request, Response};
pub use response::{respond, Cors, Reply};
pub use routes::Route;
pub use wristband_core::audit;
pub use wristband_core::{Claims, Requirements};

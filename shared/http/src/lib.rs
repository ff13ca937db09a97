//! wristband's HTTP layer, the only crate that knows `lambda_http`: request parsing,
//! credentials, the one error → response mapping, the route table, the Lambda serve loop,
//! the guard for users' own functions and the API Gateway authorizer.

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
pub use lambda::{refuse_to_start, serve, Error};
pub use lambda_http::http::{header, HeaderName, HeaderValue, StatusCode};
pub use lambda_http::{Body, Request, Response};
pub use response::{respond, Cors, Reply};
pub use routes::Endpoint;
pub use wristband_core::audit;
pub use wristband_core::{Claims, Requirements};

//! The `not-found` Lambda function (API Gateway's `$default` route): 404 for every path,
//! with CORS. Needs no secret and no DynamoDB client.

use wristband_http::{serve, ApiError, Cors};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        // No routes: every request is answered 404 before the handler could run.
        serve(&[], Cors::from_env(), (), |_, _, _| async {
            Err(ApiError::NotFound("No such path"))
        })
        .await
    })
}

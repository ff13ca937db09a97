//! The `not-found` Lambda function (API Gateway's `$default` route): 404 for every path,
//! with CORS. Needs no secret and no DynamoDB client.

use wristband_http::Cors;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    // No endpoints: every request is answered 404 before the handler could run.
    wristband_http::serve(&[], Cors::from_env(), (), |_, _, _| async {
        Err(wristband_http::ApiError::NotFound("No such path"))
    })
    .await
}

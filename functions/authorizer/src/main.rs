//! The `authorizer` Lambda function: API Gateway's HTTP API Lambda authorizer (REQUEST,
//! payload 2.0, simple responses) on wristband's Authenticator. No users table, no argon2,
//! no signing key.

use wristband_core::{Config, Requirements};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    let config = Config::from_env().map_err(wristband_http::refuse_to_start)?;
    let client = wristband_dynamodb::client_from_env();
    let authenticator = wristband_dynamodb::authenticator(&config, &client)
        .map_err(wristband_http::refuse_to_start)?;
    wristband_http::authorizer::serve(authenticator, Requirements::access()).await
}

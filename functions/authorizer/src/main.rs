//! The `authorizer` Lambda function: API Gateway's HTTP API Lambda authorizer (REQUEST,
//! payload 2.0, simple responses) on wristband's Authenticator. No users table, no argon2,
//! no signing key, no AWS SDK (the revocation check is wristband-dynamodb-lite).

use std::sync::Arc;

use wristband_core::{Config, Requirements};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    let config = Config::from_env().map_err(wristband_http::refuse_to_start)?;
    let dynamodb = wristband_dynamodb_lite::DynamoDbHttp::from_env()
        .map_err(wristband_http::refuse_to_start)?;
    let authenticator = wristband_dynamodb_lite::authenticator(&config, Arc::new(dynamodb))
        .map_err(wristband_http::refuse_to_start)?;
    wristband_http::authorizer::serve(authenticator, Requirements::access()).await
}

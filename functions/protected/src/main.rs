//! The `protected` Lambda function: verification key, revocation table, guard. No users
//! table, no argon2, no signing key, no AWS SDK (the revocation check is wristband-dynamodb-lite).

use std::sync::Arc;

use wristband_core::Config;
use wristband_http::{refuse_to_start, Cors, Endpoint, Guard};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    let config = Config::from_env().map_err(refuse_to_start)?;
    let dynamodb = wristband_dynamodb_lite::DynamoDbHttp::from_env().map_err(refuse_to_start)?;
    let authenticator = wristband_dynamodb_lite::authenticator(&config, Arc::new(dynamodb))
        .map_err(refuse_to_start)?;
    let guard = Guard::new(authenticator, protected::requirements());
    let cors = Cors::new(config.cors_allow_origins);
    wristband_http::serve(&[Endpoint::Protected], cors, guard, |guard, _, req| {
        protected::handle(guard, req)
    })
    .await
}

//! The `me` Lambda function: build the guard once (verification keys and the SDK-free
//! revocation check of wristband-dynamodb-lite), then serve.

use std::sync::Arc;

use wristband_core::Config;
use wristband_http::{refuse_to_start, Cors, Endpoint, Guard};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    let config = Config::from_env().map_err(refuse_to_start)?;
    let dynamodb = wristband_dynamodb_lite::DynamoDbHttp::from_env().map_err(refuse_to_start)?;
    let guard = Guard::new(
        wristband_dynamodb_lite::authenticator(&config, Arc::new(dynamodb))
            .map_err(refuse_to_start)?,
        me::requirements(),
    );
    let cors = Cors::new(config.cors_allow_origins);
    wristband_http::serve(&[Endpoint::Me], cors, guard, |guard, _, req| {
        me::handle(guard, req)
    })
    .await
}

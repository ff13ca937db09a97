//! The `me` Lambda function: build the guard once, then serve.

use wristband_core::Config;
use wristband_http::{refuse_to_start, Cors, Endpoint, Guard};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    let config = Config::from_env().map_err(refuse_to_start)?;
    let client = wristband_dynamodb::client_from_env();
    let guard = Guard::new(
        wristband_dynamodb::authenticator(&config, &client).map_err(refuse_to_start)?,
        me::requirements(),
    );
    let cors = Cors::new(config.cors_allow_origins);
    wristband_http::serve(&[Endpoint::Me], cors, guard, |guard, _, req| {
        me::handle(guard, req)
    })
    .await
}

//! The `authorizer` Lambda function: API Gateway's HTTP API Lambda authorizer (REQUEST,
//! payload 2.0, simple responses) on wristband's Authenticator. No users table, no argon2,
//! no signing key, no AWS SDK (the revocation check is wristband-dynamodb-lite).

use wristband_core::{Config, Requirements};
use wristband_http::refuse_to_start;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let authenticator =
            wristband_dynamodb_lite::authenticator_from_env(&config).map_err(refuse_to_start)?;
        wristband_http::authorizer::serve(authenticator, Requirements::access()).await
    })
}

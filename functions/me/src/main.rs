//! The `me` Lambda function: `GET /me`, the caller's claims behind a guard. No users table, no argon2, no signing key, no
//! AWS SDK (the revocation check is wristband-dynamodb-lite).

use wristband_core::Config;
use wristband_http::{api, refuse_to_start, serve, Cors, Guard};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let authenticator =
            wristband_dynamodb_lite::authenticator_from_env(&config).map_err(refuse_to_start)?;
        let guard = Guard::new(authenticator, me::requirements());
        let cors = Cors::new(config.cors_allow_origins);
        serve(api::ME_ROUTES, cors, guard, |guard, _, req| {
            me::handle(guard, req)
        })
        .await
    })
}

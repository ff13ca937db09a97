//! The `protected` Lambda function: `GET /protected`, a guard and a greeting. No users table, no argon2, no signing key, no
//! AWS SDK (the revocation check is wristband-dynamodb-lite).

use wristband_core::Config;
use wristband_http::{api, refuse_to_start, serve, Cors, Guard};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let authenticator =
            wristband_dynamodb_lite::authenticator_from_env(&config).map_err(refuse_to_start)?;
        let guard = Guard::new(authenticator, protected::requirements());
        let cors = Cors::new(config.cors_allow_origins);
        serve(api::PROTECTED_ROUTES, cors, guard, |guard, _, req| {
            protected::handle(guard, req)
        })
        .await
    })
}

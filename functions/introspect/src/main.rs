//! The `introspect` Lambda function: verification keys, the revocation check over
//! DynamoDB without the SDK, and the clients. No users table, no argon2, no signing key.

use introspect::{Clients, Introspection};
use wristband_core::Config;
use wristband_http::{api, refuse_to_start, serve, Cors};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let clients = Clients::from_env().map_err(refuse_to_start)?;
        let authenticator =
            wristband_dynamodb_lite::authenticator_from_env(&config).map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins);
        let introspection = Introspection {
            authenticator,
            clients,
        };
        serve(
            api::INTROSPECT_ROUTES,
            cors,
            introspection,
            |state, _, req| introspect::handle(state, req),
        )
        .await
    })
}

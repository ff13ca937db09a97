//! The Lambda function: verification keys and the revocation check, built once.

use wristband_core::Config;
use wristband_http::{refuse_to_start, serve, Cors};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let authenticator =
            wristband_dynamodb_lite::authenticator_from_env(&config).map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        serve(
            orders::ROUTES,
            cors,
            orders::Guards::new(authenticator),
            orders::handle,
        )
        .await
    })
}

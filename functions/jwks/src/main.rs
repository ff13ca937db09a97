//! The `jwks` Lambda function: public keys only (JWT_PUBLIC_KEYS), no DynamoDB client.

use wristband_core::Config;
use wristband_http::{api, refuse_to_start, serve, Cors};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        wristband_keys::install_verify_only();
        let config = Config::from_env().map_err(refuse_to_start)?;
        let max_age = jwks::max_age_from_env().map_err(refuse_to_start)?;
        let documents = jwks::Documents::from_config(&config, max_age).map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins);
        serve(
            api::JWKS_ROUTES,
            cors,
            documents,
            |documents, route, req| documents.handle(route, req),
        )
        .await
    })
}

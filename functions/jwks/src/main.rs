//! The `jwks` Lambda function: public keys only (JWT_PUBLIC_KEYS), no DynamoDB client.

use wristband_core::Config;
use wristband_http::{refuse_to_start, Cors, Endpoint};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    wristband_http::logging::init();
    wristband_keys::install_verify_only();
    let config = Config::from_env().map_err(refuse_to_start)?;
    let max_age = jwks::max_age_from_env().map_err(refuse_to_start)?;
    let documents = jwks::Documents::from_config(&config, max_age).map_err(refuse_to_start)?;
    let cors = Cors::new(config.cors_allow_origins);
    let endpoints = &[Endpoint::Jwks, Endpoint::OpenIdConfiguration];
    wristband_http::serve(endpoints, cors, documents, |documents, endpoint, req| {
        documents.handle(endpoint, req)
    })
    .await
}

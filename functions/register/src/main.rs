//! The `register` Lambda function, `POST /register`: argon2id and the users table; no key (it issues no token).
//! Linked at opt-level 2 for argon2id (Cargo.toml).

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let app = App::new(config)
            .with_password_hasher()
            .with_users(db.users());
        serve(api::REGISTER_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::register(app, req)
        })
        .await
    })
}

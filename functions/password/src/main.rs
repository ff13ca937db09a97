//! The `password` Lambda function, `POST /password`: verification keys, argon2id, the
//! users and sessions stores and the session ender. Linked at opt-level 2 for argon2id
//! (Cargo.toml).

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_dynamodb_lite::revocation_check_from_env;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let revocation_check = revocation_check_from_env(&config).map_err(refuse_to_start)?;
        let app = App::new(config)
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_password_hasher()
            .with_users(db.users())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender());
        serve(api::PASSWORD_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::change_password(app, req)
        })
        .await
    })
}

//! The `login` Lambda function, `POST /login`: the signing key, argon2id, the users,
//! sessions and login-throttle stores, and the session ender (the session cap). Linked
//! at opt-level 2 for argon2id (Cargo.toml).

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
            .issuing()
            .map_err(refuse_to_start)?
            .with_password_hasher()
            .with_users(db.users())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender())
            .with_login_throttle(db.login_throttle())
            .with_mfa_challenges(db.mfa_challenges());
        serve(api::LOGIN_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::login(app, req)
        })
        .await
    })
}

//! The `login-mfa` Lambda function, `POST /login/mfa`: the signing key,
//! `MFA_ENCRYPTION_KEY`, the users table (the factor), `mfa_token`s, login throttling, the
//! sessions store and the session ender (the session cap). No argon2: the password was
//! checked by `/login`.

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        config.mfa_key().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let app = App::new(config)
            .issuing()
            .map_err(refuse_to_start)?
            .with_users(db.users())
            .with_mfa(db.mfa())
            .with_mfa_challenges(db.mfa_challenges())
            .with_login_throttle(db.login_throttle())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender());
        serve(api::LOGIN_MFA_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::login_mfa(app, req)
        })
        .await
    })
}

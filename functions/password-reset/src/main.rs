//! The `password-reset` Lambda function, `POST /password/forgot` and `POST /password/reset`: argon2id, the users, revoked-tokens and sessions stores, the session ender, link tokens, the mail limits and the mailer; no token keys (neither route takes a token). Linked at opt-level 2 for argon2id
//! (Cargo.toml).

use std::sync::Arc;

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;
use wristband_ses::SesMailer;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let links = config.mail.links().map_err(refuse_to_start)?;
        let mailer = Arc::new(SesMailer::from_env(links.mail_from).map_err(refuse_to_start)?);
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let app = App::new(config)
            .with_password_hasher()
            .with_users(db.users())
            .with_accounts(db.accounts())
            .with_revocations(db.revoked_tokens())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender())
            .with_one_time_tokens(db.one_time_tokens())
            .with_rate_limits(db.rate_limits())
            .with_mailer(mailer);
        serve(api::PASSWORD_RESET_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::password_reset(app, route, req)
        })
        .await
    })
}

//! The `account` Lambda function, `GET /account` and `DELETE /account`: verification keys, argon2id (deletion asks for the password), the users, revoked-tokens and sessions stores, the session ender, link tokens and the mailer (the deletion notice). Linked at opt-level 2 for argon2id
//! (Cargo.toml).

use std::sync::Arc;

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_dynamodb_lite::revocation_check_from_env;
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
        let revocation_check = revocation_check_from_env(&config).map_err(refuse_to_start)?;
        let app = App::new(config)
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_password_hasher()
            .with_users(db.users())
            .with_accounts(db.accounts())
            .with_revocations(db.revoked_tokens())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender())
            .with_one_time_tokens(db.one_time_tokens())
            .with_mailer(mailer);
        serve(api::ACCOUNT_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::account(app, route, req)
        })
        .await
    })
}

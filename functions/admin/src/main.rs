//! The `admin` Lambda function, `/admin/users` and `/admin/users/{username}[/disable |
//! /enable | /logout-all]` for a token with the `admin` role: verification keys, the users
//! table (accounts), revocations, the sessions store and the session ender, link tokens
//! (a deletion removes them) and SES for the deletion notice (`MAIL_FROM`, required).

use std::sync::Arc;

use wristband_core::{Config, ConfigError};
use wristband_dynamodb::Tables;
use wristband_dynamodb_lite::revocation_check_from_env;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;
use wristband_ses::SesMailer;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        // The deletion notice is always sent: no MAIL_FROM, no start. (No APP_URL needed:
        // the notice has no link.)
        let mail_from = config
            .mail
            .mail_from
            .as_deref()
            .ok_or(ConfigError::MissingMailSetting("MAIL_FROM"))
            .map_err(refuse_to_start)?;
        let mailer = SesMailer::from_env(mail_from).map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let revocation_check = revocation_check_from_env(&config).map_err(refuse_to_start)?;
        let app = App::new(config)
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_users(db.users())
            .with_accounts(db.accounts())
            .with_revocations(db.revoked_tokens())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender())
            .with_one_time_tokens(db.one_time_tokens())
            .with_mailer(Arc::new(mailer));
        serve(api::ADMIN_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::admin(app, route, req)
        })
        .await
    })
}

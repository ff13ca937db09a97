//! The `register` Lambda function, `POST /register`: argon2id, the users table (with the
//! address claims), and for an address the verification link: link tokens, the mail
//! limits and the mailer. No key (it issues no token). Linked at opt-level 2 for argon2id
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
            .with_registry(db.users())
            .with_one_time_tokens(db.one_time_tokens())
            .with_rate_limits(db.rate_limits())
            .with_mailer(mailer);
        serve(api::REGISTER_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::register(app, req)
        })
        .await
    })
}

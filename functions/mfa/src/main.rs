//! The `mfa` Lambda function, `POST /mfa/totp`, `POST /mfa/totp/confirm`, `POST
//! /mfa/recovery-codes` and `DELETE /mfa/totp`: verification keys, `MFA_ENCRYPTION_KEY`
//! and the users table (the factor lives on the user's item). No argon2, no signing key.

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_dynamodb_lite::revocation_check_from_env;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        config.mfa_key().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let revocation_check = revocation_check_from_env(&config).map_err(refuse_to_start)?;
        let app = App::new(config)
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_users(db.users())
            .with_mfa(db.mfa());
        serve(api::MFA_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::mfa(app, route, req)
        })
        .await
    })
}

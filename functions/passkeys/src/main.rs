//! The `passkeys` Lambda function, `POST /passkeys/registration/options`, `POST
//! /passkeys/registration`, `GET /passkeys` and `DELETE /passkeys/{id}`: verification
//! keys, the relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`), the users table (the
//! passkeys live there) and passkey challenges. No argon2, no signing key.

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_dynamodb_lite::revocation_check_from_env;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        config.relying_party().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let revocation_check = revocation_check_from_env(&config).map_err(refuse_to_start)?;
        let app = App::new(config)
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_users(db.users())
            .with_passkeys(db.passkeys())
            .with_webauthn_challenges(db.webauthn_challenges());
        serve(api::PASSKEYS_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::passkeys(app, route, req)
        })
        .await
    })
}

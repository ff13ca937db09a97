//! The `login-passkey` Lambda function, `POST /login/passkey/options` and `POST
//! /login/passkey`: the signing key, the relying party (`WEBAUTHN_RP_ID`,
//! `WEBAUTHN_ORIGINS`), the users table (passkeys and accounts), passkey challenges,
//! `mfa_token`s (a passkey answers the second step too), login throttling, the sessions
//! store and the session ender (the session cap). No argon2, no `MFA_ENCRYPTION_KEY`.

use wristband_core::Config;
use wristband_dynamodb::Tables;
use wristband_http::{api, refuse_to_start, serve, Cors};
use wristband_services::App;

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        config.relying_party().map_err(refuse_to_start)?;
        let cors = Cors::new(config.cors_allow_origins.clone());
        let db = Tables::from_env(&config.tables);
        let app = App::new(config)
            .issuing()
            .map_err(refuse_to_start)?
            .with_users(db.users())
            .with_passkeys(db.passkeys())
            .with_webauthn_challenges(db.webauthn_challenges())
            .with_mfa_challenges(db.mfa_challenges())
            .with_login_throttle(db.login_throttle())
            .with_sessions(db.sessions())
            .with_session_ender(db.session_ender());
        serve(api::LOGIN_PASSKEY_ROUTES, cors, app, |app, route, req| {
            wristband_endpoints::login_passkey(app, route, req)
        })
        .await
    })
}

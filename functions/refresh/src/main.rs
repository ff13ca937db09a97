//! The `refresh` Lambda function, `POST /refresh`: the signing key (and its verification side), the
//! users store (roles are re-read) and the sessions store.

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
            .issuing()
            .map_err(refuse_to_start)?
            .verifying(revocation_check)
            .map_err(refuse_to_start)?
            .with_revocations(db.revoked_tokens())
            .with_users(db.users())
            .with_sessions(db.sessions());
        serve(api::REFRESH_ROUTES, cors, app, |app, _, req| {
            wristband_endpoints::refresh(app, req)
        })
        .await
    })
}

//! The `revoke` Lambda function: verification keys and the revocation writes over DynamoDB
//! without the SDK (PutItem of a revocation, DeleteItem of a session). No users table, no
//! argon2, no signing key.

use std::sync::Arc;

use revoke::Revocation;
use wristband_core::{Config, TokenVerifier};
use wristband_dynamodb_lite::{DynamoDbHttp, LiteRevokedTokens, LiteSessionEnder};
use wristband_http::{api, refuse_to_start, serve, Cors};

fn main() -> Result<(), wristband_http::Error> {
    wristband_http::run(async {
        let config = Config::from_env().map_err(refuse_to_start)?;
        let http = Arc::new(DynamoDbHttp::from_env().map_err(refuse_to_start)?);
        let tables = &config.tables;
        let revocation = Revocation {
            verifier: TokenVerifier::public_only(&config).map_err(refuse_to_start)?,
            revocations: Arc::new(LiteRevokedTokens::new(http.clone(), &tables.revoked_tokens)),
            ender: Arc::new(LiteSessionEnder::new(
                http,
                &tables.revoked_tokens,
                &tables.sessions,
            )),
            refresh_ttl: config.refresh_ttl.as_secs(),
        };
        let cors = Cors::new(config.cors_allow_origins);
        serve(api::REVOKE_ROUTES, cors, revocation, |state, _, req| {
            revoke::handle(state, req)
        })
        .await
    })
}

//! Creates wristband's DynamoDB tables (TTL on) where they are missing: `make run` and
//! `make test` use it against DynamoDB Local. In AWS, template.yaml owns the tables.
//! Reads USERS_TABLE, REVOKED_TOKENS_TABLE, SESSIONS_TABLE and AWS_ENDPOINT_URL.

use shared::config::TableNames;
use shared::error::error_chain;
use shared::store::ensure_tables;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let tables = TableNames::from_lookup(|name| std::env::var(name).ok());
    let client = shared::app::dynamodb_client().await;
    match ensure_tables(&client, &tables).await {
        Ok(()) => {
            println!(
                "tables ready: {}, {}, {}",
                tables.users, tables.revoked_tokens, tables.sessions
            );
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("could not create tables: {}", error_chain(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

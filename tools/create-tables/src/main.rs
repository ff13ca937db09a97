//! Creates wristband's DynamoDB tables (TTL on) where they are missing: `make run` and
//! `make test` use it against DynamoDB Local. In AWS, template.yaml owns the tables.
//! Reads USERS_TABLE, REVOKED_TOKENS_TABLE, SESSIONS_TABLE and AWS_ENDPOINT_URL.

use wristband_core::config::TableNames;
use wristband_core::error::error_chain;
use wristband_dynamodb::ensure_tables;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let tables = TableNames::from_lookup(|name| std::env::var(name).ok());
    let client = wristband_dynamodb::client_from_env();
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

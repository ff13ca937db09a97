//! `wristband-admin`: an operator's tool for users' roles in the configured users table.
//!
//! ```text
//! cargo run -p wristband-admin -- roles alice                 # list
//! cargo run -p wristband-admin -- roles alice add admin       # add (no duplicates)
//! cargo run -p wristband-admin -- roles alice remove admin    # remove
//! cargo run -p wristband-admin -- roles alice set admin,ops   # replace (empty: none)
//! ```
//!
//! and for key rotation (EdDSA/ES256):
//!
//! ```text
//! cargo run -p wristband-admin -- keys jwks    # the public JWKS of JWT_PRIVATE_KEY (+ JWT_PUBLIC_KEYS)
//! ```
//!
//! Reads `USERS_TABLE` and the AWS settings (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials)
//! like the functions do. Roles reach tokens at the user's next login or refresh, so a
//! removed role is gone within one access-token lifetime.

use std::process::ExitCode;

use wristband_core::config::TableNames;
use wristband_core::error::error_chain;
use wristband_core::store::UserStore;
use wristband_dynamodb::DynamoDbUsers;

const USAGE: &str = "usage: wristband-admin roles <username> [list | add <role> | remove <role> | set <role,role,...>]
       wristband-admin keys jwks";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    List,
    Add(String),
    Remove(String),
    Set(Vec<String>),
}

fn parse(args: &[String]) -> Result<(String, Command), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (username, rest) = match args.as_slice() {
        ["roles", username, rest @ ..] => (username.to_ascii_lowercase(), rest),
        _ => return Err(USAGE.to_owned()),
    };
    let command = match rest {
        [] | ["list"] => Command::List,
        ["add", role] => Command::Add(valid_role(role)?),
        ["remove", role] => Command::Remove(valid_role(role)?),
        ["set", roles] => Command::Set(
            roles
                .split(',')
                .filter(|r| !r.trim().is_empty())
                .map(valid_role)
                .collect::<Result<_, _>>()?,
        ),
        ["set"] => Command::Set(Vec::new()),
        _ => return Err(USAGE.to_owned()),
    };
    Ok((username, command))
}

/// Roles travel in tokens and in the authorizer's comma-separated context: keep them
/// short and free of commas and whitespace.
fn valid_role(role: &str) -> Result<String, String> {
    let role = role.trim();
    let ok = (1..=64).contains(&role.len())
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    ok.then(|| role.to_owned()).ok_or_else(|| {
        format!("role {role:?} must be 1 to 64 characters of letters, digits and ._-:")
    })
}

/// The roles after `command`, from the current ones.
fn apply(current: &[String], command: Command) -> Vec<String> {
    let mut roles = current.to_vec();
    match command {
        Command::List => {}
        Command::Add(role) => {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        Command::Remove(role) => roles.retain(|r| *r != role),
        Command::Set(new) => {
            roles.clear();
            for role in new {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
    }
    roles
}

/// `keys jwks`: the JWKS verifiers need (`JWT_PUBLIC_KEYS`): the public half of
/// `JWT_PRIVATE_KEY` under `JWT_KID`, plus the keys already in `JWT_PUBLIC_KEYS`.
fn print_jwks() -> ExitCode {
    let keys = wristband_core::Config::from_env().and_then(|c| c.verification_keys());
    match keys {
        Ok(keys) if !keys.public_jwks().is_empty() => {
            let jwks = serde_json::json!({ "keys": keys.public_jwks() });
            println!("{jwks}");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("JWT_ALGORITHM is HS256: its key is a secret and is never published");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("{}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["keys", "jwks"] {
        return print_jwks();
    }
    let (username, command) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let tables = TableNames::from_lookup(|name| std::env::var(name).ok());
    let users = DynamoDbUsers::new(wristband_dynamodb::client_from_env(), tables.users);
    match run(&users, &username, command).await {
        Ok(roles) => {
            println!("{username}: {}", roles.join(", "));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    users: &dyn UserStore,
    username: &str,
    command: Command,
) -> Result<Vec<String>, String> {
    let failed = |err: wristband_core::StoreError| format!("users table: {}", error_chain(&err));
    let user = users
        .get(username)
        .await
        .map_err(failed)?
        .ok_or_else(|| format!("no user {username}"))?;
    if command == Command::List {
        return Ok(user.roles);
    }
    let roles = apply(&user.roles, command);
    if !users.set_roles(username, &roles).await.map_err(failed)? {
        return Err(format!("no user {username}"));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_commands() {
        assert_eq!(
            parse(&args("roles Alice")).unwrap(),
            ("alice".into(), Command::List)
        );
        assert_eq!(
            parse(&args("roles alice add admin")).unwrap().1,
            Command::Add("admin".into())
        );
        assert_eq!(
            parse(&args("roles alice set admin,ops")).unwrap().1,
            Command::Set(vec!["admin".into(), "ops".into()])
        );
        assert_eq!(
            parse(&args("roles alice set")).unwrap().1,
            Command::Set(vec![])
        );
        for bad in [
            "",
            "roles",
            "users alice",
            "roles alice add",
            "roles alice add a,b",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn applies_without_duplicates() {
        let current = vec!["admin".to_owned()];
        assert_eq!(apply(&current, Command::Add("admin".into())), ["admin"]);
        assert_eq!(
            apply(&current, Command::Add("ops".into())),
            ["admin", "ops"]
        );
        assert!(apply(&current, Command::Remove("admin".into())).is_empty());
        assert_eq!(
            apply(&current, Command::Set(vec!["a".into(), "a".into()])),
            ["a"]
        );
    }
}

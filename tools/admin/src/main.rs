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
//! and for accounts (API.md "Administration", the same services as `/admin/users`):
//!
//! ```text
//! cargo run -p wristband-admin -- users list [--after <username>]
//! cargo run -p wristband-admin -- users show|disable|enable|logout-all|delete <username>
//! ```
//!
//! Reads `USERS_TABLE` and the AWS settings (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials)
//! like the functions do. Roles reach tokens at the user's next login or refresh, so a
//! removed role is gone within one access-token lifetime.

mod users;

use std::process::ExitCode;
use std::sync::Arc;

use wristband_core::config::TableNames;
use wristband_core::error::error_chain;
use wristband_core::mail::Mailer;
use wristband_core::store::UserStore;
use wristband_core::Config;
use wristband_dynamodb::{DynamoDbUsers, Tables};
use wristband_services::App;
use wristband_ses::SesMailer;

const USAGE: &str = "usage: wristband-admin roles <username> [list | add <role> | remove <role> | set <role,role,...>]
       wristband-admin users list [--after <username>]
       wristband-admin users show|disable|enable|logout-all|delete <username>
       wristband-admin keys jwks
       wristband-admin --help";

const HELP: &str = "wristband-admin: an operator's tool for the configured tables.

  roles <username>                     list the user's roles
  roles <username> add|remove <role>   add or remove one role
  roles <username> set <role,...>      replace the roles (empty: none)
      Roles reach tokens at the user's next login or refresh.

  users list [--after <username>]      every user (after <username>), one per line:
                                       name, address, roles, creation day, state
  users show <username>                the user as /admin/users/{username} answers it (JSON)
  users disable <username>             no login until enabled; every session ends at once,
                                       the user's access and refresh tokens are refused
  users enable <username>              login works again; no earlier token comes back
  users logout-all <username>          every token of the user is refused; login still works
  users delete <username>              deletes the account, its address, sessions and links;
                                       its tokens are refused; the name can be registered again.
                                       With MAIL_FROM set, the deletion notice goes to the
                                       account's address over SES (as DELETE /account sends it),
                                       and a failed send is an error after the deletion; without
                                       MAIL_FROM no notice is sent, and the tool says so.
      Usernames are compared case-insensitively. Changes are audited with actor \"cli\"; the
      audit lines go to stderr, the answer to stdout. Exit status 1 for an unknown user or
      a failure, 2 for a bad command line.

  keys jwks                            the public JWKS of JWT_PRIVATE_KEY (+ JWT_PUBLIC_KEYS),
                                       for JWT_PUBLIC_KEYS during a key rotation

Configuration: the functions' environment. USERS_TABLE, REVOKED_TOKENS_TABLE,
SESSIONS_TABLE, REFRESH_TOKEN_TTL_SECONDS (how long a user's cutoff is kept: set it as the
functions have it), MAIL_FROM and AWS_ENDPOINT_URL_SESV2 for the notice, and the AWS
settings (AWS_REGION, AWS_ENDPOINT_URL, credentials).";

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
    if matches!(args.as_slice(), [flag] if ["--help", "-h", "help"].contains(&flag.as_str())) {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if args.first().map(String::as_str) == Some("users") {
        let rest: Vec<&str> = args[1..].iter().map(String::as_str).collect();
        return users_main(&rest).await;
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

/// `users ...`: an [`App`] of the DynamoDB stores the admin services use, and the mailer
/// of the deletion notice (SES when `MAIL_FROM` is set, else none).
async fn users_main(args: &[&str]) -> ExitCode {
    let Some(command) = users::parse(args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    // stdout is the answer: the audit lines of the changes go to stderr.
    wristband_core::audit::write_to_stderr();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}", error_chain(&err));
            return ExitCode::FAILURE;
        }
    };
    let (mailer, notices): (Arc<dyn Mailer>, _) = match config.mail.mail_from.as_deref() {
        Some(from) => match SesMailer::from_env(from) {
            Ok(mailer) => (Arc::new(mailer), users::Notices::Sent),
            Err(err) => {
                eprintln!("{}", error_chain(&err));
                return ExitCode::FAILURE;
            }
        },
        None => (Arc::new(users::NoMail), users::Notices::Skipped),
    };
    let db = Tables::from_env(&config.tables);
    let app = App::new(config)
        .with_users(db.users())
        .with_accounts(db.accounts())
        .with_revocations(db.revoked_tokens())
        .with_sessions(db.sessions())
        .with_session_ender(db.session_ender())
        .with_one_time_tokens(db.one_time_tokens())
        .with_mailer(mailer);
    let mut out = std::io::stdout().lock();
    match users::run(&app, command, notices, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
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

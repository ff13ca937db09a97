//! `wristband-admin users ...`: the services of `/admin/users` (API.md "Administration")
//! from a terminal, on the configured tables. The tool has no token: the audit lines name
//! [`ACTOR`] as who acted.

use std::io::Write;

use async_trait::async_trait;
use wristband_core::error::error_chain;
use wristband_core::mail::{Mail, Mailer};
use wristband_core::{ApiError, StoreError};
use wristband_services::services::account::UserView;
use wristband_services::services::admin::{self, Input, ListInput};
use wristband_services::App;

/// The audit `actor` of every change the tool makes.
pub const ACTOR: &str = "cli";

/// What `wristband-admin users ...` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Every user (after `after`, exclusive), one per line.
    List {
        after: Option<String>,
    },
    Show(String),
    Disable(String),
    Enable(String),
    LogoutAll(String),
    Delete(String),
}

/// The arguments after `users`; `None` for anything else (the caller prints the usage).
pub fn parse(args: &[&str]) -> Option<Command> {
    let user = |name: &&str| (*name).to_owned();
    Some(match args {
        ["list"] => Command::List { after: None },
        ["list", "--after", after] => Command::List {
            after: Some(user(after)),
        },
        ["show", name] => Command::Show(user(name)),
        ["disable", name] => Command::Disable(user(name)),
        ["enable", name] => Command::Enable(user(name)),
        ["logout-all", name] => Command::LogoutAll(user(name)),
        ["delete", name] => Command::Delete(user(name)),
        _ => return None,
    })
}

/// Whether the deletion notice can go out: `MAIL_FROM` set (then over SES), or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notices {
    Sent,
    /// No `MAIL_FROM`: the app's mailer is [`NoMail`], and the tool says so.
    Skipped,
}

/// The mailer of a tool run without `MAIL_FROM`: sends nothing, fails nothing.
pub struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _mail: &Mail) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs `command`, writing its answer to `out`. `Err` is the sentence for stderr.
pub async fn run(
    app: &App,
    command: Command,
    notices: Notices,
    out: &mut dyn Write,
) -> Result<(), String> {
    let input = |name: String| Input {
        actor: ACTOR.to_owned(),
        username: name,
    };
    let written = |err: std::io::Error| format!("writing the answer: {err}");
    match command {
        Command::List { after } => {
            let mut after = after;
            loop {
                let page = admin::list(app, ListInput { after })
                    .await
                    .map_err(|e| failed("", e))?;
                for user in &page.users {
                    writeln!(out, "{}", line(user)).map_err(written)?;
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => return Ok(()),
                }
            }
        }
        Command::Show(name) => {
            let user = admin::show(app, &name)
                .await
                .map_err(|e| failed(&name, e))?;
            let json = serde_json::to_string_pretty(&user).map_err(|e| e.to_string())?;
            writeln!(out, "{json}").map_err(written)
        }
        Command::Disable(name) => {
            let user = admin::disable(app, input(name.clone()))
                .await
                .map_err(|e| failed(&name, e))?;
            writeln!(
                out,
                "{}: disabled; every session ended",
                user.account.username
            )
            .map_err(written)
        }
        Command::Enable(name) => {
            let user = admin::enable(app, input(name.clone()))
                .await
                .map_err(|e| failed(&name, e))?;
            writeln!(out, "{}: enabled", user.account.username).map_err(written)
        }
        Command::LogoutAll(name) => {
            let user = admin::show(app, &name)
                .await
                .map_err(|e| failed(&name, e))?;
            let answer = admin::logout_all(app, input(name.clone()))
                .await
                .map_err(|e| failed(&name, e))?;
            writeln!(out, "{}: {}", user.account.username, answer.message).map_err(written)
        }
        Command::Delete(name) => {
            let user = admin::show(app, &name)
                .await
                .map_err(|e| failed(&name, e))?;
            let username = user.account.username;
            let email = user.account.email;
            match admin::delete(app, input(name.clone())).await {
                Ok(()) => {}
                // The notice goes out last: a failure may come after the account is gone.
                Err(err) if gone(app, &username).await => {
                    return Err(format!(
                        "{username}: deleted, but the deletion notice could not be sent: {}",
                        error_chain(&err)
                    ));
                }
                Err(err) => return Err(failed(&name, err)),
            }
            writeln!(out, "{username}: deleted").map_err(written)?;
            match (email, notices) {
                (None, _) => Ok(()),
                (Some(email), Notices::Sent) => {
                    writeln!(out, "{username}: deletion notice sent to {email}").map_err(written)
                }
                (Some(email), Notices::Skipped) => writeln!(
                    out,
                    "{username}: no deletion notice sent to {email}: MAIL_FROM is not set"
                )
                .map_err(written),
            }
        }
    }
}

async fn gone(app: &App, username: &str) -> bool {
    matches!(admin::show(app, username).await, Err(ApiError::NotFound(_)))
}

fn failed(name: &str, err: ApiError) -> String {
    match err {
        ApiError::NotFound(_) => format!("no user {name}"),
        ApiError::InvalidRequest(message) => message,
        other => error_chain(&other),
    }
}

/// One user of the list: `alice  alice@example.com (verified)  roles: admin  created
/// 2026-11-22  enabled`.
fn line(user: &UserView) -> String {
    let account = &user.account;
    let email = match &account.email {
        None => "-".to_owned(),
        Some(email) if account.email_verified => format!("{email} (verified)"),
        Some(email) => format!("{email} (unverified)"),
    };
    let roles = if account.roles.is_empty() {
        "-".to_owned()
    } else {
        account.roles.join(",")
    };
    let state = if user.disabled { "disabled" } else { "enabled" };
    format!(
        "{}  {email}  roles: {roles}  created {}  {state}",
        account.username,
        date(account.created_at)
    )
}

/// `YYYY-MM-DD` (UTC) of epoch seconds (H. Hinnant's `civil_from_days`).
fn date(epoch_secs: u64) -> String {
    let days = (epoch_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use wristband_core::store::UserRegistry as _;

    use wristband_core::store::{AccountStore, UserRecord, UserStore};
    use wristband_test_support::{
        test_config, InMemoryOneTimeTokens, InMemoryOutbox, InMemoryRevokedTokens,
        InMemorySessionEnder, InMemorySessions, InMemoryUsers,
    };

    use super::*;

    #[test]
    fn parses_the_commands() {
        let parsed = |line: &str| parse(&line.split_whitespace().collect::<Vec<_>>());
        assert_eq!(parsed("list"), Some(Command::List { after: None }));
        assert_eq!(
            parsed("list --after bob"),
            Some(Command::List {
                after: Some("bob".into())
            })
        );
        assert_eq!(parsed("show Alice"), Some(Command::Show("Alice".into())));
        assert_eq!(parsed("disable a"), Some(Command::Disable("a".into())));
        assert_eq!(parsed("enable a"), Some(Command::Enable("a".into())));
        assert_eq!(parsed("logout-all a"), Some(Command::LogoutAll("a".into())));
        assert_eq!(parsed("delete a"), Some(Command::Delete("a".into())));
        for bad in [
            "",
            "show",
            "list bob",
            "delete a b",
            "remove a",
            "list --after",
        ] {
            assert_eq!(parsed(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_795_348_800), "2026-11-22");
        assert_eq!(date(4_102_444_799), "2099-12-31");
    }

    struct Setup {
        app: App,
        users: Arc<InMemoryUsers>,
        outbox: Arc<InMemoryOutbox>,
    }

    fn setup() -> Setup {
        let users = Arc::<InMemoryUsers>::default();
        let revocations = Arc::<InMemoryRevokedTokens>::default();
        let sessions = Arc::<InMemorySessions>::default();
        let outbox = Arc::<InMemoryOutbox>::default();
        let app = App::new(test_config())
            .with_users(users.clone())
            .with_accounts(users.clone())
            .with_revocations(revocations.clone())
            .with_sessions(sessions.clone())
            .with_session_ender(Arc::new(InMemorySessionEnder::new(revocations, sessions)))
            .with_one_time_tokens(Arc::<InMemoryOneTimeTokens>::default())
            .with_mailer(outbox.clone());
        Setup { app, users, outbox }
    }

    async fn add(users: &InMemoryUsers, name: &str, email: Option<&str>) {
        users
            .create(&UserRecord {
                username: name.to_owned(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
                created_at: 1_795_348_800,
                roles: vec!["admin".to_owned(), "ops".to_owned()],
                creation_id: name.to_owned(),
                email: email.map(str::to_owned),
                email_verified: false,
                disabled: false,
                totp: None,
                totp_pending: None,
                recovery_codes: Vec::new(),
                passkeys: Vec::new(),
            })
            .await
            .unwrap();
    }

    async fn answer(app: &App, command: Command, notices: Notices) -> Result<String, String> {
        let mut out = Vec::new();
        run(app, command, notices, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn list_prints_every_page_one_user_per_line() {
        let s = setup();
        for i in 0..(admin::PAGE_SIZE + 3) {
            add(&s.users, &format!("user{i:03}"), None).await;
        }
        add(&s.users, "ann", Some("ann@example.com")).await;
        s.users.set_disabled("ann", true).await.unwrap();
        let out = answer(&s.app, Command::List { after: None }, Notices::Sent)
            .await
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), admin::PAGE_SIZE + 4);
        assert_eq!(
            lines[0],
            "ann  ann@example.com (unverified)  roles: admin,ops  created 2026-11-22  disabled"
        );
        assert!(
            lines[1].starts_with("user000  -  roles: admin,ops"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with("  enabled"));
        assert!(!out.contains("argon2"));
        let after = answer(
            &s.app,
            Command::List {
                after: Some("USER100".into()),
            },
            Notices::Sent,
        )
        .await
        .unwrap();
        assert_eq!(after.lines().count(), 2);
        let bad = answer(
            &s.app,
            Command::List {
                after: Some("a b".into()),
            },
            Notices::Sent,
        )
        .await
        .unwrap_err();
        assert!(bad.contains("after"), "{bad}");
    }

    #[tokio::test]
    async fn show_disable_enable_logout_and_delete() {
        let s = setup();
        add(&s.users, "bob", Some("bob@example.com")).await;
        let shown = answer(&s.app, Command::Show("Bob".into()), Notices::Sent)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(json["username"], "bob");
        assert_eq!(json["disabled"], false);
        assert!(!shown.contains("argon2"));

        assert_eq!(
            answer(&s.app, Command::Disable("BOB".into()), Notices::Sent).await,
            Ok("bob: disabled; every session ended\n".into())
        );
        assert!(s.users.get("bob").await.unwrap().unwrap().disabled);
        assert_eq!(
            answer(&s.app, Command::Enable("bob".into()), Notices::Sent).await,
            Ok("bob: enabled\n".into())
        );
        assert!(!s.users.get("bob").await.unwrap().unwrap().disabled);
        assert_eq!(
            answer(&s.app, Command::LogoutAll("bob".into()), Notices::Sent).await,
            Ok("bob: All sessions revoked\n".into())
        );
        assert_eq!(
            answer(&s.app, Command::Delete("bob".into()), Notices::Sent).await,
            Ok("bob: deleted\nbob: deletion notice sent to bob@example.com\n".into())
        );
        assert!(s.users.get("bob").await.unwrap().is_none());
        assert_eq!(s.outbox.to("bob@example.com").len(), 1);
        assert!(s.users.list(None, 10).await.unwrap().users.is_empty());
    }

    #[tokio::test]
    async fn unknown_users_are_named() {
        let s = setup();
        for command in [
            Command::Show("Nobody".into()),
            Command::Disable("Nobody".into()),
            Command::Enable("Nobody".into()),
            Command::LogoutAll("Nobody".into()),
            Command::Delete("Nobody".into()),
        ] {
            assert_eq!(
                answer(&s.app, command, Notices::Sent).await,
                Err("no user Nobody".into())
            );
        }
    }

    #[tokio::test]
    async fn without_mail_the_deletion_says_no_notice_went_out() {
        let s = setup();
        add(&s.users, "cat", Some("cat@example.com")).await;
        add(&s.users, "dan", None).await;
        assert_eq!(
            answer(&s.app, Command::Delete("cat".into()), Notices::Skipped).await,
            Ok(
                "cat: deleted\ncat: no deletion notice sent to cat@example.com: MAIL_FROM is not set\n"
                    .into()
            )
        );
        assert_eq!(
            answer(&s.app, Command::Delete("dan".into()), Notices::Skipped).await,
            Ok("dan: deleted\n".into())
        );
    }

    #[tokio::test]
    async fn a_failed_notice_after_the_deletion_says_both() {
        let s = setup();
        add(&s.users, "eve", Some("eve@example.com")).await;
        s.outbox.set_failing(true);
        let err = answer(&s.app, Command::Delete("eve".into()), Notices::Sent)
            .await
            .unwrap_err();
        assert!(
            err.starts_with("eve: deleted, but the deletion notice could not be sent"),
            "{err}"
        );
        assert!(s.users.get("eve").await.unwrap().is_none());
    }
}

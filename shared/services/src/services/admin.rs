//! Administration (API.md "Administration"): list, show, disable, enable, log out and
//! delete accounts. One set of functions for both ways in: `/admin/users` (a token with
//! the `admin` role, its `sub` the actor) and `wristband-admin users ...` (actor `cli`).
//! Typed input and output, no HTTP.

use serde::Serialize;
use wristband_core::audit::{self, Event};
use wristband_core::store::UserRecord;
use wristband_core::ApiError;

use super::account::{delete_account, end_every_session, UserView};
use super::register::normalise_username;
use super::Message;
use crate::app::App;

/// Users per page of [`list`].
pub const PAGE_SIZE: usize = 100;

/// What every answer about an unknown account says.
const NO_SUCH_USER: ApiError = ApiError::NotFound("No such user");

/// `GET /admin/users`: a page of at most [`PAGE_SIZE`] users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserList {
    pub users: Vec<UserView>,
    /// The username to pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

pub struct ListInput {
    /// Start after this username (exclusive), as a previous page's `next` says.
    pub after: Option<String>,
}

/// One account acted on.
pub struct Input {
    /// Who acts, for the audit log: the administrator's username (the token's `sub`),
    /// or `cli` for the admin tool.
    pub actor: String,
    /// As given (a path segment, a command-line argument): compared case-insensitively.
    pub username: String,
}

/// The stored form of a username given by an administrator. One that cannot be a
/// username (the register rule: 3 to 64 of letters, digits and `._@-`) names nobody.
fn target(username: &str) -> Result<String, ApiError> {
    normalise_username(username).ok_or(NO_SUCH_USER)
}

async fn existing(app: &App, username: &str) -> Result<UserRecord, ApiError> {
    app.users()?
        .get(&target(username)?)
        .await?
        .ok_or(NO_SUCH_USER)
}

/// Users a page at a time, in the store's order (DynamoDB's scan order, not alphabetical):
/// `after` is the previous page's `next`.
pub async fn list(app: &App, input: ListInput) -> Result<UserList, ApiError> {
    let after = match input.after {
        None => None,
        Some(after) => Some(normalise_username(&after).ok_or_else(|| {
            ApiError::invalid_request(
                "Parameter after must be a username (3 to 64 characters of letters, digits and ._@-)",
            )
        })?),
    };
    let page = app.accounts()?.list(after.as_deref(), PAGE_SIZE).await?;
    Ok(UserList {
        users: page.users.iter().map(UserView::of).collect(),
        next: page.next,
    })
}

pub async fn show(app: &App, username: &str) -> Result<UserView, ApiError> {
    Ok(UserView::of(&existing(app, username).await?))
}

/// Disables the account, then ends every session of it: its tokens (refresh included)
/// are refused at once and it cannot log in until enabled. The flag goes first, so that
/// a login racing with this one finds it set, or its session is among those ended.
pub async fn disable(app: &App, input: Input) -> Result<UserView, ApiError> {
    let username = target(&input.username)?;
    let user = app
        .accounts()?
        .set_disabled(&username, true)
        .await?
        .ok_or(NO_SUCH_USER)?;
    let ended = end_every_session(app, &username).await?;
    audit::record(Event::AccountDisabled)
        .username(&username)
        .actor(&input.actor)
        .count("sessions_ended", ended as u64)
        .emit();
    Ok(UserView::of(&user))
}

/// Lets the account log in again. Tokens refused while it was disabled stay refused.
pub async fn enable(app: &App, input: Input) -> Result<UserView, ApiError> {
    let username = target(&input.username)?;
    let user = app
        .accounts()?
        .set_disabled(&username, false)
        .await?
        .ok_or(NO_SUCH_USER)?;
    audit::record(Event::AccountEnabled)
        .username(&username)
        .actor(&input.actor)
        .emit();
    Ok(UserView::of(&user))
}

/// Every token of the account issued before now is refused; a login after it works.
pub async fn logout_all(app: &App, input: Input) -> Result<Message, ApiError> {
    let user = existing(app, &input.username).await?;
    let ended = end_every_session(app, &user.username).await?;
    audit::record(Event::AdminLoggedOutUser)
        .username(&user.username)
        .actor(&input.actor)
        .count("sessions_ended", ended as u64)
        .emit();
    Ok(Message {
        message: "All sessions revoked",
    })
}

/// Deletes the account as `DELETE /account` does (tokens refused first, then its links,
/// the user and its address; a notice to the address), without its password.
pub async fn delete(app: &App, input: Input) -> Result<(), ApiError> {
    let user = existing(app, &input.username).await?;
    delete_account(app, &user).await?;
    audit::record(Event::AccountDeleted)
        .username(&user.username)
        .actor(&input.actor)
        .emit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wristband_core::ids::{now_secs, random_id};
    use wristband_core::store::{
        AccountStore, OneTimeToken, OneTimeTokenStore, Purpose, SessionRecord, SessionStore,
        UserRegistry, UserStore,
    };
    use wristband_core::tokens::Subject;
    use wristband_core::{Claims, TokenIssuer, TokenType, TokenVerifier};
    use wristband_test_support::{
        test_config, InMemoryOneTimeTokens, InMemoryOutbox, InMemoryRevokedTokens,
        InMemorySessionEnder, InMemorySessions, InMemoryUsers,
    };

    use super::*;

    struct Stores {
        app: App,
        users: Arc<InMemoryUsers>,
        revocations: Arc<InMemoryRevokedTokens>,
        sessions: Arc<InMemorySessions>,
        links: Arc<InMemoryOneTimeTokens>,
        outbox: Arc<InMemoryOutbox>,
    }

    fn stores() -> Stores {
        let users = Arc::<InMemoryUsers>::default();
        let revocations = Arc::<InMemoryRevokedTokens>::default();
        let sessions = Arc::<InMemorySessions>::default();
        let links = Arc::<InMemoryOneTimeTokens>::default();
        let outbox = Arc::<InMemoryOutbox>::default();
        let app = App::new(test_config())
            .verifying(revocations.clone())
            .unwrap()
            .with_users(users.clone())
            .with_accounts(users.clone())
            .with_revocations(revocations.clone())
            .with_sessions(sessions.clone())
            .with_session_ender(Arc::new(InMemorySessionEnder::new(
                revocations.clone(),
                sessions.clone(),
            )))
            .with_one_time_tokens(links.clone())
            .with_mailer(outbox.clone());
        Stores {
            app,
            users,
            revocations,
            sessions,
            links,
            outbox,
        }
    }

    fn user(username: &str, email: Option<&str>) -> UserRecord {
        UserRecord {
            username: username.to_owned(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
            created_at: 1_800_000_000,
            roles: vec!["ops".to_owned()],
            creation_id: format!("creation-{username}"),
            email: email.map(str::to_owned),
            email_verified: email.is_some(),
            disabled: false,
            totp: None,
            totp_pending: None,
            recovery_codes: Vec::new(),
            passkeys: Vec::new(),
        }
    }

    fn input(username: &str) -> Input {
        Input {
            actor: "root".to_owned(),
            username: username.to_owned(),
        }
    }

    impl Stores {
        async fn add(&self, username: &str, email: Option<&str>) {
            self.users.create(&user(username, email)).await.unwrap();
        }

        /// A session of `username` as a login makes it, and its access token's claims.
        async fn logged_in(&self, username: &str) -> Claims {
            let now = now_secs();
            let sid = random_id().unwrap();
            let pair = TokenIssuer::new(&self.app.config)
                .unwrap()
                .issue_token_pair(
                    Subject {
                        username,
                        roles: &[],
                        sid: &sid,
                        amr: &[],
                    },
                    true,
                    now,
                )
                .unwrap();
            self.sessions
                .create(&SessionRecord {
                    username: username.to_owned(),
                    sid: pair.access.sid.clone(),
                    created_at: now,
                    last_refreshed_at: now,
                    expires_at: pair.refresh.exp,
                    user_agent: None,
                    source_ip: None,
                    refresh_jti: pair.refresh.jti.clone(),
                })
                .await
                .unwrap();
            TokenVerifier::new(&self.app.config)
                .unwrap()
                .verify(&pair.access_token, TokenType::Access)
                .unwrap()
        }

        async fn refused(&self, claims: &Claims) -> bool {
            use wristband_core::store::RevocationCheck;
            self.revocations
                .is_revoked(claims, now_secs())
                .await
                .unwrap()
        }
    }

    fn not_found(result: Result<impl std::fmt::Debug, ApiError>) {
        match result {
            Err(ApiError::NotFound(_)) => {}
            other => panic!("expected not_found, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn unknown_and_impossible_usernames_are_not_found() {
        let s = stores();
        let long = "x".repeat(65);
        for name in ["nobody", "no", "has space", "a/b", long.as_str(), ""] {
            not_found(show(&s.app, name).await);
            not_found(disable(&s.app, input(name)).await);
            not_found(enable(&s.app, input(name)).await);
            not_found(logout_all(&s.app, input(name)).await);
            not_found(delete(&s.app, input(name)).await);
        }
        assert!(s
            .sessions
            .list("nobody", now_secs())
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn usernames_are_compared_case_insensitively() {
        let s = stores();
        s.add("alice", Some("alice@example.com")).await;
        let view = show(&s.app, "ALICE").await.unwrap();
        assert_eq!(view.account.username, "alice");
        assert_eq!(view.account.roles, ["ops"]);
        assert!(!view.disabled);
        let json = serde_json::to_value(&view).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created_at",
                "disabled",
                "email",
                "email_verified",
                "mfa",
                "passkeys",
                "roles",
                "username"
            ]
        );
        assert!(disable(&s.app, input("Alice")).await.unwrap().disabled);
        assert!(s.users.get("alice").await.unwrap().unwrap().disabled);
    }

    #[tokio::test]
    async fn disabling_ends_every_session_and_enabling_revives_none() {
        let s = stores();
        s.add("bob", None).await;
        let first = s.logged_in("bob").await;
        let second = s.logged_in("bob").await;
        assert!(!s.refused(&first).await);

        let view = disable(&s.app, input("bob")).await.unwrap();
        assert!(view.disabled);
        assert!(s.refused(&first).await && s.refused(&second).await);
        assert!(s.sessions.list("bob", now_secs()).await.unwrap().is_empty());

        let view = enable(&s.app, input("bob")).await.unwrap();
        assert!(!view.disabled);
        assert!(!s.users.get("bob").await.unwrap().unwrap().disabled);
        assert!(s.refused(&first).await && s.refused(&second).await);
    }

    #[tokio::test]
    async fn logout_all_ends_every_session_and_keeps_the_account() {
        let s = stores();
        s.add("carol", None).await;
        let claims = s.logged_in("carol").await;
        let answer = logout_all(&s.app, input("Carol")).await.unwrap();
        assert_eq!(answer.message, "All sessions revoked");
        assert!(s.refused(&claims).await);
        assert!(s
            .sessions
            .list("carol", now_secs())
            .await
            .unwrap()
            .is_empty());
        assert!(!show(&s.app, "carol").await.unwrap().disabled);
    }

    #[tokio::test]
    async fn delete_removes_everything_and_sends_the_notice() {
        let s = stores();
        s.add("dave", Some("dave@example.com")).await;
        let claims = s.logged_in("dave").await;
        s.links
            .issue(
                "hash-of-a-link",
                &OneTimeToken {
                    purpose: Purpose::ResetPassword,
                    username: "dave".to_owned(),
                    email: "dave@example.com".to_owned(),
                    expires_at: now_secs() + 600,
                },
            )
            .await
            .unwrap();

        delete(&s.app, input("DAVE")).await.unwrap();
        assert!(s.users.get("dave").await.unwrap().is_none());
        assert!(s
            .users
            .find_by_email("dave@example.com")
            .await
            .unwrap()
            .is_none());
        assert!(s.links.is_empty());
        assert!(s.refused(&claims).await);
        assert_eq!(s.outbox.to("dave@example.com").len(), 1);
        not_found(show(&s.app, "dave").await);
        not_found(delete(&s.app, input("dave")).await);
        // The name can be registered again.
        s.add("dave", Some("dave@example.com")).await;
        assert!(show(&s.app, "dave").await.is_ok());
    }

    #[tokio::test]
    async fn a_failing_notice_fails_the_delete_after_the_account_is_gone() {
        let s = stores();
        s.add("erin", Some("erin@example.com")).await;
        s.outbox.set_failing(true);
        assert!(matches!(
            delete(&s.app, input("erin")).await,
            Err(ApiError::ServiceUnavailable(_))
        ));
        assert!(s.users.get("erin").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_list_pages_through_every_user_once() {
        let s = stores();
        for i in 0..(PAGE_SIZE * 2 + 5) {
            s.add(&format!("user{i:03}"), None).await;
        }
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = list(&s.app, ListInput { after }).await.unwrap();
            assert!(page.users.len() <= PAGE_SIZE);
            pages += 1;
            seen.extend(page.users.into_iter().map(|u| u.account.username));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "each user once");
        assert_eq!(seen.len(), PAGE_SIZE * 2 + 5);
        // `after` is a username like any other: case-insensitive (in memory, the order is
        // the names').
        let page = list(
            &s.app,
            ListInput {
                after: Some("USER200".to_owned()),
            },
        )
        .await
        .unwrap();
        assert_eq!(page.users.len(), 4);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn an_after_that_cannot_be_a_username_is_a_bad_request() {
        let s = stores();
        for after in ["", "a", "a b", &"x".repeat(65)] {
            match list(
                &s.app,
                ListInput {
                    after: Some(after.to_owned()),
                },
            )
            .await
            {
                Err(ApiError::InvalidRequest(message)) => assert!(message.contains("after")),
                other => panic!("{after:?}: {other:?}"),
            }
        }
        let empty = list(&s.app, ListInput { after: None }).await.unwrap();
        assert!(empty.users.is_empty() && empty.next.is_none());
    }

    #[tokio::test]
    async fn the_accounts_store_is_what_the_list_reads() {
        let s = stores();
        s.add("zed", Some("zed@example.com")).await;
        s.users.set_disabled("zed", true).await.unwrap();
        let page = list(&s.app, ListInput { after: None }).await.unwrap();
        assert_eq!(page.users.len(), 1);
        assert!(page.users[0].disabled);
        assert_eq!(
            page.users[0].account.email.as_deref(),
            Some("zed@example.com")
        );
    }
}

//! In-memory stores for unit tests and benches: same traits, same semantics, no I/O.
//! Never linked into a function.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use wristband_core::config::ThrottlePolicy;
use wristband_core::mail::{Mail, Mailer};
use wristband_core::store::{
    AccountStore, Created, EmailChange, FailureCount, LoginThrottleStore, MfaChallenge,
    MfaChallengeStore, MfaStore, OneTimeToken, OneTimeTokenStore, PasskeyCreated, PasskeyRecord,
    PasskeyStore, Purpose, RateLimitStore, RevocationCheck, RevocationStore, Rotation,
    SessionEnder, SessionRecord, SessionStore, ThrottleState, TotpFactor, UserPage, UserRecord,
    UserRegistry, UserStore, WebauthnChallenge, WebauthnChallengeStore, WebauthnPurpose,
    MAX_PASSKEYS_PER_USER, MFA_MAX_FAILURES,
};
use wristband_core::{Claims, StoreError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Users and address claims, under one lock so that a transaction is one step.
#[derive(Default)]
struct UsersAndClaims {
    users: std::collections::BTreeMap<String, UserRecord>,
    /// address -> username
    claims: HashMap<String, String>,
    /// credential id -> passkey
    passkeys: HashMap<String, PasskeyRecord>,
}

#[derive(Default)]
pub struct InMemoryUsers {
    inner: Mutex<UsersAndClaims>,
}

#[async_trait]
impl UserRegistry for InMemoryUsers {
    async fn create(&self, user: &UserRecord) -> Result<Created, StoreError> {
        let mut inner = lock(&self.inner);
        if let Some(existing) = inner.users.get(&user.username) {
            // Idempotent like the DynamoDB store: the same creation is not a taken name.
            let ours = !existing.creation_id.is_empty() && existing.creation_id == user.creation_id;
            return Ok(if ours {
                Created::Created
            } else {
                Created::UsernameTaken
            });
        }
        if let Some(email) = &user.email {
            if inner.claims.contains_key(email) {
                return Ok(Created::EmailTaken);
            }
            inner.claims.insert(email.clone(), user.username.clone());
        }
        inner.users.insert(user.username.clone(), user.clone());
        Ok(Created::Created)
    }
}

#[async_trait]
impl UserStore for InMemoryUsers {
    async fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.inner).users.get(username).cloned())
    }

    async fn set_roles(&self, username: &str, roles: &[String]) -> Result<bool, StoreError> {
        Ok(lock(&self.inner)
            .users
            .get_mut(username)
            .map(|user| user.roles = roles.to_vec())
            .is_some())
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        match lock(&self.inner).users.get_mut(username) {
            Some(user) => {
                user.password_hash = password_hash.to_owned();
                Ok(())
            }
            None => Err(StoreError::Other(format!("no user {username}").into())),
        }
    }
}

#[async_trait]
impl AccountStore for InMemoryUsers {
    async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let inner = lock(&self.inner);
        Ok(inner
            .claims
            .get(email)
            .and_then(|username| inner.users.get(username))
            .cloned())
    }

    async fn mark_email_verified(&self, username: &str, email: &str) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        Ok(match inner.users.get_mut(username) {
            Some(user) if user.email.as_deref() == Some(email) => {
                user.email_verified = true;
                true
            }
            _ => false,
        })
    }

    async fn change_email(
        &self,
        username: &str,
        new_email: &str,
    ) -> Result<EmailChange, StoreError> {
        let mut inner = lock(&self.inner);
        let Some(old) = inner.users.get(username).map(|u| u.email.clone()) else {
            return Ok(EmailChange::NoUser);
        };
        match inner.claims.get(new_email) {
            Some(owner) if owner != username => return Ok(EmailChange::Taken),
            _ => {}
        }
        if let Some(old) = old.filter(|old| old != new_email) {
            inner.claims.remove(&old);
        }
        inner
            .claims
            .insert(new_email.to_owned(), username.to_owned());
        if let Some(user) = inner.users.get_mut(username) {
            user.email = Some(new_email.to_owned());
            user.email_verified = true;
        }
        Ok(EmailChange::Changed)
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        let Some(user) = inner.users.remove(username) else {
            return Ok(false);
        };
        if let Some(email) = user.email {
            inner.claims.remove(&email);
        }
        for id in user.passkeys {
            inner.passkeys.remove(&id);
        }
        Ok(true)
    }

    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.inner).users.get_mut(username).map(|user| {
            user.disabled = disabled;
            user.clone()
        }))
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<UserPage, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let inner = lock(&self.inner);
        let start = after.map_or(Unbounded, |a| Excluded(a.to_owned()));
        let mut users: Vec<UserRecord> = inner
            .users
            .range((start, Unbounded))
            .take(limit.saturating_add(1))
            .map(|(_, u)| u.clone())
            .collect();
        let next = if users.len() > limit {
            users.truncate(limit);
            users.last().map(|u| u.username.clone())
        } else {
            None
        };
        Ok(UserPage { users, next })
    }
}

/// (username, purpose) -> the hash of the one token of that purpose that may be spent.
type CurrentTokens = HashMap<(String, Purpose), String>;

#[async_trait]
impl MfaStore for InMemoryUsers {
    async fn set_pending_totp(&self, username: &str, sealed: &str) -> Result<bool, StoreError> {
        Ok(match lock(&self.inner).users.get_mut(username) {
            Some(user) if user.totp.is_none() => {
                user.totp_pending = Some(sealed.to_owned());
                true
            }
            _ => false,
        })
    }

    async fn activate_totp(
        &self,
        username: &str,
        sealed: &str,
        step: u64,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError> {
        Ok(match lock(&self.inner).users.get_mut(username) {
            Some(user) if user.totp.is_none() && user.totp_pending.as_deref() == Some(sealed) => {
                user.totp_pending = None;
                user.totp = Some(TotpFactor {
                    sealed_secret: sealed.to_owned(),
                    last_step: step,
                });
                user.recovery_codes = recovery_hashes.to_vec();
                true
            }
            _ => false,
        })
    }

    async fn use_totp_step(&self, username: &str, step: u64) -> Result<bool, StoreError> {
        Ok(
            match lock(&self.inner)
                .users
                .get_mut(username)
                .and_then(|u| u.totp.as_mut())
            {
                Some(factor) if factor.last_step < step => {
                    factor.last_step = step;
                    true
                }
                _ => false,
            },
        )
    }

    async fn use_recovery_code(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        Ok(match lock(&self.inner).users.get_mut(username) {
            Some(user) => {
                let before = user.recovery_codes.len();
                user.recovery_codes.retain(|h| h != hash);
                user.recovery_codes.len() < before
            }
            None => false,
        })
    }

    async fn replace_recovery_codes(
        &self,
        username: &str,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError> {
        Ok(match lock(&self.inner).users.get_mut(username) {
            Some(user) if user.totp.is_some() => {
                user.recovery_codes = recovery_hashes.to_vec();
                true
            }
            _ => false,
        })
    }

    async fn remove_totp(&self, username: &str) -> Result<(), StoreError> {
        if let Some(user) = lock(&self.inner).users.get_mut(username) {
            user.totp = None;
            user.totp_pending = None;
            user.recovery_codes.clear();
        }
        Ok(())
    }
}

#[async_trait]
impl PasskeyStore for InMemoryUsers {
    async fn create(&self, passkey: &PasskeyRecord) -> Result<PasskeyCreated, StoreError> {
        let mut inner = lock(&self.inner);
        if inner.passkeys.contains_key(&passkey.credential_id) {
            return Ok(PasskeyCreated::CredentialTaken);
        }
        let Some(user) = inner.users.get_mut(&passkey.username) else {
            return Ok(PasskeyCreated::NoAccount);
        };
        if user.passkeys.len() >= MAX_PASSKEYS_PER_USER {
            return Ok(PasskeyCreated::TooMany);
        }
        user.passkeys.push(passkey.credential_id.clone());
        user.passkeys.sort();
        inner
            .passkeys
            .insert(passkey.credential_id.clone(), passkey.clone());
        Ok(PasskeyCreated::Created)
    }

    async fn get(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(lock(&self.inner).passkeys.get(credential_id).cloned())
    }

    async fn list(&self, username: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let inner = lock(&self.inner);
        let mut list: Vec<PasskeyRecord> = inner
            .passkeys
            .values()
            .filter(|p| p.username == username)
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            (a.created_at, &a.credential_id).cmp(&(b.created_at, &b.credential_id))
        });
        Ok(list)
    }

    async fn delete(&self, username: &str, credential_id: &str) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        if inner
            .passkeys
            .get(credential_id)
            .is_none_or(|p| p.username != username)
        {
            return Ok(false);
        }
        inner.passkeys.remove(credential_id);
        if let Some(user) = inner.users.get_mut(username) {
            user.passkeys.retain(|id| id != credential_id);
        }
        Ok(true)
    }

    async fn record_use(
        &self,
        credential_id: &str,
        from: u32,
        to: u32,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        Ok(match inner.passkeys.get_mut(credential_id) {
            Some(p) if p.sign_count == from => {
                p.sign_count = to;
                p.last_used_at = Some(now);
                true
            }
            _ => false,
        })
    }
}

/// Passkey challenges: hash -> challenge.
#[derive(Default)]
pub struct InMemoryWebauthnChallenges {
    challenges: Mutex<HashMap<String, WebauthnChallenge>>,
}

impl InMemoryWebauthnChallenges {
    /// How many challenges are kept (spent ones are gone).
    pub fn len(&self) -> usize {
        lock(&self.challenges).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl WebauthnChallengeStore for InMemoryWebauthnChallenges {
    async fn create(&self, hash: &str, challenge: &WebauthnChallenge) -> Result<(), StoreError> {
        lock(&self.challenges).insert(hash.to_owned(), challenge.clone());
        Ok(())
    }

    async fn take(
        &self,
        hash: &str,
        purpose: WebauthnPurpose,
        username: Option<&str>,
        now: u64,
    ) -> Result<Option<WebauthnChallenge>, StoreError> {
        let mut challenges = lock(&self.challenges);
        let usable = challenges.get(hash).is_some_and(|c| {
            c.purpose == purpose && c.expires_at > now && c.username.as_deref() == username
        });
        Ok(if usable {
            challenges.remove(hash)
        } else {
            None
        })
    }
}

/// `mfa_token`s: hash -> challenge.
#[derive(Default)]
pub struct InMemoryMfaChallenges {
    challenges: Mutex<HashMap<String, MfaChallenge>>,
}

#[async_trait]
impl MfaChallengeStore for InMemoryMfaChallenges {
    async fn create(&self, hash: &str, challenge: &MfaChallenge) -> Result<(), StoreError> {
        lock(&self.challenges).insert(hash.to_owned(), challenge.clone());
        Ok(())
    }

    async fn get(&self, hash: &str, now: u64) -> Result<Option<MfaChallenge>, StoreError> {
        Ok(lock(&self.challenges)
            .get(hash)
            .filter(|c| c.expires_at > now && c.failures < MFA_MAX_FAILURES)
            .cloned())
    }

    async fn record_failure(&self, hash: &str) -> Result<(), StoreError> {
        let mut challenges = lock(&self.challenges);
        if let Some(challenge) = challenges.get_mut(hash) {
            challenge.failures += 1;
            if challenge.failures >= MFA_MAX_FAILURES {
                challenges.remove(hash);
            }
        }
        Ok(())
    }

    async fn spend(&self, hash: &str, now: u64) -> Result<bool, StoreError> {
        let mut challenges = lock(&self.challenges);
        let live = challenges
            .get(hash)
            .is_some_and(|c| c.expires_at > now && c.failures < MFA_MAX_FAILURES);
        if live {
            challenges.remove(hash);
        }
        Ok(live)
    }
}

/// Link tokens: hash -> token, and the current hash per (username, purpose).
#[derive(Default)]
pub struct InMemoryOneTimeTokens {
    inner: Mutex<(HashMap<String, OneTimeToken>, CurrentTokens)>,
}

#[async_trait]
impl OneTimeTokenStore for InMemoryOneTimeTokens {
    async fn issue(&self, hash: &str, token: &OneTimeToken) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        let (tokens, current) = &mut *inner;
        tokens.insert(hash.to_owned(), token.clone());
        if let Some(older) =
            current.insert((token.username.clone(), token.purpose), hash.to_owned())
        {
            if older != hash {
                tokens.remove(&older);
            }
        }
        Ok(())
    }

    async fn spend(
        &self,
        hash: &str,
        purposes: &[Purpose],
        now: u64,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let mut inner = lock(&self.inner);
        let (tokens, current) = &mut *inner;
        if !tokens
            .get(hash)
            .is_some_and(|t| purposes.contains(&t.purpose))
        {
            return Ok(None);
        }
        let Some(token) = tokens.remove(hash) else {
            return Ok(None);
        };
        let slot = (token.username.clone(), token.purpose);
        if current.get(&slot).map(String::as_str) == Some(hash) {
            current.remove(&slot);
        } else {
            return Ok(None);
        }
        Ok((token.expires_at > now).then_some(token))
    }

    async fn remove_all(&self, username: &str) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        let (tokens, current) = &mut *inner;
        tokens.retain(|_, t| t.username != username);
        current.retain(|(u, _), _| u != username);
        Ok(())
    }
}

impl InMemoryOneTimeTokens {
    /// How many tokens are stored (deletion tests).
    pub fn len(&self) -> usize {
        lock(&self.inner).0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counting windows: key -> (count, window end).
#[derive(Default)]
pub struct InMemoryRateLimits {
    counts: Mutex<HashMap<String, (u32, u64)>>,
}

#[async_trait]
impl RateLimitStore for InMemoryRateLimits {
    async fn try_acquire(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut counts = lock(&self.counts);
        let entry = counts
            .entry(key.to_owned())
            .or_insert((0, now.saturating_add(window_secs)));
        if entry.1 <= now {
            *entry = (0, now.saturating_add(window_secs));
        }
        if entry.0 >= limit {
            return Ok(false);
        }
        entry.0 += 1;
        Ok(true)
    }
}

/// Mail kept in memory, in order; `failing` makes every send fail as an outage.
#[derive(Default)]
pub struct InMemoryOutbox {
    sent: Mutex<Vec<Mail>>,
    failing: std::sync::atomic::AtomicBool,
}

impl InMemoryOutbox {
    pub fn sent(&self) -> Vec<Mail> {
        lock(&self.sent).clone()
    }

    /// Messages to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        lock(&self.sent)
            .iter()
            .filter(|m| m.to == to)
            .cloned()
            .collect()
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl Mailer for InMemoryOutbox {
    async fn send(&self, mail: &Mail) -> Result<(), StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the outbox is failing".into()));
        }
        lock(&self.sent).push(mail.clone());
        Ok(())
    }
}

/// Throttling counts: key -> (state, expires_at_ms).
#[derive(Default)]
pub struct InMemoryLoginThrottle {
    counts: Mutex<HashMap<String, (ThrottleState, u64)>>,
}

#[async_trait]
impl LoginThrottleStore for InMemoryLoginThrottle {
    async fn state(&self, key: &str, now_ms: u64) -> Result<Option<ThrottleState>, StoreError> {
        Ok(lock(&self.counts)
            .get(key)
            .filter(|(_, expires_at_ms)| *expires_at_ms > now_ms)
            .map(|(state, _)| *state))
    }

    async fn record_failure(
        &self,
        key: &str,
        now_ms: u64,
        policy: &ThrottlePolicy,
    ) -> Result<FailureCount, StoreError> {
        let mut counts = lock(&self.counts);
        let current = counts
            .get(key)
            .filter(|(_, expires_at_ms)| *expires_at_ms > now_ms)
            .map(|(state, _)| *state);
        if let Some(state) = current.filter(|s| s.blocks(now_ms)) {
            return Ok(FailureCount::AlreadyBlocked {
                until_ms: state.blocked_until_ms,
            });
        }
        let (next, expires_at_ms) = ThrottleState::after_failure(current, now_ms, policy);
        counts.insert(key.to_owned(), (next, expires_at_ms));
        Ok(FailureCount::Counted {
            failures: next.failures,
            blocked_until_ms: next.blocked_until_ms,
        })
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.counts).remove(key);
        Ok(())
    }
}

#[derive(Default)]
pub struct InMemoryRevokedTokens {
    tokens: Mutex<HashMap<String, u64>>,
    sessions: Mutex<HashMap<String, u64>>,
    /// username -> (cutoff, expires_at)
    cutoffs: Mutex<HashMap<String, (u64, u64)>>,
}

#[async_trait]
impl RevocationCheck for InMemoryRevokedTokens {
    async fn is_revoked(&self, claims: &Claims, now: u64) -> Result<bool, StoreError> {
        let live = |expires_at: Option<&u64>| expires_at.is_some_and(|e| *e > now);
        Ok(live(lock(&self.tokens).get(&claims.jti))
            || live(lock(&self.sessions).get(&claims.sid))
            || lock(&self.cutoffs)
                .get(&claims.sub)
                .is_some_and(|(cutoff, expires_at)| *expires_at > now && claims.iat < *cutoff))
    }
}

#[async_trait]
impl RevocationStore for InMemoryRevokedTokens {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        lock(&self.tokens).insert(jti.to_owned(), expires_at);
        Ok(())
    }

    async fn revoke_session(&self, sid: &str, expires_at: u64) -> Result<(), StoreError> {
        lock(&self.sessions).insert(sid.to_owned(), expires_at);
        Ok(())
    }

    async fn revoke_user_tokens_before(
        &self,
        username: &str,
        cutoff: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        lock(&self.cutoffs).insert(username.to_owned(), (cutoff, expires_at));
        Ok(())
    }
}

/// A session with what rotation needs to know: (record, previous refresh jti, rotated_at).
type StoredSession = (SessionRecord, Option<String>, u64);

#[derive(Default)]
pub struct InMemorySessions {
    /// Keyed by (username, sid).
    sessions: Mutex<HashMap<(String, String), StoredSession>>,
}

#[async_trait]
impl SessionStore for InMemorySessions {
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError> {
        lock(&self.sessions).insert(
            (session.username.clone(), session.sid.clone()),
            (session.clone(), None, 0),
        );
        Ok(())
    }

    async fn list(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let mut out: Vec<SessionRecord> = lock(&self.sessions)
            .values()
            .filter(|(s, _, _)| s.username == username && s.expires_at > now)
            .map(|(s, _, _)| s.clone())
            .collect();
        out.sort_by(|a, b| a.sid.cmp(&b.sid));
        Ok(out)
    }

    async fn get(
        &self,
        username: &str,
        sid: &str,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(lock(&self.sessions)
            .get(&(username.to_owned(), sid.to_owned()))
            .filter(|(s, _, _)| s.expires_at > now)
            .map(|(s, _, _)| s.clone()))
    }

    async fn delete(&self, username: &str, sid: &str) -> Result<(), StoreError> {
        lock(&self.sessions).remove(&(username.to_owned(), sid.to_owned()));
        Ok(())
    }

    async fn rotate(
        &self,
        username: &str,
        sid: &str,
        presented_jti: &str,
        next_jti: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let mut sessions = lock(&self.sessions);
        let Some((record, previous, rotated_at)) = sessions
            .get_mut(&(username.to_owned(), sid.to_owned()))
            .filter(|(s, _, _)| s.expires_at > now)
        else {
            return Ok(Rotation::NoSession);
        };
        if record.refresh_jti == presented_jti {
            *previous = Some(std::mem::replace(
                &mut record.refresh_jti,
                next_jti.to_owned(),
            ));
            *rotated_at = now;
            record.last_refreshed_at = now;
            record.expires_at = expires_at;
            return Ok(Rotation::Rotated);
        }
        if previous.as_deref() == Some(presented_jti) {
            return Ok(Rotation::RecentlySpent {
                rotated_at: *rotated_at,
            });
        }
        Ok(Rotation::Reused)
    }
}

/// Ends sessions on the in-memory stores: each session's revocation, then its deletion,
/// as the DynamoDB store orders them (a session never leaves the list before it is revoked).
pub struct InMemorySessionEnder {
    revocations: Arc<InMemoryRevokedTokens>,
    sessions: Arc<InMemorySessions>,
}

impl InMemorySessionEnder {
    pub fn new(revocations: Arc<InMemoryRevokedTokens>, sessions: Arc<InMemorySessions>) -> Self {
        Self {
            revocations,
            sessions,
        }
    }
}

#[async_trait]
impl SessionEnder for InMemorySessionEnder {
    async fn end_sessions(&self, sessions: &[SessionRecord]) -> Result<(), StoreError> {
        for session in sessions {
            self.revocations
                .revoke_session(&session.sid, session.expires_at)
                .await?;
            self.sessions
                .delete(&session.username, &session.sid)
                .await?;
        }
        Ok(())
    }
}

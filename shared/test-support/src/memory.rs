//! In-memory stores for unit tests and benches: same traits, same semantics, no I/O.
//! Never linked into a function.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use wristband_core::config::ThrottlePolicy;
use wristband_core::store::{
    FailureCount, LoginThrottleStore, RevocationCheck, RevocationStore, Rotation, SessionEnder,
    SessionRecord, SessionStore, ThrottleState, UserRecord, UserStore,
};
use wristband_core::{Claims, StoreError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
pub struct InMemoryUsers {
    users: Mutex<HashMap<String, UserRecord>>,
}

#[async_trait]
impl UserStore for InMemoryUsers {
    async fn create(&self, user: &UserRecord) -> Result<bool, StoreError> {
        let mut users = lock(&self.users);
        if let Some(existing) = users.get(&user.username) {
            // Idempotent like the DynamoDB store: the same creation is not a taken name.
            return Ok(!existing.creation_id.is_empty() && existing.creation_id == user.creation_id);
        }
        users.insert(user.username.clone(), user.clone());
        Ok(true)
    }

    async fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn set_roles(&self, username: &str, roles: &[String]) -> Result<bool, StoreError> {
        Ok(lock(&self.users)
            .get_mut(username)
            .map(|user| user.roles = roles.to_vec())
            .is_some())
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        match lock(&self.users).get_mut(username) {
            Some(user) => {
                user.password_hash = password_hash.to_owned();
                Ok(())
            }
            None => Err(StoreError::Other(format!("no user {username}").into())),
        }
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

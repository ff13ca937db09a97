//! In-memory stores for unit tests and benches: same traits, same semantics, no I/O.
//! Never linked into a function.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use wristband_core::config::LockoutPolicy;
use wristband_core::store::{
    RevocationStore, Rotation, SessionRecord, SessionStore, UserRecord, UserStore,
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
        if users.contains_key(&user.username) {
            return Ok(false);
        }
        users.insert(user.username.clone(), user.clone());
        Ok(true)
    }

    async fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn record_failed_login(
        &self,
        username: &str,
        now: u64,
        policy: LockoutPolicy,
    ) -> Result<Option<u64>, StoreError> {
        let mut users = lock(&self.users);
        let Some(user) = users.get_mut(username) else {
            return Ok(None);
        };
        user.failed_logins += 1;
        if user.failed_logins >= policy.max_failures {
            user.failed_logins = 0;
            user.locked_until = now + policy.lockout.as_secs();
            return Ok(Some(user.locked_until));
        }
        Ok(None)
    }

    async fn clear_failed_logins(&self, username: &str) -> Result<(), StoreError> {
        if let Some(user) = lock(&self.users).get_mut(username) {
            user.failed_logins = 0;
            user.locked_until = 0;
        }
        Ok(())
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

#[derive(Default)]
pub struct InMemoryRevokedTokens {
    tokens: Mutex<HashMap<String, u64>>,
    sessions: Mutex<HashMap<String, u64>>,
    /// username -> (cutoff, expires_at)
    cutoffs: Mutex<HashMap<String, (u64, u64)>>,
}

#[async_trait]
impl RevocationStore for InMemoryRevokedTokens {
    async fn is_revoked(&self, claims: &Claims, now: u64) -> Result<bool, StoreError> {
        let live = |expires_at: Option<&u64>| expires_at.is_some_and(|e| *e > now);
        Ok(live(lock(&self.tokens).get(&claims.jti))
            || live(lock(&self.sessions).get(&claims.sid))
            || lock(&self.cutoffs)
                .get(&claims.sub)
                .is_some_and(|(cutoff, expires_at)| *expires_at > now && claims.iat < *cutoff))
    }

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

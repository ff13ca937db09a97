//! Storage behind traits: `wristband-dynamodb` implements them for production (the only
//! code that knows table layouts and attribute names), `wristband-test-support` in memory.

use async_trait::async_trait;

use crate::config::ThrottlePolicy;
use crate::error::StoreError;
use crate::tokens::Claims;

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Lower-cased.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: u64,
    pub roles: Vec<String>,
    /// A random id of the registration request that created the user. When the store's
    /// client retries its own write that had landed (a timeout after success), the stored
    /// id matches and the retry counts as the success it was, not as a taken name.
    pub creation_id: String,
    /// The account's address, lower-cased; unique across accounts (an address claim).
    pub email: Option<String>,
    /// Whether a verification link sent to `email` was spent.
    pub email_verified: bool,
    /// Disabled by an administrator: no login, no refresh.
    pub disabled: bool,
    /// The account's second factor, once confirmed.
    pub totp: Option<TotpFactor>,
    /// A TOTP secret (sealed) given out by `POST /mfa/totp`, active once confirmed.
    pub totp_pending: Option<String>,
    /// The unused recovery codes, as [`crate::mfa::MfaKey::recovery_code_hash`] stores
    /// them.
    pub recovery_codes: Vec<String>,
    /// The credential ids (base64url) of the account's passkeys.
    pub passkeys: Vec<String>,
}

/// An active TOTP factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    /// The secret, sealed with `MFA_ENCRYPTION_KEY` for this account.
    pub sealed_secret: String,
    /// The last time step whose code was accepted: a code is accepted once, and only for
    /// a later step.
    pub last_step: u64,
}

/// A registered passkey (WebAuthn credential).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// The credential id, base64url without padding: the API's `id`.
    pub credential_id: String,
    /// The account it signs in to.
    pub username: String,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// COSE algorithm (-7 ES256, -8 EdDSA) and the raw public key
    /// ([`crate::webauthn::PublicKey`]).
    pub algorithm: i64,
    pub public_key: Vec<u8>,
    /// The authenticator's signature counter as last seen.
    pub sign_count: u32,
    /// The WebAuthn user handle given at registration (base64url).
    pub user_handle: String,
    pub transports: Vec<String>,
}

/// Passkeys an account may hold.
pub const MAX_PASSKEYS_PER_USER: usize = 20;

/// What [`PasskeyStore::create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyCreated {
    Created,
    /// The credential id is registered already (to this or another account).
    CredentialTaken,
    /// The account holds [`MAX_PASSKEYS_PER_USER`] passkeys.
    TooMany,
    /// The account is gone.
    NoAccount,
}

/// Passkeys: one item per credential (found by its id at login) and the account's list.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Registers a credential: unique across accounts, at most
    /// [`MAX_PASSKEYS_PER_USER`] per account.
    async fn create(&self, passkey: &PasskeyRecord) -> Result<PasskeyCreated, StoreError>;
    async fn get(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError>;
    /// The account's passkeys, oldest first.
    async fn list(&self, username: &str) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// Removes one of the account's passkeys; `false` when it has none of that id.
    async fn delete(&self, username: &str, credential_id: &str) -> Result<bool, StoreError>;
    /// Stores a login's counter and time, only if the stored counter is still `from`:
    /// `false` when another login moved it first.
    async fn record_use(
        &self,
        credential_id: &str,
        from: u32,
        to: u32,
        now: u64,
    ) -> Result<bool, StoreError>;
}

/// What a WebAuthn challenge was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebauthnPurpose {
    Registration,
    Login,
}

impl WebauthnPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            WebauthnPurpose::Registration => "registration",
            WebauthnPurpose::Login => "login",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registration" => Some(WebauthnPurpose::Registration),
            "login" => Some(WebauthnPurpose::Login),
            _ => None,
        }
    }
}

/// A challenge given out by passkey options, kept until spent or expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebauthnChallenge {
    pub purpose: WebauthnPurpose,
    /// The challenge's bytes, base64url.
    pub challenge: String,
    /// Registration: the account it was given to, and the user handle offered.
    pub username: Option<String>,
    pub user_handle: Option<String>,
    pub expires_at: u64,
}

/// WebAuthn challenges, stored under a hash (of the challenge for registration, of the
/// `challenge_id` for login), each spent once.
#[async_trait]
pub trait WebauthnChallengeStore: Send + Sync {
    async fn create(&self, hash: &str, challenge: &WebauthnChallenge) -> Result<(), StoreError>;
    /// Takes the challenge if it is live, of `purpose` and (for registration) of
    /// `username`: of two takers one gets it. Anything else leaves it as it was.
    async fn take(
        &self,
        hash: &str,
        purpose: WebauthnPurpose,
        username: Option<&str>,
        now: u64,
    ) -> Result<Option<WebauthnChallenge>, StoreError>;
}

/// What [`UserStore::create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The user (and its address claim, if any) is stored; also when the existing user was
    /// created by this very record (a retried write that had landed).
    Created,
    /// Another account has the username: nothing written.
    UsernameTaken,
    /// Another account has the address: nothing written.
    EmailTaken,
}

impl std::fmt::Display for UserRecord {
    // Never print the hash, even by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user {}", self.username)
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// A strongly consistent read.
    async fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Replaces the roles of an existing user (the admin tool); `false` if there is no
    /// such user.
    async fn set_roles(&self, username: &str, roles: &[String]) -> Result<bool, StoreError>;
    /// Replaces the password hash of an existing user.
    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError>;
}

/// Creating users: only `/register` (and the admin tool) writes new accounts. A trait of
/// its own, so that the other functions, which hold a [`UserStore`], do not link the
/// transaction that writes a user with its address claim (a trait object links every
/// method of its trait).
#[async_trait]
pub trait UserRegistry: Send + Sync {
    /// Inserts the user and, when it has an address, the address's claim, in one
    /// transaction: unless the name or the address is taken (nothing is overwritten, and
    /// of two registrations racing for one address only one wins). Idempotent:
    /// [`Created::Created`] again when the existing user was created by this very record
    /// (same `creation_id`), e.g. by an earlier attempt of a retried write.
    async fn create(&self, user: &UserRecord) -> Result<Created, StoreError>;
}

/// What [`AccountStore::change_email`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailChange {
    /// The user now has the new address, verified; the old address is free.
    Changed,
    /// Another account holds the new address: nothing changed.
    Taken,
    /// No such user (deleted meanwhile): nothing changed.
    NoUser,
}

/// One page of [`AccountStore::list`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    /// The username to pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// The account side of the users table: addresses, deletion, administration.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The user whose (claimed) address is `email` (lower-cased), if any.
    async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Marks the user's address verified if it is still `email`; `false` otherwise.
    async fn mark_email_verified(&self, username: &str, email: &str) -> Result<bool, StoreError>;
    /// Moves the user to `new_email` (verified) in one transaction: claims it, releases
    /// the old address's claim. Idempotent for a retried write that had landed.
    async fn change_email(
        &self,
        username: &str,
        new_email: &str,
    ) -> Result<EmailChange, StoreError>;
    /// Deletes the user and its address claim; `false` if there was no such user.
    async fn delete(&self, username: &str) -> Result<bool, StoreError>;
    /// Sets or clears `disabled`; the updated user, `None` if there is no such user.
    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// Up to `limit` users after `after` (exclusive), address claims left out.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<UserPage, StoreError>;
}

/// The second factor's state on the users table. Every change is one conditional write:
/// of concurrent uses of one code, one wins.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Keeps `sealed` as the pending secret (replacing any pending one); `false` if there
    /// is no such user or it has an active factor.
    async fn set_pending_totp(&self, username: &str, sealed: &str) -> Result<bool, StoreError>;
    /// Makes the pending secret `sealed` active with `step` as its last used step and
    /// `recovery_hashes` as its recovery codes; `false` unless `sealed` is still pending
    /// and no factor is active.
    async fn activate_totp(
        &self,
        username: &str,
        sealed: &str,
        step: u64,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError>;
    /// Records `step` as used: `true` only when the factor is active and `step` is later
    /// than its last used step (a code is accepted once, also under concurrency).
    async fn use_totp_step(&self, username: &str, step: u64) -> Result<bool, StoreError>;
    /// Spends one recovery code: `true` only if `hash` was unused.
    async fn use_recovery_code(&self, username: &str, hash: &str) -> Result<bool, StoreError>;
    /// Replaces every recovery code; `false` without an active factor.
    async fn replace_recovery_codes(
        &self,
        username: &str,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError>;
    /// Removes the factor, its pending secret and its recovery codes.
    async fn remove_totp(&self, username: &str) -> Result<(), StoreError>;
}

/// The `mfa_token` of a login waiting for its second step, stored under its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaChallenge {
    pub username: String,
    /// Epoch seconds; the item's TTL.
    pub expires_at: u64,
    /// Wrong codes so far.
    pub failures: u32,
}

/// Wrong codes that kill an `mfa_token`.
pub const MFA_MAX_FAILURES: u32 = 5;

/// `mfa_token`s: five minutes, one login, dead after [`MFA_MAX_FAILURES`] wrong codes.
#[async_trait]
pub trait MfaChallengeStore: Send + Sync {
    async fn create(&self, hash: &str, challenge: &MfaChallenge) -> Result<(), StoreError>;
    /// The challenge if it is live: not expired, not spent, fewer than the maximum
    /// failures.
    async fn get(&self, hash: &str, now: u64) -> Result<Option<MfaChallenge>, StoreError>;
    /// Counts a wrong code; the challenge dies at the maximum.
    async fn record_failure(&self, hash: &str) -> Result<(), StoreError>;
    /// Spends the challenge for a completed login: `true` once, for a live challenge.
    async fn spend(&self, hash: &str, now: u64) -> Result<bool, StoreError>;
}

/// What an emailed link is for. Each has its own TTL, its own page and its own "newest
/// link wins" slot per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Verify the account's current address (`/verify-email`).
    VerifyEmail,
    /// Verify a new address, which then replaces the old one (`/verify-email`).
    ChangeEmail,
    /// Set a new password (`/reset-password`).
    ResetPassword,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [
        Purpose::VerifyEmail,
        Purpose::ChangeEmail,
        Purpose::ResetPassword,
    ];

    /// Stored, and named in audit lines.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A one-time token as stored, under the SHA-256 of the token (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeToken {
    pub purpose: Purpose,
    pub username: String,
    /// The address the link was sent to (for `ChangeEmail`, the new address).
    pub email: String,
    /// Epoch seconds; the item's TTL. A token at or past it is spent by nobody.
    pub expires_at: u64,
}

/// Emailed links' tokens, stored only as their hashes.
#[async_trait]
pub trait OneTimeTokenStore: Send + Sync {
    /// Stores `token` under `hash`; the user's older token of the same purpose stops
    /// working.
    async fn issue(&self, hash: &str, token: &OneTimeToken) -> Result<(), StoreError>;
    /// Spends the token atomically: `Some` exactly once for a live token that no newer
    /// one of its purpose replaced (of two concurrent spends, one wins), `None` for an
    /// unknown, expired, replaced or spent one. A retried write that had landed still
    /// answers `Some` to the caller that spent it.
    /// A token of another purpose than `purpose` is left as it is (`None`).
    async fn spend(
        &self,
        hash: &str,
        purposes: &[Purpose],
        now: u64,
    ) -> Result<Option<OneTimeToken>, StoreError>;
    /// Removes every token of the user (account deletion).
    async fn remove_all(&self, username: &str) -> Result<(), StoreError>;
}

/// Counting limits for mail (per address and purpose, per source address): a window
/// starts at a key's first use and lasts `window_secs`.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one use of `key` unless `limit` uses were counted in its live window:
    /// `true` when counted (go ahead), `false` when over the limit (nothing counted).
    async fn try_acquire(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> Result<bool, StoreError>;
}

/// The failure count of one login throttling key, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// Consecutive failed logins.
    pub failures: u32,
    /// Epoch milliseconds until which logins wait (0 or past: no wait).
    pub blocked_until_ms: u64,
}

impl ThrottleState {
    /// Whether logins with this key must wait at `now_ms`.
    pub fn blocks(&self, now_ms: u64) -> bool {
        self.blocked_until_ms > now_ms
    }

    /// The throttling arithmetic, stated once for every store: the state after one more
    /// failed login at `now_ms` on top of `current` (`None`: no live count), and the
    /// epoch millisecond until which the count is remembered (`policy.memory` after the
    /// wait ends, or after now when there is no wait).
    pub fn after_failure(
        current: Option<ThrottleState>,
        now_ms: u64,
        policy: &ThrottlePolicy,
    ) -> (ThrottleState, u64) {
        let failures = current.map_or(0, |s| s.failures).saturating_add(1);
        let wait_ms = millis(policy.wait_after(failures));
        let blocked_until_ms = if wait_ms == 0 {
            0
        } else {
            now_ms.saturating_add(wait_ms)
        };
        let expires_at_ms = blocked_until_ms
            .max(now_ms)
            .saturating_add(millis(policy.memory));
        (
            ThrottleState {
                failures,
                blocked_until_ms,
            },
            expires_at_ms,
        )
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// When a store gives up recounting under contention: the attempt is answered as one
/// made during the first wait.
pub fn contended_failure(now_ms: u64, policy: &ThrottlePolicy) -> FailureCount {
    FailureCount::AlreadyBlocked {
        until_ms: now_ms.saturating_add(millis(policy.first_wait)),
    }
}

/// What counting a failed login did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCount {
    /// Counted; logins wait until `blocked_until_ms` (0: no wait yet).
    Counted {
        failures: u32,
        blocked_until_ms: u64,
    },
    /// Not counted: a concurrent failure had started a wait until `until_ms`; this
    /// attempt is answered as one made during the wait.
    AlreadyBlocked { until_ms: u64 },
}

/// Consecutive failed logins per throttling key (username and source address), for
/// known and unknown usernames alike. Counts expire (the store's TTL) `policy.memory`
/// after the last failure; they never create or touch a user.
#[async_trait]
pub trait LoginThrottleStore: Send + Sync {
    /// The live count of `key`, if any (a strongly consistent read).
    async fn state(&self, key: &str, now_ms: u64) -> Result<Option<ThrottleState>, StoreError>;
    /// Counts one failure atomically (a conditional write, retried on contention): of
    /// any number of parallel failures, only `policy.free_failures` are counted before
    /// the wait starts; the rest see [`FailureCount::AlreadyBlocked`].
    async fn record_failure(
        &self,
        key: &str,
        now_ms: u64,
        policy: &ThrottlePolicy,
    ) -> Result<FailureCount, StoreError>;
    /// Forgets the count after a good login.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
}

/// The throttling key of a login attempt: the (normalised) username and the caller's
/// source address, so that failures from one address never delay the user elsewhere.
pub fn throttle_key(username: &str, source_ip: Option<&str>) -> String {
    format!("{username}#{}", source_ip.unwrap_or("-"))
}

/// The read side of revocations: all a verifier needs (protected, me, the authorizer
/// link an implementation of this alone, without the AWS SDK).
#[async_trait]
pub trait RevocationCheck: Send + Sync {
    /// Whether the token's `jti`, its session or its user's cutoff refuses it:
    /// one round trip for all three.
    async fn is_revoked(&self, claims: &Claims, now: u64) -> Result<bool, StoreError>;
}

/// Revoked token ids, ended sessions and "logged out everywhere" cutoffs.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Refuses this token id until `expires_at` (the token's `exp`).
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError>;
    /// Refuses every token of the session until `expires_at`.
    async fn revoke_session(&self, sid: &str, expires_at: u64) -> Result<(), StoreError>;
    /// Refuses every token of the user issued before `cutoff`, until `expires_at`.
    async fn revoke_user_tokens_before(
        &self,
        username: &str,
        cutoff: u64,
        expires_at: u64,
    ) -> Result<(), StoreError>;
}

/// Who started a session, as the session list shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

/// One login's refresh family, as `/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub username: String,
    pub sid: String,
    pub created_at: u64,
    pub last_refreshed_at: u64,
    /// When the current refresh token expires; the record's TTL.
    pub expires_at: u64,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    /// The one refresh token of this session that may still be spent.
    pub refresh_jti: String,
}

impl SessionRecord {
    /// How recently the session was used, for ordering: its last refresh (its login when
    /// never refreshed), then its creation, then its sid (whole seconds tie often).
    pub fn recency(&self) -> (u64, u64, &str) {
        (self.last_refreshed_at, self.created_at, &self.sid)
    }

    /// A session known only from one of its tokens (`/oauth/revoke` with a refresh
    /// token): enough to end it (its key, and until when its tokens must be refused).
    pub fn from_token(username: &str, sid: &str, refuse_until: u64) -> Self {
        Self {
            username: username.to_owned(),
            sid: sid.to_owned(),
            created_at: 0,
            last_refreshed_at: 0,
            expires_at: refuse_until,
            user_agent: None,
            source_ip: None,
            refresh_jti: String::new(),
        }
    }
}

/// What happened to a refresh token presented for rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current one; it is spent now and the new one is current.
    Rotated,
    /// It was the one spent just before the current one, at `rotated_at`.
    RecentlySpent { rotated_at: u64 },
    /// It is not (or no longer) a token this session knows: reuse of an old token.
    Reused,
    /// The session is gone (ended, expired or never existed).
    NoSession,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Live sessions of the user (expired ones are left out even before TTL removes them).
    async fn list(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError>;
    async fn get(
        &self,
        username: &str,
        sid: &str,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError>;
    async fn delete(&self, username: &str, sid: &str) -> Result<(), StoreError>;
    /// Atomically spends `presented_jti` and makes `next_jti` current (a conditional write:
    /// of two racing rotations with one token, one wins).
    async fn rotate(
        &self,
        username: &str,
        sid: &str,
        presented_jti: &str,
        next_jti: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<Rotation, StoreError>;
}

/// Ends sessions, across the revoked-tokens and sessions tables: every token of each session
/// is refused until the session's `expires_at` (as [`RevocationStore::revoke_session`]),
/// and the session leaves the list (as [`SessionStore::delete`]). A session leaves the list
/// only once its revocation has been written, so a failure part-way leaves it listed (and
/// revoked, or not yet) and a retry finds it again. `Ok` only when every write is made:
/// never while one of the sessions could still be used.
#[async_trait]
pub trait SessionEnder: Send + Sync {
    /// `sessions` as [`SessionStore::list`] returns them (distinct sids).
    async fn end_sessions(&self, sessions: &[SessionRecord]) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn failures_wait_after_the_free_ones_doubling_up_to_the_cap() {
        let policy = ThrottlePolicy::default();
        let now = 1_800_000_000_000;
        let mut state = None;
        let mut waits = Vec::new();
        for _ in 0..16 {
            let (next, expires_at_ms) = ThrottleState::after_failure(state, now, &policy);
            let wait = next.blocked_until_ms.saturating_sub(now);
            waits.push(wait);
            assert_eq!(expires_at_ms, now + wait + 24 * 3600 * 1000);
            state = Some(next);
        }
        // The fifth failure in a row starts the first wait.
        assert_eq!(&waits[..4], &[0; 4]);
        assert_eq!(&waits[4..9], &[1000, 2000, 4000, 8000, 16000]);
        assert_eq!(waits[15], 15 * 60 * 1000, "capped at max_wait");
        assert_eq!(state.unwrap().failures, 16);
    }

    #[test]
    fn a_contended_failure_waits_the_first_wait() {
        let policy = ThrottlePolicy {
            first_wait: Duration::from_millis(1500),
            ..ThrottlePolicy::default()
        };
        assert_eq!(
            contended_failure(10, &policy),
            FailureCount::AlreadyBlocked { until_ms: 1510 }
        );
    }
}

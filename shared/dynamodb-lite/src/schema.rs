//! The tables' attribute names and key prefixes: stated once, here, for both the SDK
//! stores (`wristband-dynamodb`) and the verifiers' revocation check.

use wristband_core::onetime::sha256_hex;

// users table
pub const USERNAME: &str = "username";
pub const PASSWORD_HASH: &str = "password_hash";
pub const CREATED_AT: &str = "created_at";
pub const ROLES: &str = "roles";
pub const CREATION_ID: &str = "creation_id";
pub const EMAIL: &str = "email";
pub const EMAIL_VERIFIED: &str = "email_verified";
pub const DISABLED: &str = "disabled";
/// On an address claim item (key `email#<address>`): the username holding the address.
pub const OWNER: &str = "owner";
const EMAIL_CLAIM_PREFIX: &str = "email#";
// users table, the second factor (absent on an account without one)
/// The active TOTP secret, sealed with `MFA_ENCRYPTION_KEY` for the account (S).
pub const TOTP_SECRET: &str = "totp_secret";
/// The last TOTP time step whose code was accepted (N); written with TOTP_SECRET.
pub const TOTP_LAST_STEP: &str = "totp_last_step";
/// A sealed TOTP secret given out by enrolment, active once confirmed (S).
pub const TOTP_PENDING: &str = "totp_pending";
/// The unused recovery codes' hashes, a string set (SS): absent when there are none
/// (DynamoDB has no empty set).
pub const RECOVERY_CODES: &str = "recovery_codes";
/// The random id of the last second-factor write, so that the SDK's retry of a write
/// that had landed (and then fails its own condition) answers as the write did.
pub const MFA_REQUEST: &str = "mfa_request";
// users table, passkeys
/// On a user: the credential ids (base64url) of its passkeys, a string set (SS), absent
/// when there are none.
pub const PASSKEYS: &str = "passkeys";
/// A passkey's item (key `passkey#<sha-256 of the credential id>`, so that the longest
/// credential ids stay far below DynamoDB's key limit) holds OWNER, CREATED_AT and these.
const PASSKEY_PREFIX: &str = "passkey#";
pub const CREDENTIAL_ID: &str = "credential_id";
pub const NAME: &str = "name";
pub const LAST_USED_AT: &str = "last_used_at";
/// COSE algorithm (N) and raw public key (B) of a passkey.
pub const ALGORITHM: &str = "algorithm";
pub const PUBLIC_KEY: &str = "public_key";
pub const SIGN_COUNT: &str = "sign_count";
pub const USER_HANDLE: &str = "user_handle";
pub const TRANSPORTS: &str = "transports";
// revoked tokens table: key `jti` holds a token id as is, `sid#<sid>` for an ended
// session, `user#<username>` for a "logged out everywhere" cutoff, `throttle#<key>` for
// the failed logins of a throttling key (username and source address), `ott#<hash>` for
// an emailed link's token, `ottslot#<purpose>#<username>` for the hash of the one token
// of that purpose the user may spend, `rate#<key>` (`ratehash#<sha-256>` for a long key)
// for a mail rate limit's count, `mfa#<hash>` for a login's `mfa_token` (also USERNAME,
// FAILURES and EXPIRES_AT), `webauthn#<hash>` for a passkey challenge (PURPOSE,
// CHALLENGE, EXPIRES_AT; USERNAME and USER_HANDLE for a registration's).
pub const JTI: &str = "jti";
pub const EXPIRES_AT: &str = "expires_at";
pub const REVOKED_BEFORE: &str = "revoked_before";
const SESSION_KEY_PREFIX: &str = "sid#";
const USER_KEY_PREFIX: &str = "user#";
const THROTTLE_KEY_PREFIX: &str = "throttle#";
pub const FAILURES: &str = "failures";
pub const BLOCKED_UNTIL_MS: &str = "blocked_until_ms";
const ONE_TIME_TOKEN_PREFIX: &str = "ott#";
const ONE_TIME_SLOT_PREFIX: &str = "ottslot#";
/// On a one-time token item (also USERNAME, EMAIL, EXPIRES_AT): `Purpose::name`.
pub const PURPOSE: &str = "purpose";
/// On a slot item: the hash of the token that may be spent.
pub const TOKEN_HASH: &str = "token_hash";
const RATE_KEY_PREFIX: &str = "rate#";
const RATE_HASHED_KEY_PREFIX: &str = "ratehash#";
/// On a rate limit item: uses counted in the window that ends at `expires_at`.
pub const COUNT: &str = "count";
/// On a rate limit item (and an `mfa_token`'s, for its failures): the random id of the
/// write that counted last, so that the SDK's retry of a write that had landed is not
/// counted twice.
pub const LAST_REQUEST: &str = "last_request";
const MFA_CHALLENGE_PREFIX: &str = "mfa#";
/// On an `mfa_token`'s item: the id of the request that spent it (the token is dead).
pub const SPENT_BY: &str = "spent_by";
const WEBAUTHN_CHALLENGE_PREFIX: &str = "webauthn#";
/// On a passkey challenge: the challenge's bytes, base64url.
pub const CHALLENGE: &str = "challenge";
/// Longest rate limit key stored as is; a longer one is stored as its SHA-256 (DynamoDB
/// refuses keys over 2048 bytes with an error).
pub const RATE_KEY_MAX: usize = 512;
// sessions table (also uses USERNAME, CREATED_AT, EXPIRES_AT)
pub const SID: &str = "sid";
pub const LAST_REFRESHED_AT: &str = "last_refreshed_at";
pub const USER_AGENT: &str = "user_agent";
pub const SOURCE_IP: &str = "source_ip";
pub const REFRESH_JTI: &str = "refresh_jti";
pub const PREVIOUS_REFRESH_JTI: &str = "previous_refresh_jti";
pub const ROTATED_AT: &str = "rotated_at";

/// One table as template.yaml declares it and `create-tables` makes it (all key
/// attributes are strings; billing on demand). A test holds template.yaml to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableDef {
    /// The template's logical id.
    pub resource: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    /// The TTL attribute (epoch seconds), if items expire.
    pub ttl_attribute: Option<&'static str>,
}

pub const USERS_TABLE: TableDef = TableDef {
    resource: "UsersTable",
    partition_key: USERNAME,
    sort_key: None,
    ttl_attribute: None,
};

pub const REVOKED_TOKENS_TABLE: TableDef = TableDef {
    resource: "RevokedTokensTable",
    partition_key: JTI,
    sort_key: None,
    ttl_attribute: Some(EXPIRES_AT),
};

pub const SESSIONS_TABLE: TableDef = TableDef {
    resource: "SessionsTable",
    partition_key: USERNAME,
    sort_key: Some(SID),
    ttl_attribute: Some(EXPIRES_AT),
};

/// Every table of wristband.
pub const TABLES: [TableDef; 3] = [USERS_TABLE, REVOKED_TOKENS_TABLE, SESSIONS_TABLE];

/// The users-table key of an address's claim (usernames never hold `#`, so a claim
/// never meets a user's key).
pub fn email_claim_key(email: &str) -> String {
    format!("{EMAIL_CLAIM_PREFIX}{email}")
}

/// The users-table key of a passkey, by its credential id (base64url).
pub fn passkey_key(credential_id: &str) -> String {
    format!("{PASSKEY_PREFIX}{}", sha256_hex(credential_id.as_bytes()))
}

/// Whether a users-table key is a user's (not an address claim or a passkey: those keys
/// hold `#`, which no username does).
pub fn is_user_key(key: &str) -> bool {
    !key.contains('#')
}

/// The revoked-tokens key of a passkey challenge, by its hash.
pub fn webauthn_challenge_key(hash: &str) -> String {
    format!("{WEBAUTHN_CHALLENGE_PREFIX}{hash}")
}

/// The revoked-tokens key of an ended session.
pub fn session_key(sid: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{sid}")
}

/// The revoked-tokens key of a user's "logged out everywhere" cutoff.
pub fn user_key(username: &str) -> String {
    format!("{USER_KEY_PREFIX}{username}")
}

/// The revoked-tokens key of a throttling key's failed-login count (`key` is
/// `wristband_core::store::throttle_key`'s: username and source address).
pub fn throttle_item_key(key: &str) -> String {
    format!("{THROTTLE_KEY_PREFIX}{key}")
}

/// The revoked-tokens key of an emailed link's token, by the token's hash.
pub fn one_time_token_key(hash: &str) -> String {
    format!("{ONE_TIME_TOKEN_PREFIX}{hash}")
}

/// The revoked-tokens key naming the one token of `purpose` (`Purpose::name`) that the
/// user may spend.
pub fn one_time_slot_key(purpose: &str, username: &str) -> String {
    format!("{ONE_TIME_SLOT_PREFIX}{purpose}#{username}")
}

/// The revoked-tokens key of a login's `mfa_token`, by the token's hash.
pub fn mfa_challenge_key(hash: &str) -> String {
    format!("{MFA_CHALLENGE_PREFIX}{hash}")
}

/// The revoked-tokens key of a mail rate limit's count: `key` itself up to
/// [`RATE_KEY_MAX`] bytes, else its SHA-256 (under a prefix of its own, so that no short
/// key meets a hashed one).
pub fn rate_limit_key(key: &str) -> String {
    if key.len() <= RATE_KEY_MAX {
        return format!("{RATE_KEY_PREFIX}{key}");
    }
    format!("{RATE_HASHED_KEY_PREFIX}{}", sha256_hex(key.as_bytes()))
}

/// The revocation table's keys a token is checked against, in this order: its `jti`,
/// its session, its user's cutoff.
pub fn revocation_keys(jti: &str, sid: &str, sub: &str) -> [String; 3] {
    [jti.to_owned(), session_key(sid), user_key(sub)]
}

/// What one revocation item says about a token issued at `iat`, checked at `now`:
/// DynamoDB removes expired items lazily, so one past its TTL counts as absent; the
/// user's cutoff item (`is_cutoff`) refuses only tokens issued before its cutoff; any
/// other live item (the token's `jti`, its session) refuses.
pub fn item_refuses(
    is_cutoff: bool,
    expires_at: Option<u64>,
    revoked_before: Option<u64>,
    iat: u64,
    now: u64,
) -> bool {
    if expires_at.is_none_or(|e| e <= now) {
        return false;
    }
    if is_cutoff {
        revoked_before.is_some_and(|cutoff| iat < cutoff)
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_keys_are_bounded_and_distinct() {
        assert_eq!(rate_limit_key("ip#192.0.2.1"), "rate#ip#192.0.2.1");
        let short = "a".repeat(RATE_KEY_MAX);
        assert_eq!(rate_limit_key(&short), format!("rate#{short}"));
        let long = "a".repeat(5000);
        let hashed = rate_limit_key(&long);
        assert_eq!(hashed.len(), "ratehash#".len() + 64);
        assert_eq!(hashed, rate_limit_key(&long));
        assert_ne!(hashed, rate_limit_key(&"a".repeat(5001)));
        // A short key never meets a hashed one.
        let hex = hashed.trim_start_matches("ratehash#");
        assert_ne!(rate_limit_key(hex), hashed);
    }

    #[test]
    fn one_time_keys_keep_tokens_slots_and_users_apart() {
        assert_eq!(one_time_token_key("ab12"), "ott#ab12");
        assert_eq!(
            one_time_slot_key("reset_password", "alice"),
            "ottslot#reset_password#alice"
        );
        assert!(!is_user_key(&one_time_token_key("x")));
        assert_eq!(mfa_challenge_key("ab12"), "mfa#ab12");
        assert_ne!(mfa_challenge_key("x"), one_time_token_key("x"));
        assert_eq!(webauthn_challenge_key("ab12"), "webauthn#ab12");
        let passkey = passkey_key(&"A".repeat(1400));
        assert_eq!(passkey.len(), "passkey#".len() + 64);
        assert!(!is_user_key(&passkey));
        assert!(!is_user_key(&email_claim_key("a@example.com")));
        assert!(is_user_key("alice"));
    }
}

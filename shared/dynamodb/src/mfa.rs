//! The second factor on DynamoDB: the TOTP factor and the recovery codes on the user's
//! item (users table), and the `mfa_token`s of logins waiting for their second step
//! (revoked-tokens table, `mfa#<hash>`, removed by its TTL).
//!
//! Every change of the factor is one conditional UpdateItem, so that of concurrent uses
//! of one code exactly one wins. Each also writes a random id of its own call
//! (`MFA_REQUEST`): the SDK sends a write again when its answer was lost (a timeout after
//! it landed), and that retry then fails its own condition (the step is used, the code
//! is gone); the id in the item as it was tells that the write was ours and landed.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use wristband_core::store::{MfaChallenge, MfaChallengeStore, MfaStore, MFA_MAX_FAILURES};
use wristband_core::StoreError;
use wristband_dynamodb_lite::schema::*;

use crate::store::{
    applied, classify, conditional_check_failed, get_n, get_s, idempotent_update, malformed, n,
    new_request, s, DynamoDbUsers, Item,
};

/// The string set of `members`, `None` when there are none: DynamoDB stores no empty
/// set (nor one with duplicates), so the attribute is removed instead.
fn string_set(members: &[String]) -> Option<AttributeValue> {
    let distinct: BTreeSet<&String> = members.iter().collect();
    (!distinct.is_empty()).then(|| AttributeValue::Ss(distinct.into_iter().cloned().collect()))
}

// ---------------------------------------------------------------- the factor

impl DynamoDbUsers {
    /// An UpdateItem of `username`'s item that records this call's `request` in
    /// `MFA_REQUEST` (see [`idempotent_update`]).
    fn mfa_update(&self, username: &str, request: &str) -> UpdateItemFluentBuilder {
        idempotent_update(
            &self.client,
            &self.table,
            (USERNAME, username.to_owned()),
            MFA_REQUEST,
            request,
        )
    }
}

#[async_trait]
impl MfaStore for DynamoDbUsers {
    async fn set_pending_totp(&self, username: &str, sealed: &str) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let request = new_request()?;
        let update = self
            .mfa_update(username, &request)
            .update_expression("SET #pending = :sealed, #req = :req")
            .condition_expression("attribute_exists(#u) AND attribute_not_exists(#secret)")
            .expression_attribute_names("#pending", TOTP_PENDING)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_values(":sealed", s(sealed));
        applied(update, MFA_REQUEST, &request).await
    }

    async fn activate_totp(
        &self,
        username: &str,
        sealed: &str,
        step: u64,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let request = new_request()?;
        let codes = string_set(recovery_hashes);
        let expression = if codes.is_some() {
            "SET #secret = :sealed, #step = :step, #codes = :codes, #req = :req REMOVE #pending"
        } else {
            "SET #secret = :sealed, #step = :step, #req = :req REMOVE #pending, #codes"
        };
        let mut update = self
            .mfa_update(username, &request)
            .update_expression(expression)
            .condition_expression("#pending = :sealed AND attribute_not_exists(#secret)")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#step", TOTP_LAST_STEP)
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .expression_attribute_names("#pending", TOTP_PENDING)
            .expression_attribute_values(":sealed", s(sealed))
            .expression_attribute_values(":step", n(step));
        if let Some(codes) = codes {
            update = update.expression_attribute_values(":codes", codes);
        }
        applied(update, MFA_REQUEST, &request).await
    }

    async fn use_totp_step(&self, username: &str, step: u64) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let request = new_request()?;
        let update = self
            .mfa_update(username, &request)
            .update_expression("SET #step = :step, #req = :req")
            .condition_expression("attribute_exists(#secret) AND #step < :step")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#step", TOTP_LAST_STEP)
            .expression_attribute_values(":step", n(step));
        applied(update, MFA_REQUEST, &request).await
    }

    async fn use_recovery_code(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let request = new_request()?;
        // Deleting the last member removes the attribute (no empty set is stored).
        let update = self
            .mfa_update(username, &request)
            .update_expression("SET #req = :req DELETE #codes :one")
            .condition_expression("contains(#codes, :hash)")
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .expression_attribute_values(":one", AttributeValue::Ss(vec![hash.to_owned()]))
            .expression_attribute_values(":hash", s(hash));
        applied(update, MFA_REQUEST, &request).await
    }

    async fn replace_recovery_codes(
        &self,
        username: &str,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let request = new_request()?;
        let codes = string_set(recovery_hashes);
        let expression = if codes.is_some() {
            "SET #codes = :codes, #req = :req"
        } else {
            "SET #req = :req REMOVE #codes"
        };
        let mut update = self
            .mfa_update(username, &request)
            .update_expression(expression)
            .condition_expression("attribute_exists(#secret)")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#codes", RECOVERY_CODES);
        if let Some(codes) = codes {
            update = update.expression_attribute_values(":codes", codes);
        }
        applied(update, MFA_REQUEST, &request).await
    }

    async fn remove_totp(&self, username: &str) -> Result<(), StoreError> {
        if !is_user_key(username) {
            return Ok(());
        }
        // Conditional only so that no item is made for a missing user; removing what is
        // already absent is no error (and a retried removal removes nothing more).
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .update_expression("REMOVE #secret, #step, #pending, #codes, #req")
            .condition_expression("attribute_exists(#u)")
            .expression_attribute_names("#secret", TOTP_SECRET)
            .expression_attribute_names("#step", TOTP_LAST_STEP)
            .expression_attribute_names("#pending", TOTP_PENDING)
            .expression_attribute_names("#codes", RECOVERY_CODES)
            .expression_attribute_names("#req", MFA_REQUEST)
            .expression_attribute_names("#u", USERNAME)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if conditional_check_failed(&err) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }
}

// ---------------------------------------------------------------- mfa_tokens

/// The `mfa_token`s of logins waiting for their second step, in the revoked-tokens table
/// under `mfa#<hash>`: the username, the wrong codes so far, and `expires_at` (the TTL).
/// A challenge at [`MFA_MAX_FAILURES`] stays until its TTL, dead: no read or spend
/// takes it.
pub struct DynamoDbMfaChallenges {
    client: Client,
    table: String,
}

impl DynamoDbMfaChallenges {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn challenge_from_item(item: &Item) -> Result<MfaChallenge, StoreError> {
    Ok(MfaChallenge {
        username: get_s(item, USERNAME).ok_or_else(|| malformed("mfa_token without username"))?,
        expires_at: get_n(item, EXPIRES_AT)
            .ok_or_else(|| malformed("mfa_token without expires_at"))?,
        failures: get_n(item, FAILURES)
            .ok_or_else(|| malformed("mfa_token without failures"))?
            .try_into()
            .unwrap_or(u32::MAX),
    })
}

/// Not expired, not killed by wrong codes (a spent one is marked, see `get`).
fn is_live(challenge: &MfaChallenge, now: u64) -> bool {
    challenge.expires_at > now && challenge.failures < MFA_MAX_FAILURES
}

#[async_trait]
impl MfaChallengeStore for DynamoDbMfaChallenges {
    async fn create(&self, hash: &str, challenge: &MfaChallenge) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(JTI, s(mfa_challenge_key(hash)))
            .item(USERNAME, s(&challenge.username))
            .item(FAILURES, n(u64::from(challenge.failures)))
            .item(EXPIRES_AT, n(challenge.expires_at))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get(&self, hash: &str, now: u64) -> Result<Option<MfaChallenge>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(JTI, s(mfa_challenge_key(hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        // A spent token stays until its TTL, marked: as dead as an expired one.
        let Some(item) = out.item().filter(|item| !item.contains_key(SPENT_BY)) else {
            return Ok(None);
        };
        Ok(Some(challenge_from_item(item)?).filter(|c| is_live(c, now)))
    }

    async fn record_failure(&self, hash: &str) -> Result<(), StoreError> {
        // Written with the count: the SDK's retry of a count that had landed finds its own
        // request there and counts nothing more.
        let request = new_request()?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(JTI, s(mfa_challenge_key(hash)))
            .update_expression("SET #l = :req ADD #f :one")
            .condition_expression(
                "attribute_exists(#k) AND attribute_not_exists(#s) \
                 AND (attribute_not_exists(#l) OR #l <> :req)",
            )
            .expression_attribute_names("#k", JTI)
            .expression_attribute_names("#s", SPENT_BY)
            .expression_attribute_names("#l", LAST_REQUEST)
            .expression_attribute_names("#f", FAILURES)
            .expression_attribute_values(":req", s(&request))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            // A failed condition: the challenge is gone (spent or expired), or this very
            // count landed already.
            Ok(_) => Ok(()),
            Err(err) if conditional_check_failed(&err) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }

    async fn spend(&self, hash: &str, now: u64) -> Result<bool, StoreError> {
        // One conditional update that marks the token spent by this request (a single-item
        // write: half the latency of a transaction, and it runs beside the code's own
        // spend). The SDK's retry of a write that had landed finds its own request id and
        // succeeds; any other spend finds the mark and fails. The item stays, dead, until
        // its TTL.
        let request = new_request()?;
        let update = idempotent_update(
            &self.client,
            &self.table,
            (JTI, mfa_challenge_key(hash)),
            SPENT_BY,
            &request,
        )
        .update_expression("SET #req = :req")
        .condition_expression(
            "attribute_exists(#k) AND #e > :now AND #f < :max AND attribute_not_exists(#req)",
        )
        .expression_attribute_names("#k", JTI)
        .expression_attribute_names("#e", EXPIRES_AT)
        .expression_attribute_names("#f", FAILURES)
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":max", n(u64::from(MFA_MAX_FAILURES)));
        // Unknown, spent, expired or killed: false.
        applied(update, SPENT_BY, &request).await
    }
}

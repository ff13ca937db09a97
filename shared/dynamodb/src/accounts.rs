//! Accounts by email on DynamoDB: address claims, deletion and administration on the users
//! table; emailed links' tokens and mail rate limits on the revoked-tokens table (both
//! expire by its TTL).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use wristband_core::ids::random_id;
use wristband_core::store::{
    AccountStore, EmailChange, OneTimeToken, OneTimeTokenStore, Purpose, RateLimitStore, UserPage,
    UserRecord, UserStore,
};
use wristband_core::StoreError;
use wristband_dynamodb_lite::schema::*;

use crate::store::{
    classify, conditional_check_failed, get_n, get_s, malformed, n, request_token, s,
    user_from_item, DynamoDbUsers, Item,
};

/// How often a transaction is tried again after losing to a concurrent write (the user
/// changed meanwhile, or DynamoDB cancelled it for a conflict) before giving up with
/// `Unavailable`.
pub(crate) const TRANSACTION_ATTEMPTS: u32 = 5;

/// The wait before the next attempt after a lost race: 10 ms doubling.
pub(crate) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
}

pub(crate) fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(Box::new(e))
}

pub(crate) fn contended(what: &str) -> StoreError {
    StoreError::Unavailable(format!("{what}: lost to concurrent writes after retries").into())
}

/// A cancelled TransactWriteItems: why each of its items was (or was not) refused.
pub(crate) struct Cancelled {
    reasons: Vec<CancellationReason>,
    pub(crate) err: StoreError,
}

impl Cancelled {
    /// Whether item `i`'s condition failed.
    pub(crate) fn failed(&self, i: usize) -> bool {
        self.code(i) == Some("ConditionalCheckFailed")
    }

    pub(crate) fn any_failed(&self) -> bool {
        (0..self.reasons.len()).any(|i| self.failed(i))
    }

    /// Cancelled for a concurrent transaction on one of the items: worth another try.
    pub(crate) fn conflict(&self) -> bool {
        !self.any_failed()
            && self
                .reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
    }

    fn code(&self, i: usize) -> Option<&str> {
        self.reasons.get(i).and_then(|r| r.code())
    }
}

/// Runs one TransactWriteItems. Its idempotency token is fresh for this call, so that
/// the SDK's retry of an attempt that had landed succeeds (instead of failing its own
/// conditions), and no other call, not even one with the same items, shares it.
pub(crate) async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<Result<(), Cancelled>, StoreError> {
    let id = random_id().map_err(StoreError::Other)?;
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .client_request_token(request_token(&id))
        .send()
        .await;
    let err = match result {
        Ok(_) => return Ok(Ok(())),
        Err(err) => err,
    };
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            e.cancellation_reasons().to_vec()
        }
        // The SDK's retry of an attempt still in flight: an outage as far as we know.
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
            return Err(StoreError::Unavailable(Box::new(err)))
        }
        _ => return Err(classify(err)),
    };
    // Throttling, conflicts and the like are `Unavailable`; a refused request (a bug) is
    // `Other`, and so is a failed condition unless the caller expected it (its items do
    // not agree with each other).
    let invalid = reasons
        .iter()
        .any(|r| matches!(r.code(), Some("ValidationError" | "ConditionalCheckFailed")));
    let err = if invalid {
        StoreError::Other(Box::new(err))
    } else {
        StoreError::Unavailable(Box::new(err))
    };
    Ok(Err(Cancelled { reasons, err }))
}

// ---------------------------------------------------------------- accounts

/// The claim of `email` for `user`: new, or already the user's.
fn put_claim(table: &str, email: &str, user: &UserRecord) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .item(USERNAME, s(email_claim_key(email)))
        .item(OWNER, s(&user.username))
        .item(CREATION_ID, s(&user.creation_id))
        .condition_expression("attribute_not_exists(#u) OR #o = :u")
        .expression_attribute_names("#u", USERNAME)
        .expression_attribute_names("#o", OWNER)
        .expression_attribute_values(":u", s(&user.username))
        .build()
        .map_err(built)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Deletes the claim of `email` unless another user holds it (a missing claim is no
/// error: there is nothing to release).
fn delete_claim(table: &str, email: &str, username: &str) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .key(USERNAME, s(email_claim_key(email)))
        .condition_expression("attribute_not_exists(#u) OR #o = :u")
        .expression_attribute_names("#u", USERNAME)
        .expression_attribute_names("#o", OWNER)
        .expression_attribute_values(":u", s(username))
        .build()
        .map_err(built)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The condition that the user exists and still has the address it was read with
/// (`None`: no address), on `#u` (USERNAME) and `#e` (EMAIL); and the value of `:seen`.
fn unchanged_user(email: Option<&str>) -> (&'static str, Option<AttributeValue>) {
    match email {
        Some(email) => ("attribute_exists(#u) AND #e = :seen", Some(s(email))),
        None => ("attribute_exists(#u) AND attribute_not_exists(#e)", None),
    }
}

impl DynamoDbUsers {
    /// One attempt of `change_email` on the user as read: `None` when it lost to a
    /// concurrent write and the user must be read again.
    async fn try_change_email(
        &self,
        user: &UserRecord,
        new_email: &str,
    ) -> Result<Option<EmailChange>, StoreError> {
        let (condition, seen) = unchanged_user(user.email.as_deref());
        let update = Update::builder()
            .table_name(&self.table)
            .key(USERNAME, s(&user.username))
            .update_expression("SET #e = :new, #v = :true")
            .condition_expression(condition)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_names("#e", EMAIL)
            .expression_attribute_names("#v", EMAIL_VERIFIED)
            .set_expression_attribute_values(Some(
                [
                    (":new".to_owned(), s(new_email)),
                    (":true".to_owned(), AttributeValue::Bool(true)),
                ]
                .into_iter()
                .chain(seen.map(|v| (":seen".to_owned(), v)))
                .collect(),
            ))
            .build()
            .map_err(built)?;
        let mut items = vec![
            put_claim(&self.table, new_email, user)?,
            TransactWriteItem::builder().update(update).build(),
        ];
        if let Some(old) = user.email.as_deref().filter(|old| *old != new_email) {
            items.push(delete_claim(&self.table, old, &user.username)?);
        }
        match transact(&self.client, items).await? {
            Ok(()) => Ok(Some(EmailChange::Changed)),
            Err(c) if c.failed(0) => Ok(Some(EmailChange::Taken)),
            // The user changed (or went) since it was read; or a conflict.
            Err(c) if c.failed(1) || c.conflict() => Ok(None),
            Err(c) => Err(c.err),
        }
    }

    /// One attempt of `delete` on the user as read: `None` when it lost to a concurrent
    /// write and the user must be read again.
    async fn try_delete(&self, user: &UserRecord) -> Result<Option<bool>, StoreError> {
        let (condition, seen) = unchanged_user(user.email.as_deref());
        // The passkeys go with the user: the condition holds the set as read, so a passkey
        // registered meanwhile makes this attempt fail and the next one delete it too.
        let passkeys_condition = if user.passkeys.is_empty() {
            "attribute_not_exists(#p)"
        } else {
            "#p = :passkeys"
        };
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key(USERNAME, s(&user.username))
            .condition_expression(format!("{condition} AND {passkeys_condition}"))
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_names("#e", EMAIL)
            .expression_attribute_names("#p", PASSKEYS);
        if let Some(seen) = seen {
            delete = delete.expression_attribute_values(":seen", seen);
        }
        if !user.passkeys.is_empty() {
            delete = delete.expression_attribute_values(
                ":passkeys",
                AttributeValue::Ss(user.passkeys.clone()),
            );
        }
        let mut items = vec![TransactWriteItem::builder()
            .delete(delete.build().map_err(built)?)
            .build()];
        if let Some(email) = &user.email {
            items.push(delete_claim(&self.table, email, &user.username)?);
        }
        for id in &user.passkeys {
            items.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .key(USERNAME, s(passkey_key(id)))
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
            );
        }
        match transact(&self.client, items).await? {
            Ok(()) => Ok(Some(true)),
            Err(c) if c.failed(0) || c.conflict() => Ok(None),
            Err(c) => Err(c.err),
        }
    }
}

#[async_trait]
impl AccountStore for DynamoDbUsers {
    async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(USERNAME, s(email_claim_key(email)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(owner) = out.item().and_then(|item| get_s(item, OWNER)) else {
            return Ok(None);
        };
        // Only a user that still has the address (a claim and its user change together).
        Ok(self
            .get(&owner)
            .await?
            .filter(|user| user.email.as_deref() == Some(email)))
    }

    async fn mark_email_verified(&self, username: &str, email: &str) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .update_expression("SET #v = :true")
            .condition_expression("attribute_exists(#u) AND #e = :e")
            .expression_attribute_names("#v", EMAIL_VERIFIED)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_names("#e", EMAIL)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":e", s(email))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if conditional_check_failed(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn change_email(
        &self,
        username: &str,
        new_email: &str,
    ) -> Result<EmailChange, StoreError> {
        // Optimistic: the transaction holds the user to the address it had when read, so
        // that a concurrent change never leaves an address claimed by nobody's address.
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let Some(user) = self.get(username).await? else {
                return Ok(EmailChange::NoUser);
            };
            if let Some(done) = self.try_change_email(&user, new_email).await? {
                return Ok(done);
            }
            backoff(attempt).await;
        }
        Err(contended("changing an address"))
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let Some(user) = self.get(username).await? else {
                return Ok(false);
            };
            if let Some(done) = self.try_delete(&user).await? {
                return Ok(done);
            }
            backoff(attempt).await;
        }
        Err(contended("deleting a user"))
    }

    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<Option<UserRecord>, StoreError> {
        if !is_user_key(username) {
            return Ok(None);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .update_expression("SET #d = :d")
            .condition_expression("attribute_exists(#u)")
            .expression_attribute_names("#d", DISABLED)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes()
                .map(user_from_item)
                .transpose()?
                .map(Some)
                .ok_or_else(|| malformed("no attributes after an update")),
            Err(err) if conditional_check_failed(&err) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<UserPage, StoreError> {
        // Scan order (by key hash): resuming after a username continues right after it,
        // whether or not it still exists, so pages never repeat or skip a user.
        if limit == 0 {
            return Ok(UserPage::default());
        }
        let mut users = Vec::new();
        let mut start_key = after.map(|after| Item::from([(USERNAME.to_owned(), s(after))]));
        loop {
            // Claims are about half of the items: ask for twice what is still missing.
            let want = (limit - users.len()).saturating_mul(2).clamp(2, 1000);
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .limit(i32::try_from(want).unwrap_or(1000))
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(classify)?;
            let mut items = out.items().iter();
            for item in items.by_ref() {
                let key = get_s(item, USERNAME).ok_or_else(|| malformed("no username"))?;
                if !is_user_key(&key) {
                    // Address claims and passkeys share the table.
                    continue;
                }
                users.push(user_from_item(item)?);
                if users.len() == limit {
                    break;
                }
            }
            let scan_ended = out.last_evaluated_key().is_none_or(|k| k.is_empty());
            if users.len() == limit {
                // More may follow: items left on this page, or the scan is not at its end.
                let more = items.next().is_some() || !scan_ended;
                let next = if more {
                    users.last().map(|u| u.username.clone())
                } else {
                    None
                };
                return Ok(UserPage { users, next });
            }
            if scan_ended {
                return Ok(UserPage { users, next: None });
            }
            start_key = out.last_evaluated_key().cloned();
        }
    }
}

// ---------------------------------------------------------------- one-time tokens

/// Emailed links' tokens in the revoked-tokens table: `ott#<hash>` holds a token, and
/// `ottslot#<purpose>#<username>` the hash of the one token of that purpose the user may
/// spend (a newer token replaces it there). Both expire with the token.
pub struct DynamoDbOneTimeTokens {
    client: Client,
    table: String,
}

impl DynamoDbOneTimeTokens {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn delete_key(&self, key: String) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(JTI, s(key))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The hash the slot names, if any (a strongly consistent read).
    async fn slot(&self, purpose: Purpose, username: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(JTI, s(one_time_slot_key(purpose.name(), username)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item().and_then(|item| get_s(item, TOKEN_HASH)))
    }
}

fn token_from_item(item: &Item) -> Result<OneTimeToken, StoreError> {
    Ok(OneTimeToken {
        purpose: get_s(item, PURPOSE)
            .and_then(|p| Purpose::from_name(&p))
            .ok_or_else(|| malformed("one-time token without a known purpose"))?,
        username: get_s(item, USERNAME)
            .ok_or_else(|| malformed("one-time token without username"))?,
        email: get_s(item, EMAIL).ok_or_else(|| malformed("one-time token without email"))?,
        expires_at: get_n(item, EXPIRES_AT)
            .ok_or_else(|| malformed("one-time token without expires_at"))?,
    })
}

#[async_trait]
impl OneTimeTokenStore for DynamoDbOneTimeTokens {
    async fn issue(&self, hash: &str, token: &OneTimeToken) -> Result<(), StoreError> {
        // The token first: a token without its slot is never spent, while a slot naming a
        // missing token would make the newest link a dead one.
        self.client
            .put_item()
            .table_name(&self.table)
            .item(JTI, s(one_time_token_key(hash)))
            .item(PURPOSE, s(token.purpose.name()))
            .item(USERNAME, s(&token.username))
            .item(EMAIL, s(&token.email))
            .item(EXPIRES_AT, n(token.expires_at))
            .send()
            .await
            .map_err(classify)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                JTI,
                s(one_time_slot_key(token.purpose.name(), &token.username)),
            )
            .item(TOKEN_HASH, s(hash))
            .item(EXPIRES_AT, n(token.expires_at))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        let older = out
            .attributes()
            .and_then(|item| get_s(item, TOKEN_HASH))
            .filter(|older| older != hash);
        if let Some(older) = older {
            // Best effort: the slot no longer names it, so it cannot be spent anyway, and
            // the TTL removes it if this delete fails.
            let _ = self.delete_key(one_time_token_key(&older)).await;
        }
        Ok(())
    }

    async fn spend(
        &self,
        hash: &str,
        purposes: &[Purpose],
        now: u64,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let key = one_time_token_key(hash);
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(JTI, s(&key))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify)?;
            let Some(token) = out.item().map(token_from_item).transpose()? else {
                return Ok(None);
            };
            if token.expires_at <= now || !purposes.contains(&token.purpose) {
                return Ok(None);
            }
            // The token and its slot go together, only while the token is live and still
            // the slot's: of concurrent spends, one transaction passes both conditions.
            let delete_token = Delete::builder()
                .table_name(&self.table)
                .key(JTI, s(&key))
                .condition_expression("attribute_exists(#k) AND #e > :now")
                .expression_attribute_names("#k", JTI)
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_values(":now", n(now))
                .build()
                .map_err(built)?;
            let delete_slot = Delete::builder()
                .table_name(&self.table)
                .key(
                    JTI,
                    s(one_time_slot_key(token.purpose.name(), &token.username)),
                )
                .condition_expression("#h = :h")
                .expression_attribute_names("#h", TOKEN_HASH)
                .expression_attribute_values(":h", s(hash))
                .build()
                .map_err(built)?;
            let items = vec![
                TransactWriteItem::builder().delete(delete_token).build(),
                TransactWriteItem::builder().delete(delete_slot).build(),
            ];
            match transact(&self.client, items).await? {
                Ok(()) => return Ok(Some(token)),
                // Spent, expired or replaced meanwhile.
                Err(c) if c.any_failed() => return Ok(None),
                // A concurrent spend may have won: read again.
                Err(c) if c.conflict() => backoff(attempt).await,
                Err(c) => return Err(c.err),
            }
        }
        Err(contended("spending a one-time token"))
    }

    async fn remove_all(&self, username: &str) -> Result<(), StoreError> {
        for purpose in Purpose::ALL {
            if let Some(hash) = self.slot(purpose, username).await? {
                self.delete_key(one_time_token_key(&hash)).await?;
                self.delete_key(one_time_slot_key(purpose.name(), username))
                    .await?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- rate limits

/// Mail rate limits in the revoked-tokens table: `rate#<key>` counts the uses of its
/// window, which ends at `expires_at` (also the item's TTL).
pub struct DynamoDbRateLimits {
    client: Client,
    table: String,
}

impl DynamoDbRateLimits {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Starts a window with this use when there is none live; `false` when a live one is
    /// there (also this request's own, written by an attempt that had landed: `count`
    /// tells).
    async fn start_window(
        &self,
        key: &str,
        request: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(JTI, s(key))
            .item(COUNT, n(1))
            .item(EXPIRES_AT, n(expires_at))
            .item(LAST_REQUEST, s(request))
            .condition_expression("attribute_not_exists(#k) OR #e <= :now")
            .expression_attribute_names("#k", JTI)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if conditional_check_failed(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }
}

/// What counting one use in a live window did.
enum Count {
    Counted,
    Full,
    /// No live window any more (it ended or went meanwhile): start one.
    NoWindow,
}

/// How often a use is counted again when the window changed under it.
const RATE_WRITE_ATTEMPTS: u32 = 3;

#[async_trait]
impl RateLimitStore for DynamoDbRateLimits {
    async fn try_acquire(
        &self,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let key = rate_limit_key(key);
        // Written with each count: the SDK's retry of a write that had landed sees its own
        // request there and is not counted again.
        let request = random_id().map_err(StoreError::Other)?;
        for _ in 0..RATE_WRITE_ATTEMPTS {
            if self
                .start_window(&key, &request, now.saturating_add(window_secs), now)
                .await?
            {
                return Ok(true);
            }
            match self.count(&key, &request, limit, now).await? {
                Count::Counted => return Ok(true),
                Count::Full => return Ok(false),
                Count::NoWindow => continue,
            }
        }
        // The window kept changing under us: fail closed, nothing counted.
        Ok(false)
    }
}

impl DynamoDbRateLimits {
    /// Counts one use in the live window of `key` unless it is full.
    async fn count(
        &self,
        key: &str,
        request: &str,
        limit: u32,
        now: u64,
    ) -> Result<Count, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(JTI, s(key))
            .update_expression("SET #l = :req ADD #c :one")
            .condition_expression("#e > :now AND #c < :limit AND #l <> :req")
            .expression_attribute_names("#l", LAST_REQUEST)
            .expression_attribute_names("#c", COUNT)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":req", s(request))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":limit", n(u64::from(limit)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Count::Counted),
            Err(err) if conditional_check_failed(&err) => err,
            Err(err) => return Err(classify(err)),
        };
        let old = match err.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(e) => e.item,
            _ => None,
        };
        let Some(old) = old else {
            return Ok(Count::NoWindow);
        };
        if get_s(&old, LAST_REQUEST).as_deref() == Some(request) {
            // Our own count, landed by an earlier attempt of this write.
            return Ok(Count::Counted);
        }
        if get_n(&old, EXPIRES_AT).is_none_or(|e| e <= now) {
            return Ok(Count::NoWindow);
        }
        Ok(Count::Full)
    }
}

//! Accounts by email on DynamoDB: address claims, deletion and administration on the users
//! table.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use wristband_core::ids::random_id;
use wristband_core::store::{AccountStore, EmailChange, UserPage, UserRecord, UserStore};
use wristband_core::StoreError;
use wristband_dynamodb_lite::schema::*;

use crate::store::{
    classify, conditional_check_failed, get_s, malformed, request_token, s, user_from_item,
    DynamoDbUsers, Item,
};

/// How often a transaction is tried again after losing to a concurrent write (the user
/// changed meanwhile, or DynamoDB cancelled it for a conflict) before giving up with
/// `Unavailable`.
const TRANSACTION_ATTEMPTS: u32 = 5;

/// The wait before the next attempt after a lost race: 10 ms doubling.
async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(Box::new(e))
}

fn contended(what: &str) -> StoreError {
    StoreError::Unavailable(format!("{what}: lost to concurrent writes after retries").into())
}

/// A cancelled TransactWriteItems: why each of its items was (or was not) refused.
struct Cancelled {
    reasons: Vec<CancellationReason>,
    err: StoreError,
}

impl Cancelled {
    /// Whether item `i`'s condition failed.
    fn failed(&self, i: usize) -> bool {
        self.code(i) == Some("ConditionalCheckFailed")
    }

    fn any_failed(&self) -> bool {
        (0..self.reasons.len()).any(|i| self.failed(i))
    }

    /// Cancelled for a concurrent transaction on one of the items: worth another try.
    fn conflict(&self) -> bool {
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
async fn transact(
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
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key(USERNAME, s(&user.username))
            .condition_expression(condition)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_names("#e", EMAIL);
        if let Some(seen) = seen {
            delete = delete.expression_attribute_values(":seen", seen);
        }
        let mut items = vec![TransactWriteItem::builder()
            .delete(delete.build().map_err(built)?)
            .build()];
        if let Some(email) = &user.email {
            items.push(delete_claim(&self.table, email, &user.username)?);
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
        if is_email_claim_key(username) {
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
        if is_email_claim_key(username) {
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
                if is_email_claim_key(&key) {
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

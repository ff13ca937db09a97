//! DynamoDB implementations of the stores. The only code that knows attribute names.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    Put, PutRequest, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use wristband_core::config::{TableNames, ThrottlePolicy};
use wristband_core::store::{
    contended_failure, Created, FailureCount, LoginThrottleStore, RevocationStore, Rotation,
    SessionEnder, SessionRecord, SessionStore, ThrottleState, TotpFactor, UserRecord, UserRegistry,
    UserStore,
};
use wristband_core::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

use wristband_dynamodb_lite::is_outage_code;
use wristband_dynamodb_lite::schema::{self, *};

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn malformed(what: &str) -> StoreError {
    StoreError::Other(format!("malformed item: {what}").into())
}

/// Outages, timeouts and throttling (after the SDK's own retries) are `Unavailable`, so
/// callers fail closed with 503; anything else is a bug or misconfiguration.
pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => e.err().code().is_some_and(is_outage_code),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(err))
    } else {
        StoreError::Other(Box::new(err))
    }
}

/// A fresh id for one call's write.
pub(crate) fn new_request() -> Result<String, StoreError> {
    wristband_core::ids::random_id().map_err(StoreError::Other)
}

/// An UpdateItem of the item `key` in `table` that also records this call's `request` in
/// `attribute` (`#req` and `:req` are bound: its update expression writes `#req = :req`).
/// Sent by [`applied`], it answers as the write did even when the SDK sent it again after
/// a lost answer: that retry fails its own condition, and the item as it was then holds
/// this call's id.
pub(crate) fn idempotent_update(
    client: &Client,
    table: &str,
    key: (&str, String),
    attribute: &str,
    request: &str,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    client
        .update_item()
        .table_name(table)
        .key(key.0, s(key.1))
        .expression_attribute_names("#req", attribute)
        .expression_attribute_values(":req", s(request))
}

/// Sends a conditional write of [`idempotent_update`]: `true` when it applied. A failed
/// condition is `false`, unless the item already holds `request` in `attribute`: the
/// SDK's retry of this very write, whose first attempt had landed.
pub(crate) async fn applied(
    update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    attribute: &str,
    request: &str,
) -> Result<bool, StoreError> {
    let result = update
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let err = match result {
        Ok(_) => return Ok(true),
        Err(err) if conditional_check_failed(&err) => err,
        Err(err) => return Err(classify(err)),
    };
    let old = match err.into_service_error() {
        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => e.item,
        _ => None,
    };
    Ok(old.and_then(|item| get_s(&item, attribute)).as_deref() == Some(request))
}

pub(crate) fn conditional_check_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

// ---------------------------------------------------------------- users

pub struct DynamoDbUsers {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoDbUsers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl DynamoDbUsers {
    async fn create_without_address(&self, user: &UserRecord) -> Result<Created, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(user_item(user)))
            // Never overwrite: two racing registrations get one 201 and one 409.
            .condition_expression("attribute_not_exists(#u)")
            .expression_attribute_names("#u", USERNAME)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Created::Created),
            Err(err) if conditional_check_failed(&err) => err,
            Err(err) => return Err(classify(err)),
        };
        // The SDK retries a write whose answer was lost (a timeout after it landed): the
        // retry then fails its own condition. The stored creation id tells it apart from
        // someone else's registration.
        let existing = match err.into_service_error() {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => e.item,
            _ => None,
        };
        let ours = existing
            .and_then(|item| get_s(&item, CREATION_ID))
            .is_some_and(|id| !id.is_empty() && id == user.creation_id);
        Ok(if ours {
            Created::Created
        } else {
            Created::UsernameTaken
        })
    }
}

/// A transaction's idempotency token (at most 36 characters): derived from the
/// request's own random id, so only that request's retries share it.
pub(crate) fn request_token(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(36)
        .collect()
}

pub(crate) fn user_from_item(item: &Item) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        username: get_s(item, USERNAME).ok_or_else(|| malformed("user without username"))?,
        password_hash: get_s(item, PASSWORD_HASH)
            .ok_or_else(|| malformed("user without password_hash"))?,
        created_at: get_n(item, CREATED_AT).unwrap_or(0),
        roles: item
            .get(ROLES)
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|r| r.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        creation_id: get_s(item, CREATION_ID).unwrap_or_default(),
        email: get_s(item, EMAIL),
        email_verified: get_bool(item, EMAIL_VERIFIED),
        disabled: get_bool(item, DISABLED),
        totp: get_s(item, TOTP_SECRET)
            .map(|sealed_secret| {
                Ok::<_, StoreError>(TotpFactor {
                    sealed_secret,
                    last_step: get_n(item, TOTP_LAST_STEP)
                        .ok_or_else(|| malformed("TOTP secret without its last step"))?,
                })
            })
            .transpose()?,
        totp_pending: get_s(item, TOTP_PENDING),
        recovery_codes: get_string_set(item, RECOVERY_CODES),
        passkeys: get_string_set(item, PASSKEYS),
    })
}

/// A string set's members, sorted (a set has no order); absent is empty.
pub(crate) fn get_string_set(item: &Item, name: &str) -> Vec<String> {
    let mut members = item
        .get(name)
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    members.sort();
    members
}

fn get_bool(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

/// The item of a new user, as `create` writes it.
fn user_item(user: &UserRecord) -> Item {
    let mut item: Item = HashMap::from([
        (USERNAME.to_owned(), s(&user.username)),
        (PASSWORD_HASH.to_owned(), s(&user.password_hash)),
        (CREATED_AT.to_owned(), n(user.created_at)),
        (
            ROLES.to_owned(),
            AttributeValue::L(user.roles.iter().map(s).collect()),
        ),
        (CREATION_ID.to_owned(), s(&user.creation_id)),
        (
            EMAIL_VERIFIED.to_owned(),
            AttributeValue::Bool(user.email_verified),
        ),
        (DISABLED.to_owned(), AttributeValue::Bool(user.disabled)),
    ]);
    if let Some(email) = &user.email {
        item.insert(EMAIL.to_owned(), s(email));
    }
    item
}

#[async_trait]
impl UserRegistry for DynamoDbUsers {
    async fn create(&self, user: &UserRecord) -> Result<Created, StoreError> {
        let Some(email) = &user.email else {
            return self.create_without_address(user).await;
        };
        // The user and its address claim in one transaction: of two registrations racing
        // for one address (or one name), one wins. The request token makes the SDK's retry
        // of a transaction that had landed a success, not a failed condition.
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(user_item(user)))
            .condition_expression("attribute_not_exists(#u)")
            .expression_attribute_names("#u", USERNAME)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Other(Box::new(e)))?;
        let put_claim = Put::builder()
            .table_name(&self.table)
            .item(USERNAME, s(email_claim_key(email)))
            .item(OWNER, s(&user.username))
            .item(CREATION_ID, s(&user.creation_id))
            .condition_expression("attribute_not_exists(#u)")
            .expression_attribute_names("#u", USERNAME)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Other(Box::new(e)))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_user).build())
            .transact_items(TransactWriteItem::builder().put(put_claim).build())
            .client_request_token(request_token(&user.creation_id))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Created::Created),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                e.cancellation_reasons().to_vec()
            }
            _ => return Err(classify(err)),
        };
        let failed = |i: usize| {
            reasons
                .get(i)
                .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
        };
        let ours = |i: usize| {
            reasons
                .get(i)
                .and_then(|r| r.item())
                .and_then(|item| get_s(item, CREATION_ID))
                .is_some_and(|id| !id.is_empty() && id == user.creation_id)
        };
        if failed(0) && failed(1) && ours(0) && ours(1) {
            // Both items exist and are this very registration's: an earlier attempt landed.
            return Ok(Created::Created);
        }
        if failed(0) {
            return Ok(Created::UsernameTaken);
        }
        if failed(1) {
            return Ok(Created::EmailTaken);
        }
        // Cancelled for another reason (a conflicting transaction in flight, throttling).
        Err(StoreError::Unavailable(Box::new(err)))
    }
}

#[async_trait]
impl UserStore for DynamoDbUsers {
    async fn get(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        if !is_user_key(username) {
            // An address claim shares the table, never a user's name.
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item().map(user_from_item).transpose()
    }

    async fn set_roles(&self, username: &str, roles: &[String]) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .update_expression("SET #r = :r")
            .condition_expression("attribute_exists(#u)")
            .expression_attribute_names("#r", ROLES)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_values(":r", AttributeValue::L(roles.iter().map(s).collect()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if conditional_check_failed(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .update_expression("SET #h = :h")
            .condition_expression("attribute_exists(#u)")
            .expression_attribute_names("#h", PASSWORD_HASH)
            .expression_attribute_names("#u", USERNAME)
            .expression_attribute_values(":h", s(password_hash))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

// ---------------------------------------------------------------- revoked tokens

/// Writes revocations. The read (is a token revoked?) is wristband-dynamodb-lite's
/// `LiteRevokedTokens`, the one revocation check of every function.
pub struct DynamoDbRevokedTokens {
    client: Client,
    table: String,
}

impl DynamoDbRevokedTokens {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn put(
        &self,
        key: String,
        expires_at: u64,
        cutoff: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(JTI, s(key))
            .item(EXPIRES_AT, n(expires_at));
        if let Some(cutoff) = cutoff {
            put = put.item(REVOKED_BEFORE, n(cutoff));
        }
        put.send().await.map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for DynamoDbRevokedTokens {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.put(jti.to_owned(), expires_at, None).await
    }

    async fn revoke_session(&self, sid: &str, expires_at: u64) -> Result<(), StoreError> {
        self.put(session_key(sid), expires_at, None).await
    }

    async fn revoke_user_tokens_before(
        &self,
        username: &str,
        cutoff: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.put(user_key(username), expires_at, Some(cutoff)).await
    }
}

// ---------------------------------------------------------------- login throttling

/// Failed-login counts, in the revoked-tokens table (it has the TTL they need) under
/// `throttle#<username>#<source address>`. Never touches the users table, so counting an
/// unknown username creates nothing and costs what counting a known one does.
pub struct DynamoDbLoginThrottle {
    client: Client,
    table: String,
}

impl DynamoDbLoginThrottle {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// How often a failure is counted again after losing a race to a concurrent one before
/// we give up and answer as if the wait had started (fail closed, never a free guess).
const THROTTLE_WRITE_ATTEMPTS: u32 = 16;

/// The live state in `item`, `None` if it is absent or past its TTL.
fn throttle_state(item: Option<&Item>, now_ms: u64) -> Option<ThrottleState> {
    let item = item?;
    if get_n(item, EXPIRES_AT).is_none_or(|e| e.saturating_mul(1000) <= now_ms) {
        return None;
    }
    Some(ThrottleState {
        failures: get_n(item, FAILURES)
            .and_then(|f| u32::try_from(f).ok())
            .unwrap_or(0),
        blocked_until_ms: get_n(item, BLOCKED_UNTIL_MS).unwrap_or(0),
    })
}

#[async_trait]
impl LoginThrottleStore for DynamoDbLoginThrottle {
    async fn state(&self, key: &str, now_ms: u64) -> Result<Option<ThrottleState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(JTI, s(throttle_item_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(throttle_state(out.item(), now_ms))
    }

    async fn record_failure(
        &self,
        key: &str,
        now_ms: u64,
        policy: &ThrottlePolicy,
    ) -> Result<FailureCount, StoreError> {
        let item_key = throttle_item_key(key);
        let now_secs = now_ms / 1000;
        // Optimistic: assume no count yet; a failed condition hands back the real one.
        let mut current: Option<ThrottleState> = None;
        for _ in 0..THROTTLE_WRITE_ATTEMPTS {
            if let Some(state) = current.filter(|s| s.blocks(now_ms)) {
                return Ok(FailureCount::AlreadyBlocked {
                    until_ms: state.blocked_until_ms,
                });
            }
            let (next, expires_at_ms) = ThrottleState::after_failure(current, now_ms, policy);
            let (failures, blocked_until_ms) = (next.failures, next.blocked_until_ms);
            // The item's TTL attribute is in seconds, like every `expires_at`.
            let expires_at = expires_at_ms / 1000;
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(JTI, s(&item_key))
                .update_expression("SET #f = :f, #b = :b, #e = :e")
                .expression_attribute_names("#f", FAILURES)
                .expression_attribute_names("#b", BLOCKED_UNTIL_MS)
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_values(":f", n(u64::from(failures)))
                .expression_attribute_values(":b", n(blocked_until_ms))
                .expression_attribute_values(":e", n(expires_at))
                .expression_attribute_values(":now", n(now_secs))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            // Compare-and-set on the count we based this on: of racing failures, one wins
            // each round and the others recount from what it wrote.
            update = match current {
                None => update
                    .condition_expression("attribute_not_exists(#k) OR #e <= :now")
                    .expression_attribute_names("#k", JTI),
                Some(state) => update
                    .condition_expression("#f = :seen_f AND #b = :seen_b AND #e > :now")
                    .expression_attribute_values(":seen_f", n(u64::from(state.failures)))
                    .expression_attribute_values(":seen_b", n(state.blocked_until_ms)),
            };
            let err = match update.send().await {
                Ok(_) => {
                    return Ok(FailureCount::Counted {
                        failures,
                        blocked_until_ms,
                    })
                }
                Err(err) if conditional_check_failed(&err) => err,
                Err(err) => return Err(classify(err)),
            };
            let old = match err.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => e.item,
                _ => None,
            };
            current = throttle_state(old.as_ref(), now_ms);
        }
        Ok(contended_failure(now_ms, policy))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(JTI, s(throttle_item_key(key)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

// ---------------------------------------------------------------- sessions

pub struct DynamoDbSessions {
    client: Client,
    table: String,
}

impl DynamoDbSessions {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn session_from_item(item: &Item) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        username: get_s(item, USERNAME).ok_or_else(|| malformed("session without username"))?,
        sid: get_s(item, SID).ok_or_else(|| malformed("session without sid"))?,
        created_at: get_n(item, CREATED_AT).unwrap_or(0),
        last_refreshed_at: get_n(item, LAST_REFRESHED_AT).unwrap_or(0),
        expires_at: get_n(item, EXPIRES_AT).unwrap_or(0),
        user_agent: get_s(item, USER_AGENT),
        source_ip: get_s(item, SOURCE_IP),
        refresh_jti: get_s(item, REFRESH_JTI).unwrap_or_default(),
    })
}

#[async_trait]
impl SessionStore for DynamoDbSessions {
    async fn create(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(USERNAME, s(&session.username))
            .item(SID, s(&session.sid))
            .item(CREATED_AT, n(session.created_at))
            .item(LAST_REFRESHED_AT, n(session.last_refreshed_at))
            .item(EXPIRES_AT, n(session.expires_at))
            .item(REFRESH_JTI, s(&session.refresh_jti));
        if let Some(ua) = &session.user_agent {
            put = put.item(USER_AGENT, s(ua));
        }
        if let Some(ip) = &session.source_ip {
            put = put.item(SOURCE_IP, s(ip));
        }
        put.send().await.map_err(classify)?;
        Ok(())
    }

    async fn list(&self, username: &str, now: u64) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = Vec::new();
        let mut start_key: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#u = :u")
                .expression_attribute_names("#u", USERNAME)
                .expression_attribute_values(":u", s(username))
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                let session = session_from_item(item)?;
                if session.expires_at > now {
                    sessions.push(session);
                }
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start_key = Some(key.clone()),
                _ => return Ok(sessions),
            }
        }
    }

    async fn get(
        &self,
        username: &str,
        sid: &str,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .key(SID, s(sid))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .item()
            .map(session_from_item)
            .transpose()?
            .filter(|s| s.expires_at > now))
    }

    async fn delete(&self, username: &str, sid: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .key(SID, s(sid))
            .send()
            .await
            .map_err(classify)?;
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
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(USERNAME, s(username))
            .key(SID, s(sid))
            .update_expression(
                "SET #cur = :next, #prev = :presented, #rot = :now, #last = :now, #exp = :exp",
            )
            .condition_expression("#cur = :presented AND #exp > :now")
            .expression_attribute_names("#cur", REFRESH_JTI)
            .expression_attribute_names("#prev", PREVIOUS_REFRESH_JTI)
            .expression_attribute_names("#rot", ROTATED_AT)
            .expression_attribute_names("#last", LAST_REFRESHED_AT)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":next", s(next_jti))
            .expression_attribute_values(":presented", s(presented_jti))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(expires_at))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Rotation::Rotated),
            Err(err) if conditional_check_failed(&err) => err,
            Err(err) => return Err(classify(err)),
        };
        let old = match err.into_service_error() {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => e.item,
            _ => None,
        };
        let Some(old) = old.filter(|item| get_n(item, EXPIRES_AT).is_some_and(|e| e > now)) else {
            return Ok(Rotation::NoSession);
        };
        if get_s(&old, PREVIOUS_REFRESH_JTI).as_deref() == Some(presented_jti) {
            return Ok(Rotation::RecentlySpent {
                rotated_at: get_n(&old, ROTATED_AT).unwrap_or(0),
            });
        }
        Ok(Rotation::Reused)
    }
}

// ---------------------------------------------------------------- ending sessions

/// Ends sessions with BatchWriteItem: the `sid#` revocations (revoked-tokens table) and
/// the session deletions (sessions table), up to 25 requests per call, both tables in one
/// call. The items are those of [`DynamoDbRevokedTokens::revoke_session`] and
/// [`DynamoDbSessions::delete`].
pub struct DynamoDbSessionEnder {
    client: Client,
    revoked_tokens: String,
    sessions: String,
}

impl DynamoDbSessionEnder {
    pub fn new(
        client: Client,
        revoked_tokens_table: impl Into<String>,
        sessions_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            revoked_tokens: revoked_tokens_table.into(),
            sessions: sessions_table.into(),
        }
    }

    /// One BatchWriteItem: puts the revocations of `sessions[i]` for `i` in `revocations`
    /// and deletes `sessions[i]` for `i` in `deletions`. Answers what DynamoDB left
    /// unprocessed, as indexes of the same two kinds.
    ///
    /// The SDK retries a call whose answer was lost (a timeout after it landed): that is
    /// harmless here, since a put of the same item and a delete by key are idempotent (the
    /// repeat rewrites the same revocation, or deletes a session already gone).
    async fn batch_write(
        &self,
        sessions: &[SessionRecord],
        revocations: Vec<usize>,
        deletions: Vec<usize>,
    ) -> Result<(Vec<usize>, Vec<usize>), StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Other(Box::new(e));
        let revocation_key = |i: usize| session_key(&sessions[i].sid);
        let mut request = self.client.batch_write_item();
        if !revocations.is_empty() {
            let puts = revocations
                .iter()
                .map(|&i| {
                    let put = PutRequest::builder()
                        .item(JTI, s(revocation_key(i)))
                        .item(EXPIRES_AT, n(sessions[i].expires_at))
                        .build()
                        .map_err(built)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            request = request.request_items(&self.revoked_tokens, puts);
        }
        if !deletions.is_empty() {
            let deletes = deletions
                .iter()
                .map(|&i| {
                    let delete = DeleteRequest::builder()
                        .key(USERNAME, s(&sessions[i].username))
                        .key(SID, s(&sessions[i].sid))
                        .build()
                        .map_err(built)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            request = request.request_items(&self.sessions, deletes);
        }
        let out = request.send().await.map_err(classify)?;

        let unprocessed = |table: &str| {
            out.unprocessed_items()
                .and_then(|u| u.get(table))
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        let left_puts: Vec<String> = unprocessed(&self.revoked_tokens)
            .iter()
            .filter_map(|w| w.put_request().and_then(|p| get_s(p.item(), JTI)))
            .collect();
        let left_deletes: Vec<(String, String)> = unprocessed(&self.sessions)
            .iter()
            .filter_map(|w| {
                let key = w.delete_request()?.key();
                Some((get_s(key, USERNAME)?, get_s(key, SID)?))
            })
            .collect();
        let left_revocations: Vec<usize> = revocations
            .into_iter()
            .filter(|&i| left_puts.contains(&revocation_key(i)))
            .collect();
        let left_deletions: Vec<usize> = deletions
            .into_iter()
            .filter(|&i| {
                let session = &sessions[i];
                left_deletes
                    .iter()
                    .any(|(u, sid)| *u == session.username && *sid == session.sid)
            })
            .collect();
        // Fail closed: an unprocessed request we cannot tell apart must not pass as done.
        if left_revocations.len() != unprocessed(&self.revoked_tokens).len()
            || left_deletions.len() != unprocessed(&self.sessions).len()
        {
            return Err(StoreError::Other(
                "BatchWriteItem left unprocessed items that were not asked for".into(),
            ));
        }
        Ok((left_revocations, left_deletions))
    }
}

/// BatchWriteItem's limit of requests per call.
const BATCH_WRITE_MAX: usize = 25;

/// How many BatchWriteItem calls may come back with items unprocessed (throttling) before
/// ending sessions gives up: with a backoff of 20 ms doubling each time, 620 ms in all.
const BATCH_WRITE_RETRIES: u32 = 5;

#[async_trait]
impl SessionEnder for DynamoDbSessionEnder {
    async fn end_sessions(&self, sessions: &[SessionRecord]) -> Result<(), StoreError> {
        end_in_batches(sessions.len(), |revocations, deletions| {
            self.batch_write(sessions, revocations, deletions)
        })
        .await
    }
}

/// The order of the writes that end `count` sessions (by index), through `write`: one
/// BatchWriteItem of some revocations and some deletions, answering those it left
/// unprocessed. A session is deleted only in a call after the one that wrote its
/// revocation (within one call DynamoDB applies the requests in no set order), so an
/// error part-way never leaves a session unlisted but still usable. Each call carries the
/// revocations not yet written first (every session is refused as early as possible),
/// then the deletions that are due, at most [`BATCH_WRITE_MAX`] in all: `n` sessions take
/// `ceil(2n / 25)` calls, or 2 when `n <= 12`. Unprocessed requests go first again in the
/// next call, after a backoff; after [`BATCH_WRITE_RETRIES`] such calls the writes left
/// are an error (`Unavailable`), never a success.
async fn end_in_batches<F, Fut>(count: usize, mut write: F) -> Result<(), StoreError>
where
    F: FnMut(Vec<usize>, Vec<usize>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<usize>, Vec<usize>), StoreError>>,
{
    let mut to_revoke: VecDeque<usize> = (0..count).collect();
    let mut to_delete: VecDeque<usize> = VecDeque::new();
    let mut retries = 0;
    while !(to_revoke.is_empty() && to_delete.is_empty()) {
        let revocations: Vec<usize> = to_revoke
            .drain(..to_revoke.len().min(BATCH_WRITE_MAX))
            .collect();
        let room = BATCH_WRITE_MAX - revocations.len();
        let deletions: Vec<usize> = to_delete.drain(..to_delete.len().min(room)).collect();
        let (left_revocations, left_deletions) = write(revocations.clone(), deletions).await?;
        for &i in left_revocations.iter().rev() {
            to_revoke.push_front(i);
        }
        for &i in left_deletions.iter().rev() {
            to_delete.push_front(i);
        }
        // Revoked now: these sessions may leave the list in the next call.
        to_delete.extend(
            revocations
                .into_iter()
                .filter(|i| !left_revocations.contains(i)),
        );
        if left_revocations.is_empty() && left_deletions.is_empty() {
            continue;
        }
        if retries == BATCH_WRITE_RETRIES {
            return Err(StoreError::Unavailable(
                "ending sessions left writes unprocessed after retries".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20 << retries)).await;
        retries += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------- table setup

/// Creates the three tables of `schema::TABLES` (TTL where they say) when missing; safe
/// to run again.
/// Used by `make run`, the tests and the `create-tables` tool; in AWS the SAM template
/// owns the tables.
pub async fn ensure_tables(client: &Client, tables: &TableNames) -> Result<(), StoreError> {
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(|e| StoreError::Other(Box::new(e)))
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Other(Box::new(e)))
    };
    let specs = [
        (&tables.users, schema::USERS_TABLE),
        (&tables.revoked_tokens, schema::REVOKED_TOKENS_TABLE),
        (&tables.sessions, schema::SESSIONS_TABLE),
    ];
    for (table, def) in specs {
        let keys = std::iter::once((def.partition_key, KeyType::Hash))
            .chain(def.sort_key.map(|sort| (sort, KeyType::Range)));
        let mut create = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, key_type) in keys {
            create = create
                .key_schema(key(name, key_type)?)
                .attribute_definitions(attr(name)?);
        }
        match create.send().await {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(err) => return Err(classify(err)),
        }
        if let Some(attribute) = def.ttl_attribute {
            enable_ttl(client, table, attribute).await?;
        }
    }
    Ok(())
}

async fn enable_ttl(client: &Client, table: &str, attribute: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(classify)?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::Other(Box::new(e)))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(classify)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashSet;

    /// What a fake BatchWriteItem saw and applied.
    #[derive(Default)]
    struct Fake {
        revoked: HashSet<usize>,
        deleted: HashSet<usize>,
        /// (revocations, deletions) of each call.
        calls: Vec<(Vec<usize>, Vec<usize>)>,
    }

    /// Ends `count` sessions against a fake BatchWriteItem that leaves unprocessed what
    /// `leave(call, revocations, deletions)` says, applies the rest, and checks every call:
    /// 1 to 25 requests, and no deletion of a session whose revocation is not written yet.
    async fn end_with(
        count: usize,
        leave: impl Fn(usize, &[usize], &[usize]) -> (Vec<usize>, Vec<usize>),
    ) -> (Result<(), StoreError>, Fake) {
        let fake = RefCell::new(Fake::default());
        let result = end_in_batches(count, |revocations, deletions| {
            let mut fake = fake.borrow_mut();
            let requests = revocations.len() + deletions.len();
            assert!(
                (1..=BATCH_WRITE_MAX).contains(&requests),
                "{requests} requests"
            );
            for i in &deletions {
                assert!(
                    fake.revoked.contains(i),
                    "session {i} deleted before revoked"
                );
            }
            let (left_r, left_d) = leave(fake.calls.len(), &revocations, &deletions);
            fake.revoked
                .extend(revocations.iter().filter(|i| !left_r.contains(i)));
            fake.deleted
                .extend(deletions.iter().filter(|i| !left_d.contains(i)));
            fake.calls.push((revocations, deletions));
            std::future::ready(Ok((left_r, left_d)))
        })
        .await;
        (result, fake.into_inner())
    }

    fn nothing_left(_: usize, _: &[usize], _: &[usize]) -> (Vec<usize>, Vec<usize>) {
        (Vec::new(), Vec::new())
    }

    #[tokio::test]
    async fn every_session_is_revoked_then_deleted_in_batches_of_25() {
        for (count, calls) in [(0, 0), (1, 2), (12, 2), (13, 2), (25, 2), (30, 3), (100, 8)] {
            let (result, fake) = end_with(count, nothing_left).await;
            result.unwrap();
            let all: HashSet<usize> = (0..count).collect();
            assert_eq!(fake.revoked, all, "{count}");
            assert_eq!(fake.deleted, all, "{count}");
            assert_eq!(fake.calls.len(), calls, "{count} sessions");
        }
        // 30: the first call revokes 25, the second the other 5 and deletes 20.
        let (_, fake) = end_with(30, nothing_left).await;
        let sizes: Vec<(usize, usize)> =
            fake.calls.iter().map(|(r, d)| (r.len(), d.len())).collect();
        assert_eq!(sizes, [(25, 0), (5, 20), (0, 10)]);
    }

    #[tokio::test]
    async fn unprocessed_requests_are_sent_again() {
        // The first three calls leave every other request unprocessed.
        let (result, fake) = end_with(30, |call, revocations, deletions| {
            let odd = |v: &[usize]| v.iter().copied().skip(1).step_by(2).collect();
            if call < 3 {
                (odd(revocations), odd(deletions))
            } else {
                (Vec::new(), Vec::new())
            }
        })
        .await;
        result.unwrap();
        assert_eq!(fake.revoked.len(), 30);
        assert_eq!(fake.deleted.len(), 30);
    }

    #[tokio::test]
    async fn writes_left_unprocessed_after_the_retries_are_an_error() {
        // Nothing is ever processed: no session is deleted, and the answer is an error.
        let (result, fake) = end_with(30, |_, r, d| (r.to_vec(), d.to_vec())).await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
        assert_eq!(fake.calls.len(), 1 + BATCH_WRITE_RETRIES as usize);
        assert!(fake.revoked.is_empty() && fake.deleted.is_empty());
        // Every session revoked but one deletion never processed: still an error (the
        // session would stay listed), though its tokens are refused.
        let (result, fake) = end_with(3, |_, _, d| {
            (Vec::new(), d.iter().copied().filter(|&i| i == 1).collect())
        })
        .await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
        assert_eq!(fake.revoked.len(), 3);
        assert_eq!(fake.deleted, HashSet::from([0, 2]));
    }
}

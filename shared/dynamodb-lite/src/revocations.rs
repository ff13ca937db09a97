//! The revocation check of every function that verifies tokens (a BatchGetItem of three
//! keys, read consistently, the items read by [`schema::item_refuses`]), and the few
//! writes of the functions that revoke without the SDK (`/oauth/revoke`): PutItem of a
//! revocation, DeleteItem of a session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use wristband_core::store::{RevocationCheck, RevocationStore, SessionEnder, SessionRecord};
use wristband_core::{Claims, StoreError};

use crate::client::DynamoDbHttp;
use crate::schema::{
    item_refuses, revocation_keys, session_key, user_key, EXPIRES_AT, JTI, REVOKED_BEFORE, SID,
    USERNAME,
};

/// How often unprocessed keys of a BatchGetItem are asked for again before we give up
/// (and fail closed); as in the SDK store.
const BATCH_GET_ATTEMPTS: u32 = 3;

/// Reads the revoked-tokens table.
pub struct LiteRevokedTokens {
    http: Arc<DynamoDbHttp>,
    table: String,
}

impl LiteRevokedTokens {
    pub fn new(http: Arc<DynamoDbHttp>, table: impl Into<String>) -> Self {
        Self {
            http,
            table: table.into(),
        }
    }
}

/// An attribute value as DynamoDB's JSON writes it (`{"S": "..."}`, `{"N": "12"}`); other
/// types are read as neither.
#[derive(Deserialize, Default)]
struct Value {
    #[serde(rename = "S")]
    s: Option<String>,
    #[serde(rename = "N")]
    n: Option<String>,
}

type Item = HashMap<String, Value>;

#[derive(Deserialize)]
struct KeysAndAttributes {
    #[serde(rename = "Keys", default)]
    keys: Vec<Item>,
}

#[derive(Deserialize)]
struct BatchGetOutput {
    #[serde(rename = "Responses", default)]
    responses: HashMap<String, Vec<Item>>,
    #[serde(rename = "UnprocessedKeys", default)]
    unprocessed: HashMap<String, KeysAndAttributes>,
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.n.as_deref()?.parse().ok()
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.s.as_deref()
}

impl LiteRevokedTokens {
    fn request(&self, keys: &[String]) -> Vec<u8> {
        let keys: Vec<_> = keys
            .iter()
            .map(|k| serde_json::json!({ JTI: { "S": k } }))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "RequestItems": { &self.table: { "Keys": keys, "ConsistentRead": true } }
        }))
        .expect("JSON of strings")
    }
}

#[async_trait]
impl RevocationCheck for LiteRevokedTokens {
    async fn is_revoked(&self, claims: &Claims, now: u64) -> Result<bool, StoreError> {
        let keys = revocation_keys(&claims.jti, &claims.sid, &claims.sub);
        let user_key = &keys[2];
        let mut pending = keys.to_vec();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            let answer = self
                .http
                .call("BatchGetItem", self.request(&pending))
                .await?;
            let mut out: BatchGetOutput = serde_json::from_slice(&answer).map_err(|e| {
                StoreError::Other(
                    format!("BatchGetItem answer is not what it should be: {e}").into(),
                )
            })?;
            for item in out.responses.remove(&self.table).unwrap_or_default() {
                let is_cutoff = text(&item, JTI) == Some(user_key.as_str());
                let (expires_at, cutoff) =
                    (number(&item, EXPIRES_AT), number(&item, REVOKED_BEFORE));
                if item_refuses(is_cutoff, expires_at, cutoff, claims.iat, now) {
                    return Ok(true);
                }
            }
            pending = out
                .unprocessed
                .remove(&self.table)
                .map(|rest| rest.keys)
                .unwrap_or_default()
                .iter()
                .filter_map(|key| text(key, JTI).map(str::to_owned))
                .collect();
            if pending.is_empty() {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
        }
        Err(StoreError::Unavailable(
            "revocation check left keys unprocessed after retries".into(),
        ))
    }
}

impl LiteRevokedTokens {
    /// PutItem of one revocation: `key` refused until `expires_at` (its TTL), a cutoff
    /// item refusing tokens issued before `cutoff`. A put of the same item is idempotent,
    /// so a retried call whose first attempt landed changes nothing.
    async fn put(&self, key: &str, expires_at: u64, cutoff: Option<u64>) -> Result<(), StoreError> {
        let mut item = serde_json::json!({
            JTI: { "S": key },
            EXPIRES_AT: { "N": expires_at.to_string() },
        });
        if let Some(cutoff) = cutoff {
            item[REVOKED_BEFORE] = serde_json::json!({ "N": cutoff.to_string() });
        }
        let body = serde_json::json!({ "TableName": self.table, "Item": item });
        self.http
            .call(
                "PutItem",
                serde_json::to_vec(&body).expect("JSON of strings"),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for LiteRevokedTokens {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.put(jti, expires_at, None).await
    }

    async fn revoke_session(&self, sid: &str, expires_at: u64) -> Result<(), StoreError> {
        self.put(&session_key(sid), expires_at, None).await
    }

    async fn revoke_user_tokens_before(
        &self,
        username: &str,
        cutoff: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.put(&user_key(username), expires_at, Some(cutoff))
            .await
    }
}

/// Ends sessions without the SDK, one at a time: the session's revocation first, then its
/// item in the sessions table, so an error part-way leaves it revoked (or untouched),
/// never listed and usable. For the few sessions one request ends (`/oauth/revoke` ends
/// one); the SDK functions batch theirs.
pub struct LiteSessionEnder {
    revocations: LiteRevokedTokens,
    http: Arc<DynamoDbHttp>,
    sessions_table: String,
}

impl LiteSessionEnder {
    pub fn new(
        http: Arc<DynamoDbHttp>,
        revoked_tokens_table: impl Into<String>,
        sessions_table: impl Into<String>,
    ) -> Self {
        Self {
            revocations: LiteRevokedTokens::new(http.clone(), revoked_tokens_table),
            http,
            sessions_table: sessions_table.into(),
        }
    }
}

#[async_trait]
impl SessionEnder for LiteSessionEnder {
    async fn end_sessions(&self, sessions: &[SessionRecord]) -> Result<(), StoreError> {
        for session in sessions {
            self.revocations
                .revoke_session(&session.sid, session.expires_at)
                .await?;
            let body = serde_json::json!({
                "TableName": self.sessions_table,
                "Key": { USERNAME: { "S": session.username }, SID: { "S": session.sid } },
            });
            self.http
                .call(
                    "DeleteItem",
                    serde_json::to_vec(&body).expect("JSON of strings"),
                )
                .await?;
        }
        Ok(())
    }
}

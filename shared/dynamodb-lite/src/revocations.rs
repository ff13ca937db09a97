//! The revocation check of the verifier functions: the same BatchGetItem of three keys,
//! read consistently, and the same reading of the items ([`schema::item_refuses`]) as the
//! SDK store's `is_revoked`, in a few hundred lines instead of the SDK.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use wristband_core::store::RevocationCheck;
use wristband_core::{Claims, StoreError};

use crate::client::DynamoDbHttp;
use crate::schema::{item_refuses, revocation_keys, EXPIRES_AT, JTI, REVOKED_BEFORE};

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

//! Passkeys on DynamoDB: one users-table item per credential (key `passkey#<sha-256 of
//! its id>`, OWNER the account) and the account's set of credential ids on its user item,
//! written together; passkey challenges on the revoked-tokens table (`webauthn#<hash>`,
//! removed by its TTL).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use wristband_core::store::{
    PasskeyCreated, PasskeyRecord, PasskeyStore, UserStore, WebauthnChallenge,
    WebauthnChallengeStore, WebauthnPurpose, MAX_PASSKEYS_PER_USER,
};
use wristband_core::StoreError;
use wristband_dynamodb_lite::schema::*;

use crate::accounts::{backoff, built, contended, transact, TRANSACTION_ATTEMPTS};
use crate::store::{
    applied, classify, get_n, get_s, get_string_set, idempotent_update, malformed, n, new_request,
    s, DynamoDbUsers, Item,
};

fn passkey_from_item(item: &Item) -> Result<PasskeyRecord, StoreError> {
    Ok(PasskeyRecord {
        credential_id: get_s(item, CREDENTIAL_ID)
            .ok_or_else(|| malformed("passkey without credential_id"))?,
        username: get_s(item, OWNER).ok_or_else(|| malformed("passkey without owner"))?,
        name: get_s(item, NAME).unwrap_or_default(),
        created_at: get_n(item, CREATED_AT).unwrap_or(0),
        last_used_at: get_n(item, LAST_USED_AT),
        algorithm: item
            .get(ALGORITHM)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| malformed("passkey without algorithm"))?,
        public_key: item
            .get(PUBLIC_KEY)
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| malformed("passkey without public_key"))?,
        sign_count: get_n(item, SIGN_COUNT)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| malformed("passkey without sign_count"))?,
        user_handle: get_s(item, USER_HANDLE).unwrap_or_default(),
        transports: get_string_set(item, TRANSPORTS),
    })
}

fn id_set(id: &str) -> AttributeValue {
    AttributeValue::Ss(vec![id.to_owned()])
}

impl DynamoDbUsers {
    fn passkey_put(&self, p: &PasskeyRecord) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .item(USERNAME, s(passkey_key(&p.credential_id)))
            .item(CREDENTIAL_ID, s(&p.credential_id))
            .item(OWNER, s(&p.username))
            .item(NAME, s(&p.name))
            .item(CREATED_AT, n(p.created_at))
            .item(ALGORITHM, AttributeValue::N(p.algorithm.to_string()))
            .item(PUBLIC_KEY, AttributeValue::B(p.public_key.clone().into()))
            .item(SIGN_COUNT, n(u64::from(p.sign_count)))
            .item(USER_HANDLE, s(&p.user_handle))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", USERNAME);
        if !p.transports.is_empty() {
            put = put.item(TRANSPORTS, AttributeValue::Ss(p.transports.clone()));
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(built)?)
            .build())
    }
}

#[async_trait]
impl PasskeyStore for DynamoDbUsers {
    async fn create(&self, passkey: &PasskeyRecord) -> Result<PasskeyCreated, StoreError> {
        if !is_user_key(&passkey.username) {
            return Ok(PasskeyCreated::NoAccount);
        }
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let add = Update::builder()
                .table_name(&self.table)
                .key(USERNAME, s(&passkey.username))
                .update_expression("ADD #p :id")
                .condition_expression(
                    "attribute_exists(#u) AND (attribute_not_exists(#p) OR size(#p) < :max)",
                )
                .expression_attribute_names("#p", PASSKEYS)
                .expression_attribute_names("#u", USERNAME)
                .expression_attribute_values(":id", id_set(&passkey.credential_id))
                .expression_attribute_values(":max", n(MAX_PASSKEYS_PER_USER as u64))
                .build()
                .map_err(built)?;
            let items = vec![
                self.passkey_put(passkey)?,
                TransactWriteItem::builder().update(add).build(),
            ];
            match transact(&self.client, items).await? {
                Ok(()) => return Ok(PasskeyCreated::Created),
                Err(c) if c.failed(0) => return Ok(PasskeyCreated::CredentialTaken),
                Err(c) if c.failed(1) => {
                    return Ok(match UserStore::get(self, &passkey.username).await? {
                        None => PasskeyCreated::NoAccount,
                        Some(_) => PasskeyCreated::TooMany,
                    })
                }
                Err(c) if c.conflict() => backoff(attempt).await,
                Err(c) => return Err(c.err),
            }
        }
        Err(contended("registering a passkey"))
    }

    async fn get(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(USERNAME, s(passkey_key(credential_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .item()
            .map(passkey_from_item)
            .transpose()?
            .filter(|p| p.credential_id == credential_id))
    }

    async fn list(&self, username: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let Some(user) = UserStore::get(self, username).await? else {
            return Ok(Vec::new());
        };
        let mut passkeys = Vec::new();
        let mut keys: Vec<Item> = user
            .passkeys
            .iter()
            .map(|id| Item::from([(USERNAME.to_owned(), s(passkey_key(id)))]))
            .collect();
        // At most MAX_PASSKEYS_PER_USER keys: one BatchGetItem, and again for what it
        // leaves unprocessed.
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if keys.is_empty() {
                break;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(built)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(classify)?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let passkey = passkey_from_item(item)?;
                if passkey.username == username {
                    passkeys.push(passkey);
                }
            }
            if let Some(left) = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .map(|k| k.keys().to_vec())
            {
                keys = left;
                backoff(attempt).await;
            }
        }
        if !keys.is_empty() {
            return Err(contended("listing passkeys"));
        }
        passkeys.sort_by(|a, b| {
            (a.created_at, &a.credential_id).cmp(&(b.created_at, &b.credential_id))
        });
        Ok(passkeys)
    }

    async fn delete(&self, username: &str, credential_id: &str) -> Result<bool, StoreError> {
        if !is_user_key(username) {
            return Ok(false);
        }
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(USERNAME, s(passkey_key(credential_id)))
                .condition_expression("#o = :u AND #c = :id")
                .expression_attribute_names("#o", OWNER)
                .expression_attribute_names("#c", CREDENTIAL_ID)
                .expression_attribute_values(":u", s(username))
                .expression_attribute_values(":id", s(credential_id))
                .build()
                .map_err(built)?;
            let remove = Update::builder()
                .table_name(&self.table)
                .key(USERNAME, s(username))
                .update_expression("DELETE #p :ids")
                .condition_expression("attribute_exists(#u)")
                .expression_attribute_names("#p", PASSKEYS)
                .expression_attribute_names("#u", USERNAME)
                .expression_attribute_values(":ids", id_set(credential_id))
                .build()
                .map_err(built)?;
            let items = vec![
                TransactWriteItem::builder().delete(delete).build(),
                TransactWriteItem::builder().update(remove).build(),
            ];
            match transact(&self.client, items).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.failed(0) || c.failed(1) => return Ok(false),
                Err(c) if c.conflict() => backoff(attempt).await,
                Err(c) => return Err(c.err),
            }
        }
        Err(contended("deleting a passkey"))
    }

    async fn record_use(
        &self,
        credential_id: &str,
        from: u32,
        to: u32,
        now: u64,
    ) -> Result<bool, StoreError> {
        // Another login that moved the counter first fails the condition: `false`.
        let request = new_request()?;
        let update = idempotent_update(
            &self.client,
            &self.table,
            (USERNAME, passkey_key(credential_id)),
            LAST_REQUEST,
            &request,
        )
        .update_expression("SET #c = :to, #t = :now, #req = :req")
        .condition_expression("attribute_exists(#k) AND #c = :from")
        .expression_attribute_names("#k", USERNAME)
        .expression_attribute_names("#c", SIGN_COUNT)
        .expression_attribute_names("#t", LAST_USED_AT)
        .expression_attribute_values(":from", n(u64::from(from)))
        .expression_attribute_values(":to", n(u64::from(to)))
        .expression_attribute_values(":now", n(now));
        applied(update, LAST_REQUEST, &request).await
    }
}

// ---------------------------------------------------------------- challenges

/// Passkey challenges in the revoked-tokens table under `webauthn#<hash>`, removed by
/// their TTL if never spent.
pub struct DynamoDbWebauthnChallenges {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbWebauthnChallenges {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn challenge_from_item(item: &Item) -> Result<WebauthnChallenge, StoreError> {
    Ok(WebauthnChallenge {
        purpose: get_s(item, PURPOSE)
            .and_then(|p| WebauthnPurpose::parse(&p))
            .ok_or_else(|| malformed("passkey challenge without a known purpose"))?,
        challenge: get_s(item, CHALLENGE)
            .ok_or_else(|| malformed("passkey challenge without challenge"))?,
        username: get_s(item, USERNAME),
        user_handle: get_s(item, USER_HANDLE),
        expires_at: get_n(item, EXPIRES_AT)
            .ok_or_else(|| malformed("passkey challenge without expires_at"))?,
    })
}

#[async_trait]
impl WebauthnChallengeStore for DynamoDbWebauthnChallenges {
    async fn create(&self, hash: &str, challenge: &WebauthnChallenge) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(JTI, s(webauthn_challenge_key(hash)))
            .item(PURPOSE, s(challenge.purpose.as_str()))
            .item(CHALLENGE, s(&challenge.challenge))
            .item(EXPIRES_AT, n(challenge.expires_at));
        if let Some(username) = &challenge.username {
            put = put.item(USERNAME, s(username));
        }
        if let Some(handle) = &challenge.user_handle {
            put = put.item(USER_HANDLE, s(handle));
        }
        put.send().await.map_err(classify)?;
        Ok(())
    }

    async fn take(
        &self,
        hash: &str,
        purpose: WebauthnPurpose,
        username: Option<&str>,
        now: u64,
    ) -> Result<Option<WebauthnChallenge>, StoreError> {
        let key = webauthn_challenge_key(hash);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(JTI, s(&key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(challenge) = out.item().map(challenge_from_item).transpose()? else {
            return Ok(None);
        };
        if challenge.purpose != purpose
            || challenge.expires_at <= now
            || challenge.username.as_deref() != username
        {
            return Ok(None);
        }
        // A transaction of one conditional delete: of two takers one wins, and its
        // idempotency token makes the SDK's retry of a delete that had landed a success.
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(JTI, s(&key))
            .condition_expression("#c = :c AND #e > :now")
            .expression_attribute_names("#c", CHALLENGE)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(":c", s(&challenge.challenge))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(built)?;
        match transact(
            &self.client,
            vec![TransactWriteItem::builder().delete(delete).build()],
        )
        .await?
        {
            Ok(()) => Ok(Some(challenge)),
            Err(c) if c.failed(0) => Ok(None),
            Err(c) if c.conflict() => Ok(None),
            Err(c) => Err(c.err),
        }
    }
}

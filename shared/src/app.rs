//! The process-wide state (built once in `main`) and what each endpoint does with it.
//!
//! Handlers here take a parsed `Request` and return a [`Reply`] or an [`ApiError`];
//! `http.rs` turns either into the HTTP response. None of this needs Lambda to run.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::ApiError;
use crate::password::{check_password_policy, PasswordHasher, MAX_PASSWORD_CHARS};
use crate::request::{bearer_token, CallerInfo, Fields};
use crate::store::{
    DynamoDbRevokedTokens, DynamoDbSessions, DynamoDbUsers, InMemoryRevokedTokens,
    InMemorySessions, InMemoryUsers, RevocationStore, Rotation, SessionRecord, SessionStore,
    UserRecord, UserStore,
};
use crate::tokens::{now_secs, random_id, Claims, Subject, TokenPair, TokenService, TokenType};

/// A successful answer: status and JSON body (`None` for 204).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
        }
    }
}

/// Everything a function needs, built once per process and shared by reference.
pub struct App {
    pub config: Config,
    pub tokens: TokenService,
    pub passwords: PasswordHasher,
    pub users: Box<dyn UserStore>,
    pub revocations: Box<dyn RevocationStore>,
    pub sessions: Box<dyn SessionStore>,
}

/// A DynamoDB client that fails fast: an unreachable or throttling table becomes a 503
/// within about four seconds instead of hanging until the Lambda timeout. Region, endpoint
/// and credentials come from the environment (see [`crate::aws::AwsEnv`]).
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let conf = crate::aws::AwsEnv::from_env()
        .dynamodb_config()
        .timeout_config(dynamodb_timeouts())
        .retry_config(dynamodb_retries())
        .http_client(https_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// HTTPS (and plain HTTP for DynamoDB Local) on rustls with ring.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Short connect/read timeouts and an overall cap per operation.
pub fn dynamodb_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .read_timeout(Duration::from_millis(1500))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// Bounded retries with short backoff (throttling and transient network errors).
pub fn dynamodb_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(500))
}

impl App {
    /// Production wiring: configuration from the environment, DynamoDB stores.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let client = dynamodb_client().await;
        Ok(Self::with_dynamodb(config, client))
    }

    pub fn with_dynamodb(config: Config, client: aws_sdk_dynamodb::Client) -> Self {
        let tables = config.tables.clone();
        Self::new(
            config,
            Box::new(DynamoDbUsers::new(client.clone(), tables.users)),
            Box::new(DynamoDbRevokedTokens::new(
                client.clone(),
                tables.revoked_tokens,
            )),
            Box::new(DynamoDbSessions::new(client, tables.sessions)),
        )
    }

    /// Unit tests and benches: the same logic on in-memory stores.
    pub fn in_memory(config: Config) -> Self {
        Self::new(
            config,
            Box::<InMemoryUsers>::default(),
            Box::<InMemoryRevokedTokens>::default(),
            Box::<InMemorySessions>::default(),
        )
    }

    pub fn new(
        config: Config,
        users: Box<dyn UserStore>,
        revocations: Box<dyn RevocationStore>,
        sessions: Box<dyn SessionStore>,
    ) -> Self {
        Self {
            tokens: TokenService::new(&config),
            passwords: PasswordHasher::new(),
            config,
            users,
            revocations,
            sessions,
        }
    }

    // ------------------------------------------------------------ shared steps

    /// The bearer token's claims, once signature, claims, type and revocation all pass.
    /// Revocation is one store round trip (jti, session and user cutoff together); a store
    /// failure refuses the token (503), never lets it through.
    pub async fn authenticate(
        &self,
        req: &Request,
        expected: TokenType,
    ) -> Result<Claims, ApiError> {
        let token = bearer_token(req)?;
        let claims = self.tokens.verify(token, expected)?;
        if self.revocations.is_revoked(&claims, now_secs()).await? {
            return Err(ApiError::TokenRevoked);
        }
        Ok(claims)
    }

    fn token_reply(&self, pair: &TokenPair) -> Reply {
        Reply::ok(json!({
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.tokens.access_ttl(),
        }))
    }

    /// Ends sessions: their tokens are refused from now on and they leave the list.
    async fn end_sessions(&self, sessions: &[SessionRecord]) -> Result<(), ApiError> {
        for session in sessions {
            self.revocations
                .revoke_session(&session.sid, session.expires_at)
                .await?;
            self.sessions
                .delete(&session.username, &session.sid)
                .await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ endpoints

    /// `POST /register`
    pub async fn register(&self, req: &Request) -> Result<Reply, ApiError> {
        let fields = Fields::from_request(req)?;
        let username = fields.required_str("username")?;
        let password = fields.required_str("password")?;
        let username = normalise_username(username).ok_or_else(|| {
            ApiError::invalid_request(
                "Field username must be 3 to 64 characters of letters, digits and ._@-",
            )
        })?;
        check_password_policy(password)?;
        let password_hash = self.passwords.hash(password.to_owned()).await?;
        let user = UserRecord {
            username,
            password_hash,
            created_at: now_secs(),
            roles: Vec::new(),
            failed_logins: 0,
            locked_until: 0,
        };
        if !self.users.create(&user).await? {
            return Err(ApiError::UsernameTaken);
        }
        tracing::info!(username = %user.username, "user registered");
        Ok(Reply {
            status: StatusCode::CREATED,
            body: Some(json!({ "username": user.username })),
        })
    }

    /// `POST /login`: the same answer, and one argon2 verification, for an unknown user
    /// and a wrong password.
    pub async fn login(&self, req: &Request) -> Result<Reply, ApiError> {
        let fields = Fields::from_request(req)?;
        let username = fields.required_str("username")?;
        let password = fields.required_str("password")?;
        let caller = CallerInfo::from_request(req);

        let username = normalise_username(username);
        let user = match &username {
            Some(name) if password.chars().count() <= MAX_PASSWORD_CHARS => {
                self.users.get(name).await?
            }
            _ => None,
        };
        let now = now_secs();
        if let Some(user) = &user {
            if user.locked_until > now {
                return Err(ApiError::TooManyAttempts {
                    retry_after_secs: user.locked_until - now,
                });
            }
        }
        let verified = self
            .passwords
            .verify(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        let user = match user {
            Some(user) if verified => user,
            Some(user) => {
                let locked = self
                    .users
                    .record_failed_login(&user.username, now, self.config.lockout)
                    .await?;
                if locked.is_some() {
                    tracing::warn!(username = %user.username, "login locked after repeated failures");
                }
                return Err(ApiError::InvalidCredentials);
            }
            None => return Err(ApiError::InvalidCredentials),
        };
        if user.failed_logins > 0 || user.locked_until > 0 {
            self.users.clear_failed_logins(&user.username).await?;
        }

        let sid = random_id()?;
        let pair = self.tokens.issue_token_pair(
            Subject {
                username: &user.username,
                roles: &user.roles,
                sid: &sid,
            },
            true,
            now,
        )?;
        self.sessions
            .create(&SessionRecord {
                username: user.username.clone(),
                sid,
                created_at: now,
                last_refreshed_at: now,
                expires_at: pair.refresh.exp,
                user_agent: caller.user_agent,
                source_ip: caller.source_ip,
                refresh_jti: pair.refresh.jti.clone(),
            })
            .await?;
        Ok(self.token_reply(&pair))
    }

    /// `GET /protected`
    pub async fn protected(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        Ok(Reply::ok(json!({
            "message": format!("Hello, {}! This is a protected route.", claims.sub),
            "claims": claims,
        })))
    }

    /// `DELETE|POST /logout`, optionally with the session's `refresh_token` in the body.
    pub async fn logout(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        let fields = Fields::from_request(req)?;
        let refresh = match fields.optional_str("refresh_token")? {
            None | Some("") => None,
            Some(token) => match self.tokens.verify(token, TokenType::Refresh) {
                Ok(refresh) if refresh.sub == claims.sub => Some(refresh),
                Ok(_) => {
                    return Err(ApiError::invalid_request(
                        "Field refresh_token is not this user's refresh token",
                    ))
                }
                // Already dead: nothing left to revoke.
                Err(ApiError::TokenExpired) => None,
                Err(_) => {
                    return Err(ApiError::invalid_request(
                        "Field refresh_token is not a valid refresh token",
                    ))
                }
            },
        };
        self.revocations
            .revoke_token(&claims.jti, claims.exp)
            .await?;
        if let Some(refresh) = refresh {
            self.revocations
                .revoke_token(&refresh.jti, refresh.exp)
                .await?;
            // The session cannot refresh any more: take it off the list.
            self.sessions.delete(&refresh.sub, &refresh.sid).await?;
        }
        Ok(Reply::ok(json!({ "message": "Access token revoked" })))
    }

    /// `POST /refresh`: rotates the refresh token; reuse of a spent one ends the session.
    pub async fn refresh(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Refresh).await?;
        let now = now_secs();
        let pair = self.tokens.issue_token_pair(
            Subject {
                username: &claims.sub,
                roles: &claims.roles,
                sid: &claims.sid,
            },
            false,
            now,
        )?;
        let rotation = self
            .sessions
            .rotate(
                &claims.sub,
                &claims.sid,
                &claims.jti,
                &pair.refresh.jti,
                now,
                pair.refresh.exp,
            )
            .await?;
        match rotation {
            Rotation::Rotated => Ok(self.token_reply(&pair)),
            Rotation::RecentlySpent { rotated_at }
                if now.saturating_sub(rotated_at) <= self.config.refresh_reuse_grace.as_secs() =>
            {
                // Most likely a client retry after a lost answer: refuse, do not punish.
                Err(ApiError::TokenRevoked)
            }
            Rotation::NoSession => Err(ApiError::TokenRevoked),
            Rotation::RecentlySpent { .. } | Rotation::Reused => {
                // A spent refresh token came back: it was copied. End the whole family.
                tracing::warn!(username = %claims.sub, sid = %claims.sid,
                    "refresh token reuse detected; session revoked");
                let until = now + self.tokens.refresh_ttl();
                self.revocations.revoke_session(&claims.sid, until).await?;
                self.sessions.delete(&claims.sub, &claims.sid).await?;
                Err(ApiError::TokenRevoked)
            }
        }
    }

    /// `POST /logout/all`: every token of the user issued before now is refused.
    pub async fn logout_all(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        let now = now_secs();
        // The cutoff refuses tokens issued in earlier seconds, ending sessions refuses
        // those of this second too, and a login right after still works.
        self.revocations
            .revoke_user_tokens_before(&claims.sub, now, now + self.tokens.refresh_ttl())
            .await?;
        let sessions = self.sessions.list(&claims.sub, now).await?;
        self.end_sessions(&sessions).await?;
        if !sessions.iter().any(|s| s.sid == claims.sid) {
            self.revocations
                .revoke_session(&claims.sid, now + self.tokens.refresh_ttl())
                .await?;
        }
        Ok(Reply::ok(json!({ "message": "All sessions revoked" })))
    }

    /// `GET /sessions`
    pub async fn list_sessions(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        let sessions = self.sessions.list(&claims.sub, now_secs()).await?;
        let sessions: Vec<Value> = sessions
            .iter()
            .map(|s| {
                json!({
                    "sid": s.sid,
                    "created_at": s.created_at,
                    "last_refreshed_at": s.last_refreshed_at,
                    "expires_at": s.expires_at,
                    "user_agent": s.user_agent,
                    "source_ip": s.source_ip,
                    "current": s.sid == claims.sid,
                })
            })
            .collect();
        Ok(Reply::ok(json!({ "sessions": sessions })))
    }

    /// `DELETE /sessions/{sid}`: only the caller's own sessions; 404 for anyone else's.
    pub async fn end_session(&self, req: &Request, sid: &str) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        let Some(session) = self.sessions.get(&claims.sub, sid, now_secs()).await? else {
            return Err(ApiError::NotFound("No such session"));
        };
        self.end_sessions(&[session]).await?;
        Ok(Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
        })
    }

    /// `POST /password`: needs a fresh token and the old password; ends the other sessions.
    pub async fn change_password(&self, req: &Request) -> Result<Reply, ApiError> {
        let claims = self.authenticate(req, TokenType::Access).await?;
        if !claims.is_fresh() {
            return Err(ApiError::FreshTokenRequired);
        }
        let fields = Fields::from_request(req)?;
        let old_password = fields.required_str("old_password")?;
        let new_password = fields.required_str("new_password")?;
        check_password_policy(new_password)?;
        let user = self.users.get(&claims.sub).await?;
        let verified = self
            .passwords
            .verify(old_password.to_owned(), user.map(|u| u.password_hash))
            .await?;
        if !verified {
            return Err(ApiError::InvalidCredentials);
        }
        let hash = self.passwords.hash(new_password.to_owned()).await?;
        self.users.set_password_hash(&claims.sub, &hash).await?;
        let others: Vec<SessionRecord> = self
            .sessions
            .list(&claims.sub, now_secs())
            .await?
            .into_iter()
            .filter(|s| s.sid != claims.sid)
            .collect();
        self.end_sessions(&others).await?;
        tracing::info!(username = %claims.sub, ended_sessions = others.len(), "password changed");
        Ok(Reply::ok(json!({
            "message": "Password changed; other sessions ended"
        })))
    }

    /// The `{sid}` of `/sessions/{sid}`: from the route's path parameters, or the path.
    pub fn session_id_of(req: &Request) -> Option<String> {
        if let Some(sid) = req.path_parameters_ref().and_then(|p| p.first("sid")) {
            return Some(sid.to_owned());
        }
        let path = req.uri().path();
        let (_, rest) = path.split_once("/sessions/")?;
        let sid = rest.trim_end_matches('/');
        (!sid.is_empty() && !sid.contains('/')).then(|| sid.to_owned())
    }
}

/// 3 to 64 characters of ASCII letters, digits and `._@-`, lower-cased; `None` otherwise.
pub fn normalise_username(username: &str) -> Option<String> {
    let valid = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    valid.then(|| username.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalise_username("Alice").as_deref(), Some("alice"));
        assert_eq!(
            normalise_username("a.b_c@d-e").as_deref(),
            Some("a.b_c@d-e")
        );
        for bad in ["ab", "", "has space", "émile", "a/b", &"x".repeat(65)] {
            assert_eq!(normalise_username(bad), None, "{bad}");
        }
        assert!(normalise_username(&"x".repeat(64)).is_some());
    }
}

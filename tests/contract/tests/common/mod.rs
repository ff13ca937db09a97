//! Test harness: one App per test, on the in-memory stores or on DynamoDB Local, routed
//! by path as API Gateway routes: /protected and /me to their functions' handlers, the
//! rest to wristband-endpoints' adapters, each with its function's routes from
//! `wristband_http::api` (unknown paths answer 404, as the not-found function does).
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use wristband_core::config::{Config, TableNames};
use wristband_core::ids::random_id;
use wristband_core::mail::Mail;
use wristband_core::store::{
    AccountStore, LoginThrottleStore, MfaChallengeStore, MfaStore, OneTimeTokenStore, PasskeyStore,
    RateLimitStore, RevocationCheck, RevocationStore, SessionEnder, SessionStore, UserRegistry,
    UserStore, WebauthnChallengeStore,
};
use wristband_core::{Authenticator, Claims, TokenType, TokenVerifier};
use wristband_dynamodb::ensure_tables;
use wristband_dynamodb::Tables;
use wristband_http::routes::path_param_of;
use wristband_http::{api, respond, ApiError, Cors, Guard, Reply, Route};
use wristband_services::App;
use wristband_test_support::{
    bearer_request, json_request, test_config, InMemoryLoginThrottle, InMemoryMfaChallenges,
    InMemoryOneTimeTokens, InMemoryOutbox, InMemoryRateLimits, InMemoryRevokedTokens,
    InMemorySessionEnder, InMemorySessions, InMemoryUsers, InMemoryWebauthnChallenges,
};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    InMemory,
    DynamoDbLocal,
}

/// `make test` starts DynamoDB Local on a free port and sets this.
pub const ENDPOINT_VAR: &str = "WRISTBAND_TEST_DYNAMODB_ENDPOINT";

pub fn dynamodb_endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: run the tests with `make test`, which starts DynamoDB Local")
    })
}

/// A client like production's (same timeouts and retries) for any endpoint.
pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("dummy", "dummy", None, None, "tests"))
        .timeout_config(wristband_dynamodb::timeouts())
        .retry_config(wristband_dynamodb::retries())
        .http_client(wristband_dynamodb::https_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Table names unique to this test process, created once.
pub async fn test_tables(client: &aws_sdk_dynamodb::Client) -> TableNames {
    static NAMES: OnceLock<TableNames> = OnceLock::new();
    static CREATED: OnceCell<()> = OnceCell::const_new();
    let names = NAMES
        .get_or_init(|| {
            let run = random_id().unwrap().to_ascii_lowercase();
            let run: String = run.chars().filter(char::is_ascii_alphanumeric).collect();
            TableNames {
                users: format!("test-{run}-users"),
                revoked_tokens: format!("test-{run}-revoked"),
                sessions: format!("test-{run}-sessions"),
            }
        })
        .clone();
    CREATED
        .get_or_init(|| async {
            ensure_tables(client, &names)
                .await
                .expect("tables created on DynamoDB Local");
        })
        .await;
    names
}

impl Backend {
    pub async fn app(self) -> Harness {
        self.app_with(|_| {}).await
    }

    pub async fn app_with(self, adjust: impl FnOnce(&mut Config)) -> Harness {
        let mut config = test_config();
        config.mail.app_url = Some(TEST_APP_URL.to_owned());
        config.mail.mail_from = Some("no-reply@wristband.test".to_owned());
        // Every test's requests come from one source address (and, on DynamoDB Local,
        // share one table): the per-address limit is tested on its own.
        config.mail.mail_per_ip_per_hour = 1_000_000;
        config.mfa_key = wristband_core::mfa::MfaKey::parse(TEST_MFA_KEY);
        config.relying_party = Some(wristband_core::webauthn::RelyingParty {
            id: TEST_RP_ID.to_owned(),
            name: "wristband tests".to_owned(),
            origins: vec![TEST_ORIGIN.to_owned()],
        });
        adjust(&mut config);
        let outbox = Arc::<InMemoryOutbox>::default();
        let harness = match self {
            Backend::InMemory => Harness::new(in_memory_app(config, outbox.clone())),
            Backend::DynamoDbLocal => {
                let client = client_for(&dynamodb_endpoint());
                config.tables = test_tables(&client).await;
                // /protected and /me read revocations as their functions do: over the
                // SDK-free client, not the App's SDK store.
                let verifier = wristband_dynamodb_lite::authenticator(
                    &config,
                    Arc::new(wire_client_for(&dynamodb_endpoint())),
                )
                .expect("test keys");
                let check = verifier_check(&dynamodb_endpoint(), &config);
                let app = dynamodb_app(config, client, check, outbox.clone());
                Harness::with_verifier(app, verifier)
            }
        };
        Harness { outbox, ..harness }
    }
}

/// `MFA_ENCRYPTION_KEY` of the tests (32 bytes, base64).
pub const TEST_MFA_KEY: &str = "dGVzdCBtZmEga2V5IHRlc3QgbWZhIGtleSB0ZXN0IG0=";

/// `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS` of the tests.
pub const TEST_RP_ID: &str = "app.wristband.test";
pub const TEST_ORIGIN: &str = "https://app.wristband.test";

/// `APP_URL` of the tests: links start with it.
pub const TEST_APP_URL: &str = "https://app.wristband.test";

/// An endpoint nothing listens on: a port just bound and released.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Every store on `dead_endpoint`: the App's SDK stores and the verifiers' wire client.
pub fn unreachable(dead_endpoint: &str) -> Harness {
    let config = test_config();
    let verifier =
        wristband_dynamodb_lite::authenticator(&config, Arc::new(wire_client_for(dead_endpoint)))
            .expect("test keys");
    let check = verifier_check(dead_endpoint, &config);
    let outbox = Arc::<InMemoryOutbox>::default();
    let app = dynamodb_app(config, client_for(dead_endpoint), check, outbox.clone());
    Harness {
        outbox,
        ..Harness::with_verifier(app, verifier)
    }
}

/// Production's revocation check (no SDK) on the test tables at `endpoint`.
pub fn verifier_check(endpoint: &str, config: &Config) -> Arc<dyn RevocationCheck> {
    Arc::new(wristband_dynamodb_lite::LiteRevokedTokens::new(
        Arc::new(wire_client_for(endpoint)),
        config.tables.revoked_tokens.clone(),
    ))
}

/// The verifier functions' DynamoDB client (no SDK) for any endpoint, production's policy.
pub fn wire_client_for(endpoint: &str) -> wristband_dynamodb_lite::DynamoDbHttp {
    wristband_dynamodb_lite::DynamoDbHttp::new(
        wristband_dynamodb_lite::env::AwsEnv::dynamodb_local(endpoint),
        wristband_dynamodb_lite::tls::Roots::Platform,
        wristband_dynamodb_lite::Policy::default(),
    )
    .expect("a DynamoDB endpoint")
}

/// A response, read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Resp {
    pub fn from_response(response: Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: &[u8] = response.body().as_ref();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).expect("every body is JSON")
        };
        if !body.is_empty() {
            assert_eq!(headers["content-type"], "application/json");
        }
        Self {
            status,
            headers,
            json,
        }
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a contract error: status, code, and (for token errors) WWW-Authenticate.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.error(), code, "{self:?}");
        assert!(!self.message().is_empty(), "{self:?}");
        if status == 401 && !matches!(code, "invalid_credentials" | "mfa_required" | "mfa_failed") {
            let expected = if code == "missing_token" {
                "Bearer"
            } else {
                "Bearer error=\"invalid_token\""
            };
            assert_eq!(self.header("www-authenticate"), expected, "{self:?}");
        }
    }
}

#[derive(Clone, Debug)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The same logic as production on in-memory stores.
pub fn in_memory_app(config: Config, outbox: Arc<InMemoryOutbox>) -> App {
    let revocations = Arc::<InMemoryRevokedTokens>::default();
    let sessions = Arc::<InMemorySessions>::default();
    let users = Arc::<InMemoryUsers>::default();
    full_app(
        config,
        Stores {
            users: users.clone(),
            registry: users.clone(),
            accounts: users.clone(),
            mfa: users.clone(),
            passkeys: users,
            webauthn_challenges: Arc::<InMemoryWebauthnChallenges>::default(),
            mfa_challenges: Arc::<InMemoryMfaChallenges>::default(),
            check: revocations.clone(),
            revocations: revocations.clone(),
            sessions: sessions.clone(),
            ender: Arc::new(InMemorySessionEnder::new(revocations, sessions)),
            throttle: Arc::<InMemoryLoginThrottle>::default(),
            one_time_tokens: Arc::<InMemoryOneTimeTokens>::default(),
            rate_limits: Arc::<InMemoryRateLimits>::default(),
            mailer: outbox,
        },
    )
}

/// Every store on DynamoDB through `client` (the SDK stores of production), revocations
/// read through `check` (production's SDK-free read).
pub fn dynamodb_app(
    config: Config,
    client: aws_sdk_dynamodb::Client,
    check: Arc<dyn RevocationCheck>,
    outbox: Arc<InMemoryOutbox>,
) -> App {
    let db = Tables::new(client, config.tables.clone());
    full_app(
        config,
        Stores {
            users: db.users(),
            registry: db.users(),
            accounts: db.accounts(),
            mfa: db.mfa(),
            passkeys: db.passkeys(),
            webauthn_challenges: db.webauthn_challenges(),
            mfa_challenges: db.mfa_challenges(),
            check,
            revocations: db.revoked_tokens(),
            sessions: db.sessions(),
            ender: db.session_ender(),
            throttle: db.login_throttle(),
            one_time_tokens: db.one_time_tokens(),
            rate_limits: db.rate_limits(),
            mailer: outbox,
        },
    )
}

/// Every store of every function; mail goes to an in-memory outbox on both backends (the
/// SES emulator is the end-to-end tests' and wristband-ses's).
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub registry: Arc<dyn UserRegistry>,
    pub accounts: Arc<dyn AccountStore>,
    pub mfa: Arc<dyn MfaStore>,
    pub mfa_challenges: Arc<dyn MfaChallengeStore>,
    pub passkeys: Arc<dyn PasskeyStore>,
    pub webauthn_challenges: Arc<dyn WebauthnChallengeStore>,
    pub check: Arc<dyn RevocationCheck>,
    pub revocations: Arc<dyn RevocationStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub ender: Arc<dyn SessionEnder>,
    pub throttle: Arc<dyn LoginThrottleStore>,
    pub one_time_tokens: Arc<dyn OneTimeTokenStore>,
    pub rate_limits: Arc<dyn RateLimitStore>,
    pub mailer: Arc<InMemoryOutbox>,
}

/// What all the issuing and session functions build together: one App serves them all.
pub fn full_app(config: Config, stores: Stores) -> App {
    App::new(config)
        .issuing()
        .expect("test keys")
        .verifying(stores.check)
        .expect("test keys")
        .with_revocations(stores.revocations)
        .with_password_hasher()
        .with_users(stores.users)
        .with_registry(stores.registry)
        .with_accounts(stores.accounts)
        .with_mfa(stores.mfa)
        .with_mfa_challenges(stores.mfa_challenges)
        .with_passkeys(stores.passkeys)
        .with_webauthn_challenges(stores.webauthn_challenges)
        .with_sessions(stores.sessions)
        .with_session_ender(stores.ender)
        .with_login_throttle(stores.throttle)
        .with_one_time_tokens(stores.one_time_tokens)
        .with_rate_limits(stores.rate_limits)
        .with_mailer(stores.mailer)
}

/// The app of the issuing functions and the guards of the verifier functions, on the
/// same stores and keys.
pub struct Harness {
    pub app: App,
    /// `/oauth/introspect` on the same keys and revocation check as the verifiers.
    pub introspection: introspect::Introspection,
    /// `/oauth/revoke` on the same stores.
    pub revocation: revoke::Revocation,
    pub protected: Guard,
    pub me: Guard,
    /// What /protected, /me and the authorizer verify with (the wire client on
    /// DynamoDB Local, as in production).
    pub verifier: Arc<Authenticator>,
    /// Every mail the app sent.
    pub outbox: Arc<InMemoryOutbox>,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The introspection client of the tests (`INTROSPECTION_CLIENTS` holds its secret's hash).
pub const TEST_CLIENT_ID: &str = "billing";
pub const TEST_CLIENT_SECRET: &str = "billing service secret";

/// A username no other test uses.
pub fn unique_user() -> String {
    let id = random_id().unwrap();
    let id: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("user-{}", id.to_ascii_lowercase())
}

impl Harness {
    pub fn new(app: App) -> Self {
        let verifier = app.authenticator().unwrap().clone();
        Self::with_verifier(app, verifier)
    }

    /// `/protected` and `/me` on `verifier`, everything else on `app`.
    pub fn with_verifier(app: App, verifier: Arc<Authenticator>) -> Self {
        let clients = format!(
            r#"{{"{TEST_CLIENT_ID}": "{}"}}"#,
            introspect::clients::secret_hash(TEST_CLIENT_SECRET)
        );
        Self {
            introspection: introspect::Introspection {
                authenticator: verifier.clone(),
                clients: introspect::Clients::parse(&clients).expect("test clients"),
            },
            revocation: revoke::Revocation {
                verifier: TokenVerifier::new(&app.config).expect("test keys"),
                revocations: app.revocations().expect("built").clone(),
                ender: app.ender().expect("built").clone(),
                refresh_ttl: app.config.refresh_ttl.as_secs(),
            },
            protected: Guard::new(verifier.clone(), protected::requirements()),
            me: Guard::new(verifier.clone(), me::requirements()),
            verifier,
            app,
            outbox: Arc::default(),
        }
    }

    /// One request, routed by its path as API Gateway does: to the function whose routes
    /// have its path, answered with that function's routes and handler.
    pub async fn call(&self, req: Request) -> Resp {
        let cors = Cors::new(self.app.config.cors_allow_origins.clone());
        let path = req.uri().path().to_owned();
        let function = api::FUNCTIONS.iter().find(|f| {
            f.routes
                .iter()
                .any(|r| path_param_of(r.path, &path).is_some())
        });
        let response = match function {
            None => {
                respond(&[], &cors, req, |_, _| async {
                    Err(ApiError::NotFound("No such path"))
                })
                .await
            }
            Some(function) => {
                respond(function.routes, &cors, req, |route, req| {
                    self.dispatch(function.name, route, req)
                })
                .await
            }
        };
        Resp::from_response(response)
    }

    /// What each function's `main` passes to `serve`.
    async fn dispatch(
        &self,
        function: &str,
        route: &Route,
        req: Request,
    ) -> Result<Reply, ApiError> {
        let app = &self.app;
        match function {
            "register" => wristband_endpoints::register(app, req).await,
            "login" => wristband_endpoints::login(app, req).await,
            "refresh" => wristband_endpoints::refresh(app, req).await,
            "logout" => wristband_endpoints::logout(app, req).await,
            "logout-all" => wristband_endpoints::logout_all(app, req).await,
            "sessions" => wristband_endpoints::sessions(app, route, req).await,
            "password" => wristband_endpoints::change_password(app, req).await,
            "protected" => protected::handle(&self.protected, req).await,
            "me" => me::handle(&self.me, req).await,
            "introspect" => introspect::handle(&self.introspection, req).await,
            "revoke" => revoke::handle(&self.revocation, req).await,
            "account" => wristband_endpoints::account(app, route, req).await,
            "login-mfa" => wristband_endpoints::login_mfa(app, req).await,
            "mfa" => wristband_endpoints::mfa(app, route, req).await,
            "passkeys" => wristband_endpoints::passkeys(app, route, req).await,
            "login-passkey" => wristband_endpoints::login_passkey(app, route, req).await,
            "email" => wristband_endpoints::email(app, route, req).await,
            "password-reset" => wristband_endpoints::password_reset(app, route, req).await,
            "admin" => wristband_endpoints::admin(app, route, req).await,
            _ => Err(ApiError::NotFound("No such path")),
        }
    }

    pub async fn register(&self, username: &str, password: &str) -> Resp {
        let body = json!({"username": username, "password": password});
        self.call(json_request("POST", "/register", &body)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        let body = json!({"username": username, "password": password});
        self.call(json_request("POST", "/login", &body)).await
    }

    /// Registers a fresh user and logs in: (username, tokens).
    pub async fn user_with_tokens(&self) -> (String, Tokens) {
        let username = unique_user();
        assert_eq!(self.register(&username, PASSWORD).await.status, 201);
        let tokens = self.login_ok(&username, PASSWORD).await;
        (username, tokens)
    }

    pub async fn login_ok(&self, username: &str, password: &str) -> Tokens {
        let r = self.login(username, password).await;
        assert_eq!(r.status, 200, "{r:?}");
        tokens_of(&r)
    }

    pub async fn with_token(&self, method: &str, path: &str, token: &str, body: &str) -> Resp {
        self.call(bearer_request(method, path, token, body)).await
    }

    /// The verified claims of a token this app issued (signature and claims only).
    pub fn claims(&self, token: &str, kind: TokenType) -> Claims {
        TokenVerifier::new(&self.app.config)
            .expect("test keys")
            .verify(token, kind)
            .expect("a valid token")
    }

    /// Both tokens of a session are refused as revoked: the access token at /protected,
    /// the refresh token at /refresh.
    pub async fn assert_session_revoked(&self, tokens: &Tokens) {
        self.protected(&tokens.access)
            .await
            .assert_error(401, "token_revoked");
        self.refresh(&tokens.refresh)
            .await
            .assert_error(401, "token_revoked");
    }

    /// GET /sessions with `access` lists one session: the caller's own.
    pub async fn assert_only_current_session(&self, access: &str) {
        let r = self.with_token("GET", "/sessions", access, "").await;
        let list = r.json["sessions"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["current"], true);
    }

    pub async fn protected(&self, token: &str) -> Resp {
        self.with_token("GET", "/protected", token, "").await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.with_token("POST", "/refresh", refresh_token, "").await
    }

    pub async fn logout(&self, access: &str, body: &str) -> Resp {
        self.with_token("DELETE", "/logout", access, body).await
    }
}

impl Harness {
    /// The newest mail to `to`.
    pub fn last_mail(&self, to: &str) -> Mail {
        self.outbox
            .to(to)
            .pop()
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// The token of the newest link to `to` whose page is `page` (`/verify-email`,
    /// `/reset-password`), read from the mail's text as a person would.
    pub fn link_token(&self, to: &str, page: &str) -> String {
        let mail = self.last_mail(to);
        link_token_in(&mail.text, page).unwrap_or_else(|| panic!("no {page} link in {mail:?}"))
    }
}

/// The token of the first `<APP_URL><page>#token=...` link in `text`.
pub fn link_token_in(text: &str, page: &str) -> Option<String> {
    let prefix = format!("{TEST_APP_URL}{page}#token=");
    let start = text.find(&prefix)? + prefix.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

pub fn tokens_of(r: &Resp) -> Tokens {
    Tokens {
        access: r.json["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh: r.json["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

/// Runs each named `async fn(Backend)` once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::InMemory).await
                }
            )*
        }
        mod dynamodb_local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::DynamoDbLocal).await
                }
            )*
        }
    };
}

/// `join_all` without the futures crate: polls every future concurrently on this task.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

/// The bytes of an unpadded RFC 4648 base32 text (a TOTP secret as enrolment shows it).
pub fn decode_base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

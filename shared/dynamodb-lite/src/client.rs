//! Signed calls to AWS JSON APIs ([`SignedHttp`]: DynamoDB's JSON protocol here, SES API v2
//! in `wristband-ses`), with wristband's failure policy ([`Policy`], which the SDK stores'
//! client is configured from too): connect 1 s, 1.5 s per attempt, 4 s in all, 3 attempts
//! on outages and throttling, then fail closed.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use wristband_core::{ConfigError, StoreError};

use crate::env::{AwsEnv, Credentials};
use crate::sigv4::{self, Signer};
use crate::tls::{self, Pool, Roots};

/// DynamoDB and SES answer the calls we make in a few hundred bytes; a bigger body is
/// refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How long and how often to try. [`Policy::default`] is what every function uses, with
/// this client or through the SDK (`wristband_dynamodb::{timeouts, retries}`).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub connect_timeout: Duration,
    pub attempt_timeout: Duration,
    pub total_timeout: Duration,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(1000),
            attempt_timeout: Duration::from_millis(1500),
            total_timeout: Duration::from_secs(4),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        }
    }
}

/// Which service a [`SignedHttp`] calls, for signing, messages and its failure policy.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// SigV4 signing name (`dynamodb`, `ses`).
    pub signing_name: &'static str,
    /// The setting that names the endpoint, for the message that refuses a bad one.
    pub endpoint_setting: &'static str,
    /// Whether an error answer (status, error code) means an outage or throttling, to be
    /// retried.
    pub retryable: fn(StatusCode, &str) -> bool,
}

/// One call: `POST <path>` with this content type, target and the body given to
/// [`SignedHttp::post`].
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// For messages only (`BatchGetItem`, `SendEmail`).
    pub name: &'a str,
    /// In canonical form (see [`sigv4::Request::path`]).
    pub path: &'a str,
    pub content_type: &'a str,
    pub target: Option<&'a str>,
}

/// Why a call failed. The text names the operation, the status and the service's error
/// code, never a request or response body.
#[derive(Debug)]
pub enum CallError {
    /// No credentials, or no usable answer through every attempt the [`Policy`] allows:
    /// transport errors, timeouts, and answers the service counts as outages.
    Unavailable(String),
    /// An error answer that asking again would not change (not retried).
    Refused(String),
}

/// Signed `POST`s to one endpoint of one service, in one region with one set of keys, on
/// one connection pool, with wristband's failure [`Policy`]: built once per process (the
/// pool, and with it the TLS roots, on the first call).
pub struct SignedHttp {
    pool: OnceLock<Pool<Full<Bytes>>>,
    roots: Roots,
    /// `scheme://authority`, without a path.
    base: String,
    host: String,
    service: Service,
    /// `None` without credentials in the environment: every call then fails (closed).
    signer: Option<Signer>,
    policy: Policy,
    /// `wristband`, or `wristband app/<function>` ([`SignedHttp::with_app_name`]).
    user_agent: HeaderValue,
}

impl SignedHttp {
    /// Refuses an endpoint that is not `http(s)://host[:port][/]`: the operations name
    /// their own paths.
    pub fn new(
        service: Service,
        endpoint: &str,
        region: String,
        credentials: Option<Credentials>,
        roots: Roots,
        policy: Policy,
    ) -> Result<Self, ConfigError> {
        let bad = || ConfigError::Invalid {
            name: service.endpoint_setting,
            expected: "http(s)://host[:port] without a path",
            value: endpoint.to_owned(),
        };
        let given: Uri = endpoint.parse().map_err(|_| bad())?;
        let default_port = match given.scheme_str() {
            Some("https") => 443,
            Some("http") => 80,
            _ => return Err(bad()),
        };
        let scheme = given.scheme_str().unwrap_or_default();
        let authority = given.authority().ok_or_else(bad)?;
        if !matches!(given.path(), "" | "/") || given.query().is_some() {
            return Err(bad());
        }
        let host = match authority.port_u16() {
            Some(port) if port != default_port => format!("{}:{port}", authority.host()),
            _ => authority.host().to_owned(),
        };
        Ok(Self {
            pool: OnceLock::new(),
            // Plain HTTP (DynamoDB Local, the SES emulator) never needs the platform's roots.
            roots: if scheme == "http" {
                Roots::Only(rustls::RootCertStore::empty())
            } else {
                roots
            },
            base: format!("{scheme}://{}", authority.as_str()),
            host,
            service,
            signer: credentials.map(|keys| Signer::for_service(service.signing_name, region, keys)),
            policy,
            user_agent: HeaderValue::from_static("wristband"),
        })
    }

    /// Names the caller in the user agent (`wristband app/<name>`), as the SDK does with
    /// its app name: [`AwsEnv::app_name`], the function's name. A name that is not a
    /// user-agent token (see [`crate::env::app_name_token`]) is left out.
    pub fn with_app_name(mut self, app_name: Option<&str>) -> Self {
        if let Some(value) = app_name
            .and_then(crate::env::app_name_token)
            .and_then(|token| HeaderValue::try_from(format!("wristband app/{token}")).ok())
        {
            self.user_agent = value;
        }
        self
    }

    /// The endpoint as requests go to it (`http://127.0.0.1:8000`), without a path.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// The response body of a 2xx. Transport errors, timeouts and the answers the
    /// service's `retryable` names are retried with backoff within the policy's attempts
    /// and total time, then `Unavailable`; any other error answer is `Refused` at once.
    pub async fn post(
        &self,
        operation: &Operation<'_>,
        body: impl Into<Bytes>,
    ) -> Result<Bytes, CallError> {
        let body = body.into();
        let name = operation.name;
        let Some(signer) = &self.signer else {
            return Err(CallError::Unavailable(format!(
                "{name}: no AWS credentials in the environment"
            )));
        };
        let uri: Uri = format!("{}{}", self.base, operation.path)
            .parse()
            .map_err(|_| CallError::Refused(format!("{name}: bad path {}", operation.path)))?;
        let deadline = Instant::now() + self.policy.total_timeout;
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let limit = self.policy.attempt_timeout.min(left);
            let sent = self.send(signer, operation, &uri, &body);
            let failure = match tokio::time::timeout(limit, sent).await {
                Err(_) => format!("{name}: no answer within {limit:?}"),
                Ok(Err(transport)) => format!("{name}: {transport}"),
                Ok(Ok(answer)) if answer.status.is_success() => return Ok(answer.body),
                Ok(Ok(answer)) => {
                    let code = answer.error_code();
                    let failure = format!("{name}: {} {code}", answer.status);
                    if !(self.service.retryable)(answer.status, code) {
                        return Err(CallError::Refused(failure));
                    }
                    failure
                }
            };
            attempt += 1;
            let pause = self.backoff(attempt);
            if attempt >= self.policy.max_attempts || Instant::now() + pause >= deadline {
                return Err(CallError::Unavailable(format!(
                    "{failure} (after {attempt} attempt{})",
                    if attempt == 1 { "" } else { "s" }
                )));
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn send(
        &self,
        signer: &Signer,
        operation: &Operation<'_>,
        uri: &Uri,
        body: &Bytes,
    ) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
        let request = sigv4::Request {
            path: operation.path,
            content_type: operation.content_type,
            target: operation.target,
            body,
        };
        let signed = signer.sign_request(&self.host, &request, SystemTime::now());
        let mut request = http::Request::post(uri.clone())
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, operation.content_type)
            .header(USER_AGENT, self.user_agent.clone())
            .header("x-amz-date", signed.amz_date);
        if let Some(token) = signed.session_token {
            request = request.header("x-amz-security-token", token);
        }
        if let Some(target) = operation.target {
            request = request.header("x-amz-target", target);
        }
        let request = request
            .header(AUTHORIZATION, signed.authorization)
            .body(Full::new(body.clone()))?;
        let pool = self.pool.get_or_init(|| {
            tls::pool(
                tls::tls_config(self.roots.load()),
                Some(self.policy.connect_timeout),
            )
        });
        let response = pool.request(request).await?;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await?
            .to_bytes();
        Ok(Answer {
            status,
            error_type,
            body,
        })
    }

    /// Exponential, capped, with jitter (half to all of the step) so that instances that
    /// failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .policy
            .initial_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.policy.max_backoff);
        let mut byte = [0u8; 1];
        let jitter = getrandom::fill(&mut byte).map_or(255, |()| byte[0]);
        step / 2 + step / 2 * u32::from(jitter) / 255
    }
}

struct Answer {
    status: StatusCode,
    /// The `X-Amzn-ErrorType` header (REST-JSON protocols; JSON 1.0 may send it too).
    error_type: Option<String>,
    body: Bytes,
}

impl Answer {
    fn error_code(&self) -> &str {
        match &self.error_type {
            Some(header) => short_code(header.split(':').next().unwrap_or_default()),
            None => error_code(&self.body),
        }
    }
}

/// An error code as read from an answer, kept only when it looks like one (at most 64
/// letters, digits, `.` or `_`): it goes into logs, and an answer is not ours to trust.
fn short_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code).trim();
    let plausible = code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if plausible {
        code
    } else {
        ""
    }
}

/// DynamoDB's JSON protocol (DynamoDB_20120810): retried on outages and throttling.
const DYNAMODB: Service = Service {
    signing_name: sigv4::DYNAMODB,
    endpoint_setting: "AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL)",
    retryable,
};

/// DynamoDB from one endpoint, one region, one set of keys, one connection pool.
pub struct DynamoDbHttp {
    http: SignedHttp,
}

impl DynamoDbHttp {
    /// Region, endpoint and keys from the environment ([`AwsEnv`]), the platform's roots.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(AwsEnv::from_env(), Roots::Platform, Policy::default())
    }

    /// Refuses an endpoint that is not `http(s)://host[:port][/]`: requests are signed
    /// for the path `/`.
    pub fn new(env: AwsEnv, roots: Roots, policy: Policy) -> Result<Self, ConfigError> {
        let endpoint = env.endpoint();
        Ok(Self {
            http: SignedHttp::new(
                DYNAMODB,
                &endpoint,
                env.region,
                env.credentials,
                roots,
                policy,
            )?
            .with_app_name(env.app_name.as_deref()),
        })
    }

    /// `X-Amz-Target: DynamoDB_20120810.<operation>` with `body`; the response body of a
    /// 2xx. Outages, timeouts, 5xx and throttling are retried, then `Unavailable`; any
    /// other error answer is `Other` at once. Both fail closed.
    pub async fn call(&self, operation: &str, body: Vec<u8>) -> Result<Bytes, StoreError> {
        let target = format!("DynamoDB_20120810.{operation}");
        let operation = Operation {
            name: operation,
            path: "/",
            content_type: sigv4::CONTENT_TYPE,
            target: Some(&target),
        };
        self.http
            .post(&operation, body)
            .await
            .map_err(|err| match err {
                CallError::Unavailable(failure) => StoreError::Unavailable(failure.into()),
                CallError::Refused(failure) => StoreError::Other(failure.into()),
            })
    }
}

/// The short name of an AWS JSON error answer (`__type`, or `code`, after its `#`).
fn error_code(answer: &[u8]) -> &str {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer<'a> {
        #[serde(rename = "__type", borrow)]
        kind: Option<&'a str>,
        #[serde(borrow)]
        code: Option<&'a str>,
    }
    serde_json::from_slice::<ErrorAnswer>(answer)
        .ok()
        .and_then(|e| e.kind.or(e.code))
        .map_or("", short_code)
}

/// The DynamoDB error codes that mean an outage or throttling, not a mistake of ours:
/// retried, then `Unavailable` (a 503 or a deny). The SDK stores classify by this too.
pub fn is_outage_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
    )
}

fn retryable(status: StatusCode, code: &str) -> bool {
    status.is_server_error() || is_outage_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        let throttled = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#;
        assert_eq!(
            error_code(throttled),
            "ProvisionedThroughputExceededException"
        );
        assert!(retryable(StatusCode::BAD_REQUEST, error_code(throttled)));
        let missing = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;
        assert!(!retryable(StatusCode::BAD_REQUEST, error_code(missing)));
        assert!(retryable(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_code(b"<html>")
        ));
        assert_eq!(error_code(b"not json"), "");
        assert_eq!(
            error_code(br#"{"code":"TooManyRequestsException"}"#),
            "TooManyRequestsException"
        );
        // A code goes into logs: anything that does not look like one is left out.
        assert_eq!(error_code(br#"{"__type":"a b@example.com"}"#), "");
        assert_eq!(
            error_code(format!(r#"{{"__type":"{}"}}"#, "A".repeat(65)).as_bytes()),
            ""
        );
    }

    #[test]
    fn the_error_type_header_comes_first() {
        let answer = |header: Option<&str>, body: &'static [u8]| Answer {
            status: StatusCode::BAD_REQUEST,
            error_type: header.map(str::to_owned),
            body: Bytes::from_static(body),
        };
        let a = answer(
            Some("MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/"),
            br#"{"message":"Email address is not verified: a@example.com"}"#,
        );
        assert_eq!(a.error_code(), "MessageRejected");
        let a = answer(None, br#"{"__type":"com.amazonaws.x#ThrottlingException"}"#);
        assert_eq!(a.error_code(), "ThrottlingException");
        assert_eq!(answer(Some("bad code!"), b"").error_code(), "");
    }

    fn env(endpoint: &str) -> AwsEnv {
        AwsEnv {
            region: "us-east-1".into(),
            endpoint_url: Some(endpoint.into()),
            credentials: None,
            app_name: None,
        }
    }

    #[tokio::test]
    async fn endpoints() {
        let ok = |e: &str| DynamoDbHttp::new(env(e), Roots::Platform, Policy::default());
        let c = ok("http://127.0.0.1:8000").unwrap().http;
        assert_eq!(
            (c.endpoint(), c.host.as_str()),
            ("http://127.0.0.1:8000", "127.0.0.1:8000")
        );
        let c = ok("https://dynamodb.eu-west-1.amazonaws.com:443/")
            .unwrap()
            .http;
        assert_eq!(c.host, "dynamodb.eu-west-1.amazonaws.com");
        for bad in [
            "ftp://x",
            "http://x/prefix",
            "http://x/?a=b",
            "no scheme",
            "",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_app_name_travels_in_the_user_agent() {
        let mut e = env("http://127.0.0.1:8000");
        let c = DynamoDbHttp::new(e.clone(), Roots::Platform, Policy::default()).unwrap();
        assert_eq!(c.http.user_agent, "wristband");
        e.app_name = Some("stack-LoginFunction-Ab1".into());
        let c = DynamoDbHttp::new(e, Roots::Platform, Policy::default()).unwrap();
        assert_eq!(c.http.user_agent, "wristband app/stack-LoginFunction-Ab1");
    }

    #[tokio::test]
    async fn no_credentials_fails_closed_without_a_request() {
        let c = DynamoDbHttp::new(
            env("http://127.0.0.1:9"),
            Roots::Platform,
            Policy::default(),
        )
        .unwrap();
        let err = c.call("BatchGetItem", b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }
}

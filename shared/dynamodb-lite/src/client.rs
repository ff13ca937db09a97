//! Signed calls to DynamoDB's JSON protocol, with wristband's failure policy ([`Policy`],
//! which the SDK stores' client is configured from too): connect 1 s, 1.5 s per attempt,
//! 4 s in all, 3 attempts on outages and throttling, then fail closed.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use wristband_core::{ConfigError, StoreError};

use crate::env::AwsEnv;
use crate::sigv4::{self, Signer};
use crate::tls::{self, Pool, Roots};

/// DynamoDB answers the calls we make in a few hundred bytes; a bigger body is refused
/// rather than buffered.
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

/// One endpoint, one region, one set of keys, one connection pool: built once per process
/// (the pool, and with it the TLS roots, on the first call).
pub struct DynamoDbHttp {
    pool: OnceLock<Pool<Full<Bytes>>>,
    roots: Roots,
    endpoint: Uri,
    host: String,
    /// `None` without credentials in the environment: every call then fails (closed).
    signer: Option<Signer>,
    policy: Policy,
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
        let bad = || ConfigError::Invalid {
            name: "AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL)",
            expected: "http(s)://host[:port] without a path",
            value: endpoint.clone(),
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
        let endpoint = Uri::builder()
            .scheme(scheme)
            .authority(authority.as_str())
            .path_and_query("/")
            .build()
            .map_err(|_| bad())?;
        Ok(Self {
            pool: OnceLock::new(),
            // Plain HTTP (DynamoDB Local) never needs the platform's roots.
            roots: if scheme == "http" {
                Roots::Only(rustls::RootCertStore::empty())
            } else {
                roots
            },
            endpoint,
            host,
            signer: env.credentials.map(|keys| Signer::new(env.region, keys)),
            policy,
        })
    }

    /// `X-Amz-Target: DynamoDB_20120810.<operation>` with `body`; the response body of a
    /// 2xx. Outages, timeouts, 5xx and throttling are retried, then `Unavailable`; any
    /// other error answer is `Other` at once. Both fail closed.
    pub async fn call(&self, operation: &str, body: Vec<u8>) -> Result<Bytes, StoreError> {
        let Some(signer) = &self.signer else {
            return Err(StoreError::Unavailable(
                "no AWS credentials in the environment".into(),
            ));
        };
        let target = format!("DynamoDB_20120810.{operation}");
        let body = Bytes::from(body);
        let deadline = Instant::now() + self.policy.total_timeout;
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let limit = self.policy.attempt_timeout.min(left);
            let failure = match tokio::time::timeout(limit, self.send(signer, &target, &body)).await
            {
                Err(_) => format!("{operation}: no answer within {limit:?}"),
                Ok(Err(transport)) => format!("{operation}: {transport}"),
                Ok(Ok((status, answer))) if status.is_success() => return Ok(answer),
                Ok(Ok((status, answer))) => {
                    let code = error_code(&answer);
                    let failure = format!("{operation}: {status} {code}");
                    if !retryable(status, code) {
                        return Err(StoreError::Other(failure.into()));
                    }
                    failure
                }
            };
            attempt += 1;
            let pause = self.backoff(attempt);
            if attempt >= self.policy.max_attempts || Instant::now() + pause >= deadline {
                return Err(StoreError::Unavailable(failure.into()));
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn send(
        &self,
        signer: &Signer,
        target: &str,
        body: &Bytes,
    ) -> Result<(StatusCode, Bytes), Box<dyn std::error::Error + Send + Sync>> {
        let signed = signer.sign(&self.host, target, body, SystemTime::now());
        let mut request = http::Request::post(self.endpoint.clone())
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, sigv4::CONTENT_TYPE)
            .header("x-amz-date", signed.amz_date)
            .header("x-amz-target", target);
        if let Some(token) = signed.session_token {
            request = request.header("x-amz-security-token", token);
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
        let answer = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await?
            .to_bytes();
        Ok((status, answer))
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

/// The short name of a DynamoDB error answer (`__type` after its `#`).
fn error_code(answer: &[u8]) -> &str {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer<'a> {
        #[serde(rename = "__type", borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_slice::<ErrorAnswer>(answer)
        .ok()
        .and_then(|e| e.kind)
        .map_or("", |kind| kind.rsplit('#').next().unwrap_or(kind))
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
    }

    fn env(endpoint: &str) -> AwsEnv {
        AwsEnv {
            region: "us-east-1".into(),
            endpoint_url: Some(endpoint.into()),
            credentials: None,
        }
    }

    #[tokio::test]
    async fn endpoints() {
        let ok = |e: &str| DynamoDbHttp::new(env(e), Roots::Platform, Policy::default());
        let c = ok("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            (c.endpoint.to_string().as_str(), c.host.as_str()),
            ("http://127.0.0.1:8000/", "127.0.0.1:8000")
        );
        let c = ok("https://dynamodb.eu-west-1.amazonaws.com:443/").unwrap();
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

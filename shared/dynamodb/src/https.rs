//! The SDK's HTTP client: HTTP/1.1 over rustls (ring), nothing else.
//!
//! `aws-smithy-http-client` (the SDK's own) always links HTTP/2 (`h2`), proxy support and
//! its connection-metadata machinery: ~300 KiB of code in every function, for a service
//! that speaks HTTP/1.1 to one endpoint. This is the same hyper-util pool and rustls with
//! ring and the platform's roots ([`wristband_dynamodb_lite::tls`]), behind the SDK's
//! `HttpClient` trait.

use std::error::Error;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use wristband_dynamodb_lite::tls;

type BoxError = Box<dyn Error + Send + Sync>;

/// An SDK `HttpClient` verifying servers against `roots`. One connection pool per
/// distinct (connect, read) timeout pair the SDK asks for; wristband asks for one.
/// (The roots, and the TLS configuration, are loaded when the first pool is made: on the
/// first request, not at start.)
pub fn client(roots: Roots) -> SharedHttpClient {
    SharedHttpClient::new(Https {
        roots,
        tls: OnceLock::new(),
        pools: Mutex::default(),
    })
}

pub use tls::Roots;

struct Https {
    roots: Roots,
    tls: OnceLock<rustls::ClientConfig>,
    pools: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl fmt::Debug for Https {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Https").finish_non_exhaustive()
    }
}

impl HttpClient for Https {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, pool)) = pools.iter().find(|(k, _)| *k == key) {
            return pool.clone();
        }
        let tls = self.tls.get_or_init(|| tls::tls_config(self.roots.load()));
        let pool = SharedHttpConnector::new(Connector::new(tls.clone(), key));
        pools.push((key, pool.clone()));
        pool
    }
}

struct Connector {
    pool: tls::Pool<SdkBody>,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl Connector {
    fn new(tls: rustls::ClientConfig, (connect_timeout, read_timeout): Timeouts) -> Self {
        Self {
            pool: tls::pool(tls, connect_timeout),
            read_timeout,
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err.into()))),
        };
        let response = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                // Until the response head: DynamoDB's bodies are small, and the SDK's
                // attempt timeout bounds the rest.
                Some(limit) => match tokio::time::timeout(limit, response).await {
                    Ok(response) => response,
                    Err(elapsed) => return Err(ConnectorError::timeout(elapsed.into())),
                },
                None => response.await,
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|err| ConnectorError::other(err.into(), None)),
                Err(err) => Err(classify(err)),
            }
        })
    }
}

/// Which failures the SDK may retry: connection-level ones are I/O (retried), a request
/// the server never fully answered is transient, anything else is not.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let hyper_error = find::<hyper::Error>(&err);
    let io = err.is_connect() || find::<std::io::Error>(&err).is_some();
    if let Some(h) = hyper_error {
        if h.is_timeout() {
            return ConnectorError::timeout(err.into());
        }
        if h.is_user() {
            return ConnectorError::user(err.into());
        }
        if h.is_incomplete_message() {
            return ConnectorError::other(err.into(), Some(ErrorKind::TransientError));
        }
        if h.is_closed() || h.is_canceled() {
            return ConnectorError::io(err.into());
        }
    }
    if io {
        return ConnectorError::io(err.into());
    }
    ConnectorError::other(BoxError::from(err), None)
}

fn find<'a, E: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

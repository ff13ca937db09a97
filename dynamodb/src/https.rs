//! The SDK's HTTP client: HTTP/1.1 over rustls (ring), nothing else.
//!
//! `aws-smithy-http-client` (the SDK's own) always links HTTP/2 (`h2`), proxy support and
//! its connection-metadata machinery: ~300 KiB of code in every function, for a service
//! that speaks HTTP/1.1 to one endpoint. This is the same hyper-util pool and rustls with
//! ring and the platform's roots, behind the SDK's `HttpClient` trait. Plain `http://`
//! stays allowed for DynamoDB Local; the default endpoints are `https://`.

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex};
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
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

type BoxError = Box<dyn Error + Send + Sync>;
type Pool = Client<HttpsConnector<TcpConnector>, SdkBody>;

/// The roots a connection to AWS is verified against: the platform's store (what the
/// SDK's client loads too), read once when the client is built.
pub fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// An SDK `HttpClient` verifying servers against `roots`. One connection pool per
/// distinct (connect, read) timeout pair the SDK asks for; wristband asks for one.
pub fn client(roots: rustls::RootCertStore) -> SharedHttpClient {
    SharedHttpClient::new(Https {
        tls: tls_config(roots),
        pools: Mutex::default(),
    })
}

/// TLS 1.2 and 1.3 with ring, the cipher suites the SDK's own client allows.
fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    use rustls::CipherSuite::*;
    let base = rustls::crypto::ring::default_provider();
    let allowed = [
        TLS13_AES_256_GCM_SHA384,
        TLS13_AES_128_GCM_SHA256,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: base
            .cipher_suites
            .iter()
            .filter(|s| allowed.contains(&s.suite()))
            .copied()
            .collect(),
        ..base
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

struct Https {
    tls: rustls::ClientConfig,
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
        let pool = SharedHttpConnector::new(Connector::new(self.tls.clone(), key));
        pools.push((key, pool.clone()));
        pool
    }
}

struct Connector {
    pool: Pool,
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
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            // The pool's idle timer needs a timer to run at all.
            .pool_timer(TokioTimer::new())
            .build(https);
        Self { pool, read_timeout }
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

//! HTTPS to DynamoDB: HTTP/1.1 on hyper-util's connection pool, rustls with ring, the
//! platform's roots. The SDK stores (through their `HttpClient` adapter) and the
//! verifiers' revocation check both connect this way. Plain `http://` stays allowed for
//! DynamoDB Local; the default endpoints are `https://`.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// A pooled HTTP/1.1 client over TLS (or plain HTTP), sending bodies of type `B`.
pub type Pool<B> = Client<HttpsConnector<HttpConnector>, B>;

/// What a server's certificate must chain to.
#[derive(Clone, Debug)]
pub enum Roots {
    /// The platform's store (what the SDK's own client uses), read from disk when the
    /// first connection is made, not at start: it takes 3-4 ms here warm and up to 40 ms
    /// on a cold page cache, and a cold start that needs no DynamoDB (a request without a
    /// token) should not pay for it.
    Platform,
    /// These and no others (tests).
    Only(rustls::RootCertStore),
}

impl Roots {
    pub fn load(&self) -> rustls::RootCertStore {
        match self {
            Roots::Platform => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                roots
            }
            Roots::Only(roots) => roots.clone(),
        }
    }
}

/// TLS 1.2 and 1.3 with ring, the cipher suites the SDK's own client allows.
pub fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
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

/// A connection pool: TCP with no Nagle delay and `connect_timeout`, then TLS for
/// `https://` URIs.
pub fn pool<B>(tls: rustls::ClientConfig, connect_timeout: Option<Duration>) -> Pool<B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        // The pool's idle timer needs a timer to run at all.
        .pool_timer(TokioTimer::new())
        .build(https)
}

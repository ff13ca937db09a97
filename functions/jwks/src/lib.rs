//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`: the public
//! keys tokens are verified with, and enough discovery for API Gateway's built-in JWT
//! authorizer. Both are `404 not_found` under HS256, whose key is a shared secret.

use serde_json::{json, Value};
use wristband_core::config::JwtAlgorithm;
use wristband_core::{Config, ConfigError};
use wristband_http::request::header_text;
use wristband_http::{api, header, ApiError, HeaderValue, Reply, Request, Route};

/// How long clients may cache the documents when `JWKS_MAX_AGE_SECONDS` is not set. A
/// new key must be published (in `JWT_PUBLIC_KEYS`) at least this long before it signs.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 300;

/// The documents, built once at start: nothing per request but the discovery URL when
/// the issuer is not itself a URL.
pub struct Documents {
    /// `None` under HS256: nothing to publish.
    jwks: Option<Value>,
    issuer: String,
    algorithms: Vec<&'static str>,
    cache_control: HeaderValue,
}

impl Documents {
    /// The verification keys' public halves: the verifier's own view, so what is published
    /// is exactly what wristband accepts.
    pub fn from_config(config: &Config, max_age_seconds: u64) -> Result<Self, ConfigError> {
        let cache_control = HeaderValue::try_from(format!("public, max-age={max_age_seconds}"))
            .expect("a number makes a valid header value");
        let (jwks, algorithms) = if config.jwt_algorithm == JwtAlgorithm::Hs256 {
            (None, Vec::new())
        } else {
            let keys = config.verification_keys()?;
            let algorithms = keys
                .algorithms()
                .into_iter()
                .map(wristband_keys::alg_name)
                .collect();
            (Some(json!({ "keys": keys.public_jwks() })), algorithms)
        };
        Ok(Self {
            jwks,
            issuer: config.jwt_issuer.clone(),
            algorithms,
            cache_control,
        })
    }

    pub async fn handle(&self, route: &Route, req: Request) -> Result<Reply, ApiError> {
        let Some(jwks) = &self.jwks else {
            return Err(ApiError::NotFound(
                "No public keys: tokens are signed with HS256",
            ));
        };
        let body = if *route == api::JWKS {
            jwks.clone()
        } else {
            self.discovery(&req)
        };
        Ok(Reply::ok(body)?.with_header(header::CACHE_CONTROL, self.cache_control.clone()))
    }

    /// OpenID Connect discovery, the part a JWT verifier reads: `issuer` (which must equal
    /// the tokens' `iss`) and `jwks_uri`.
    fn discovery(&self, req: &Request) -> Value {
        let base = if self.issuer.starts_with("https://") || self.issuer.starts_with("http://") {
            self.issuer.trim_end_matches('/').to_owned()
        } else {
            // API Gateway sets X-Forwarded-Proto; a local run is plain http.
            let proto = header_text(req, "x-forwarded-proto").unwrap_or("http");
            let host = header_text(req, "host").unwrap_or("localhost");
            format!("{proto}://{host}")
        };
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": self.algorithms,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["iss", "aud", "sub", "jti", "iat", "nbf", "exp", "type", "fresh", "sid", "roles"],
        })
    }
}

/// `JWKS_MAX_AGE_SECONDS`, else [`DEFAULT_MAX_AGE_SECONDS`].
pub fn max_age_from_env() -> Result<u64, ConfigError> {
    match std::env::var("JWKS_MAX_AGE_SECONDS") {
        Err(_) => Ok(DEFAULT_MAX_AGE_SECONDS),
        Ok(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "JWKS_MAX_AGE_SECONDS",
            expected: "a whole number of seconds",
            value: v,
        }),
    }
}

//! From a request to a response: route and method check, CORS, the call, and the one
//! mapping of results and errors to status, headers and JSON.

use std::future::Future;

use lambda_http::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, AuditContext, Event};
use crate::error::{ApiError, ErrorResponse};
use crate::request::{self, check_body_size};
use crate::routes::{self, Matched, Route};

/// A successful answer: status, JSON body (`None` for 204) and extra headers (they
/// replace the defaults, e.g. a `Cache-Control` other than `no-store`).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// Extra headers; `Set-Cookie` may repeat (cookie mode: `/login`, `/refresh`,
    /// `/logout`), every other name replaces the default.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// 200 with `body` serialised to JSON.
    pub fn ok(body: impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::OK, body)
    }

    /// `status` with `body` serialised to JSON.
    pub fn with_status(status: StatusCode, body: impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            status,
            body: Some(serde_json::to_value(body).map_err(ApiError::internal)?),
            headers: Vec::new(),
        })
    }

    /// The same reply with one more header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Also sets these cookies.
    pub fn with_cookies(mut self, cookies: Vec<HeaderValue>) -> Self {
        self.headers
            .extend(cookies.into_iter().map(|c| (header::SET_COOKIE, c)));
        self
    }

    /// 204, no body.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// Which browser origins may call (`CORS_ALLOW_ORIGINS`): exact matches, never `*`.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    allow_origins: Vec<String>,
}

impl Cors {
    pub fn new(allow_origins: Vec<String>) -> Self {
        Self { allow_origins }
    }

    /// `CORS_ALLOW_ORIGINS` from the environment.
    pub fn from_env() -> Self {
        Self::new(wristband_core::config::cors_allow_origins_from_lookup(
            |name| std::env::var(name).ok(),
        ))
    }

    fn allowed_origin(&self, req: &Request) -> Option<HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.allow_origins
            .iter()
            .any(|allowed| allowed == text)
            .then(|| origin.clone())
    }
}

/// Answers one request for a function that serves `routes`; any other path is 404.
/// Never fails: every error becomes its contract response. The 16 KiB body rule holds
/// here, before any endpoint runs, for every endpoint (also those that read no body).
/// Every audit line the endpoint records carries this request's ids and source address.
pub async fn respond<F, Fut>(
    routes: &'static [Route],
    cors: &Cors,
    req: Request,
    call: F,
) -> Response<Body>
where
    F: FnOnce(&'static Route, Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let origin = cors.allowed_origin(&req);
    let method = req.method().clone();
    let context = AuditContext {
        request_id: request::request_id(&req),
        aws_request_id: lambda_http::RequestExt::lambda_context_ref(&req)
            .map(|c| c.request_id.clone()),
        source_ip: request::source_ip(&req),
    };
    let result = match routes::match_route(routes, &req) {
        Err(err) => Err(err),
        Ok(matched) => match check_body_size(req.body().as_ref()) {
            Err(err) => Err(err),
            // CORS preflight (API Gateway answers these itself in AWS; for local runs).
            Ok(()) => match matched {
                Matched::OtherMethod(allow) if method == Method::OPTIONS => {
                    return preflight(&allow, origin)
                }
                Matched::OtherMethod(allow) => Err(ApiError::MethodNotAllowed { allow }),
                Matched::Route(route) => audit::scope(context.clone(), call(route, req)).await,
            },
        },
    };
    let mut response = match result {
        Ok(reply) => {
            let mut response = json_response(reply.status, reply.body.as_ref());
            for (name, value) in reply.headers {
                if name == header::SET_COOKIE {
                    response.headers_mut().append(name, value);
                } else {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Err(err) => {
            err.log();
            audit_refused_token(&err, &context);
            error_response(&err)
        }
    };
    tracing::info!(
        method = %method,
        status = response.status().as_u16(),
        "request handled"
    );
    add_cors(&mut response, origin);
    response
}

/// A presented token that did not open the route: `token_refused` with the reason.
/// (A request without any token is not an event.)
pub fn audit_refused_token(err: &ApiError, context: &AuditContext) {
    let message = match err {
        ApiError::InvalidToken(why) => *why,
        ApiError::TokenExpired
        | ApiError::TokenRevoked
        | ApiError::FreshTokenRequired
        | ApiError::InsufficientRole => "",
        _ => return,
    };
    let mut record = audit::record(Event::TokenRefused).reason(err.code());
    if !message.is_empty() {
        record = record.detail("message", message);
    }
    record.emit_in(context);
}

fn json_response(status: StatusCode, body: Option<&Value>) -> Response<Body> {
    let mut response = Response::new(match body {
        Some(body) => Body::Text(body.to_string()),
        None => Body::Empty,
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if body.is_some() {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    // Tokens and claims must not sit in caches (RFC 6749 §5.1).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The one place an error becomes a response.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let mut response = json_response(err.status(), Some(&err.body()));
    for (name, value) in err.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

fn add_cors(response: &mut Response<Body>, origin: Option<HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        // The exact origin, never `*`: with credentials (cookie mode), browsers refuse `*`.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, Retry-After"),
        );
    }
}

fn preflight(allow: &str, origin: Option<HeaderValue>) -> Response<Body> {
    let mut response = json_response(StatusCode::NO_CONTENT, None);
    let headers = response.headers_mut();
    // Route methods are tokens the caller wrote in code; one that is no header value
    // leaves the header out rather than failing the preflight.
    let allow = HeaderValue::from_str(allow).ok();
    if let Some(allow) = &allow {
        headers.insert(header::ALLOW, allow.clone());
    }
    if let (Some(_), Some(allow)) = (&origin, allow) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, x-csrf-token"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    add_cors(&mut response, origin);
    response
}

//! From a Lambda HTTP request to a Lambda HTTP response: method check, CORS, dispatch to
//! the endpoint, and the one mapping of results and errors to status, headers and JSON.

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::app::{App, Reply};
use crate::error::ApiError;

/// The endpoints, one per Lambda function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Login,
    Refresh,
    Protected,
    Logout,
    LogoutAll,
    /// `GET /sessions` and `DELETE /sessions/{sid}`.
    Sessions,
    Password,
    /// Every path no other function serves (API Gateway's `$default` route).
    NotFound,
}

impl Endpoint {
    /// The methods this endpoint answers on this path (the `Allow` header).
    fn allow(self, req: &Request) -> &'static str {
        match self {
            Endpoint::Register
            | Endpoint::Login
            | Endpoint::Refresh
            | Endpoint::LogoutAll
            | Endpoint::Password => "POST",
            Endpoint::Protected => "GET",
            Endpoint::Logout => "DELETE, POST",
            Endpoint::Sessions if App::session_id_of(req).is_some() => "DELETE",
            Endpoint::Sessions => "GET",
            Endpoint::NotFound => "",
        }
    }

    async fn call(self, app: &App, req: &Request) -> Result<Reply, ApiError> {
        match self {
            Endpoint::Register => app.register(req).await,
            Endpoint::Login => app.login(req).await,
            Endpoint::Refresh => app.refresh(req).await,
            Endpoint::Protected => app.protected(req).await,
            Endpoint::Logout => app.logout(req).await,
            Endpoint::LogoutAll => app.logout_all(req).await,
            Endpoint::Sessions => match App::session_id_of(req) {
                Some(sid) => app.end_session(req, &sid).await,
                None => app.list_sessions(req).await,
            },
            Endpoint::Password => app.change_password(req).await,
            Endpoint::NotFound => Err(ApiError::NotFound("No such path")),
        }
    }
}

/// Answers one request. Never fails: every error becomes its contract response.
pub async fn handle(app: &App, endpoint: Endpoint, req: Request) -> Response<Body> {
    let allow = endpoint.allow(&req);
    let origin = allowed_origin(app, &req);
    let method = req.method();

    let result = if endpoint == Endpoint::NotFound {
        Err(ApiError::NotFound("No such path"))
    } else if method == Method::OPTIONS {
        // CORS preflight (API Gateway answers these itself in AWS; this is for local runs).
        return preflight(allow, origin);
    } else if !allow.split(", ").any(|m| m == method.as_str()) {
        Err(ApiError::MethodNotAllowed { allow })
    } else {
        endpoint.call(app, &req).await
    };

    let mut response = match result {
        Ok(reply) => reply_response(reply),
        Err(err) => {
            err.log();
            error_response(&err)
        }
    };
    tracing::info!(
        method = %req.method(),
        status = response.status().as_u16(),
        "request handled"
    );
    add_cors(&mut response, origin);
    response
}

fn json_response(status: StatusCode, body: Option<&serde_json::Value>) -> Response<Body> {
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

fn reply_response(reply: Reply) -> Response<Body> {
    json_response(reply.status, reply.body.as_ref())
}

/// The one place an error becomes a response.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let mut response = json_response(err.status(), Some(&err.body()));
    for (name, value) in err.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

fn allowed_origin(app: &App, req: &Request) -> Option<HeaderValue> {
    let origin = req.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    app.config
        .cors_allow_origins
        .iter()
        .any(|allowed| allowed == text)
        .then(|| origin.clone())
}

fn add_cors(response: &mut Response<Body>, origin: Option<HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        // The exact origin, never `*`, and no credentials: bearer tokens need no cookies.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, Retry-After"),
        );
    }
}

fn preflight(allow: &'static str, origin: Option<HeaderValue>) -> Response<Body> {
    let mut response = json_response(StatusCode::NO_CONTENT, None);
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    if origin.is_some() {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(allow),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    add_cors(&mut response, origin);
    response
}

//! An API Gateway HTTP API Lambda authorizer (REQUEST type, payload format 2.0, simple
//! responses) on the same [`Authenticator`] as every endpoint: routes in any language
//! behind the same API get wristband's verification and revocation check.
//!
//! The event becomes a request (method, headers, the `cookies` array as one `Cookie`
//! header, as `serve` does) and its credentials are read by the same code as the
//! endpoints' and the guard's ([`credentials`]): the Bearer header, or with
//! `TOKEN_LOCATION` including `cookies` the access cookie, with the CSRF rule for
//! cookie-authenticated `POST`/`PUT`/`PATCH`/`DELETE`. Here the two sources must agree:
//! a request with both a header and a cookie holding another token is denied.

use std::collections::HashMap;

use lambda_http::http::{header, HeaderName, HeaderValue, Method};
use lambda_http::{Body, LambdaEvent, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wristband_core::{Authenticator, Claims, Requirements};

use crate::audit::AuditContext;
use crate::credentials;
use crate::error::ApiError;
use crate::request::cookie_header;
use crate::response::audit_refused_token;

/// The part of the authorizer event we read. Anything of another shape denies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizerEvent {
    #[serde(default)]
    headers: HashMap<String, String>,
    /// Payload 2.0 carries the request's cookies apart from the headers.
    #[serde(default)]
    cookies: Option<Vec<String>>,
    #[serde(default)]
    request_context: Option<MethodContext>,
}

#[derive(Debug, Default, Deserialize)]
struct MethodContext {
    #[serde(default)]
    http: Option<MethodOnly>,
}

#[derive(Debug, Default, Deserialize)]
struct MethodOnly {
    #[serde(default)]
    method: Option<String>,
}

impl AuthorizerEvent {
    /// The request the authorizer is asked about, as far as credentials go. A missing or
    /// unreadable method counts as `POST`: a cookie then needs its CSRF value (fail
    /// closed); a Bearer token is unaffected.
    fn into_request(self) -> Result<Request, ApiError> {
        let mut req = Request::new(Body::Empty);
        *req.method_mut() = self
            .request_context
            .and_then(|c| c.http)
            .and_then(|h| h.method)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::POST);
        let headers = req.headers_mut();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ApiError::invalid_request("A header name is not valid"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ApiError::invalid_request("A header value is not valid"))?;
            // Names that differ only in case become repeated values, which the
            // credential readers refuse (never "the first one wins").
            headers.append(name, value);
        }
        if let Some(cookie) = self.cookies.as_deref().and_then(cookie_header) {
            headers.insert(header::COOKIE, cookie);
        }
        Ok(req)
    }
}

/// The ids and address of the request being authorised, for the audit log; read apart
/// from the headers so that a malformed event still gets its denial recorded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventContext {
    #[serde(default)]
    request_context: Option<RequestContext>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    request_id: Option<String>,
    http: Option<HttpContext>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpContext {
    source_ip: Option<String>,
}

fn audit_context(event: &Value, aws_request_id: Option<String>) -> AuditContext {
    let context = EventContext::deserialize(event)
        .ok()
        .and_then(|e| e.request_context)
        .unwrap_or_default();
    AuditContext {
        request_id: context.request_id,
        aws_request_id,
        source_ip: context.http.and_then(|h| h.source_ip),
    }
}

/// `{"isAuthorized": bool, "context": {...}}`; no context when denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    pub is_authorized: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<AuthorizerContext>,
}

/// What the protected route's integration reads from `requestContext.authorizer.lambda`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizerContext {
    pub sub: String,
    pub sid: String,
    pub jti: String,
    /// Comma-separated (context values must be strings, numbers or booleans).
    pub roles: String,
    /// How the login was made (RFC 8176), comma-separated like `roles`: `pwd,otp,mfa`.
    pub amr: String,
    pub fresh: bool,
}

impl SimpleResponse {
    fn deny() -> Self {
        Self {
            is_authorized: false,
            context: None,
        }
    }

    fn allow(claims: Claims) -> Self {
        Self {
            is_authorized: true,
            context: Some(AuthorizerContext {
                fresh: claims.is_fresh(),
                roles: claims.roles.join(","),
                amr: claims.amr.join(","),
                sub: claims.sub,
                sid: claims.sid,
                jti: claims.jti,
            }),
        }
    }
}

/// Allows a usable access token meeting `requirements`; denies everything else: no or
/// several `Authorization` headers, malformed, forged, expired, revoked, refresh tokens,
/// and any token whose revocation could not be checked (fail closed).
pub async fn authorize(
    authenticator: &Authenticator,
    requirements: &Requirements,
    event: Value,
) -> SimpleResponse {
    authorize_invocation(authenticator, requirements, event, None).await
}

/// [`authorize`] with the Lambda invocation's request id for the audit log.
pub async fn authorize_invocation(
    authenticator: &Authenticator,
    requirements: &Requirements,
    event: Value,
    aws_request_id: Option<String>,
) -> SimpleResponse {
    let context = audit_context(&event, aws_request_id);
    match check(authenticator, requirements, event).await {
        Ok(claims) => SimpleResponse::allow(claims),
        Err(err) => {
            err.log();
            tracing::info!(reason = err.code(), "authorizer denied");
            audit_refused_token(&err, &context);
            SimpleResponse::deny()
        }
    }
}

async fn check(
    authenticator: &Authenticator,
    requirements: &Requirements,
    event: Value,
) -> Result<Claims, ApiError> {
    let event: AuthorizerEvent = serde_json::from_value(event)
        .map_err(|_| ApiError::invalid_request("Not an HTTP API authorizer event"))?;
    let req = event.into_request()?;
    let (claims, _) = credentials::require_agreeing(authenticator, &req, requirements).await?;
    Ok(claims)
}

/// Serves authorizer events until the Lambda runtime stops the process.
pub async fn serve(
    authenticator: std::sync::Arc<Authenticator>,
    requirements: Requirements,
) -> Result<(), lambda_http::Error> {
    let state: &'static (std::sync::Arc<Authenticator>, Requirements) =
        Box::leak(Box::new((authenticator, requirements)));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: LambdaEvent<Value>| async move {
            let (authenticator, requirements) = state;
            let aws_request_id = Some(event.context.request_id.clone());
            Ok::<_, std::convert::Infallible>(
                authorize_invocation(authenticator, requirements, event.payload, aws_request_id)
                    .await,
            )
        },
    ))
    .await
}

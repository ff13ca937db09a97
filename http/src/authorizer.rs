//! An API Gateway HTTP API Lambda authorizer (REQUEST type, payload format 2.0, simple
//! responses) on the same [`Authenticator`] as every endpoint: routes in any language
//! behind the same API get wristband's verification and revocation check.

use std::collections::HashMap;

use lambda_http::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wristband_core::{Authenticator, Claims, Requirements};

use crate::error::ApiError;
use crate::request::parse_bearer;

/// The part of the authorizer event we read. Anything missing or of another shape denies.
#[derive(Debug, Default, Deserialize)]
struct AuthorizerEvent {
    #[serde(default)]
    headers: HashMap<String, String>,
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
    match check(authenticator, requirements, event).await {
        Ok(claims) => SimpleResponse::allow(claims),
        Err(err) => {
            err.log();
            tracing::info!(reason = err.code(), "authorizer denied");
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
    let mut values = event
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.as_str());
    let value = values.next();
    if values.next().is_some() {
        return Err(ApiError::invalid_request(
            "More than one Authorization header",
        ));
    }
    let token = match value {
        Some(value) => parse_bearer(value)?,
        None => None,
    };
    Ok(authenticator.require(token, requirements).await?)
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
            Ok::<_, std::convert::Infallible>(
                authorize(authenticator, requirements, event.payload).await,
            )
        },
    ))
    .await
}

//! Serving on Lambda: the runtime loop and API Gateway's payload 2.0 shapes.

use std::future::Future;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::header;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, LambdaEvent, Request, RequestExt, Response};

use crate::error::ApiError;
use crate::response::{respond, Cors, Reply};
use crate::routes::Endpoint;

pub use lambda_http::Error;

/// Serves the routes of `endpoints` until the Lambda runtime stops the process: every
/// invocation goes through [`respond`] (route, method, CORS, error mapping) to `handler`,
/// which borrows `state` (built once, in `main`: configuration, keys, clients).
pub async fn serve<S, H, Fut>(
    endpoints: &'static [Endpoint],
    cors: Cors,
    state: S,
    handler: H,
) -> Result<(), Error>
where
    S: 'static,
    H: Fn(&'static S, Endpoint, Request) -> Fut + 'static,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    // Lives as long as the process; every invocation borrows it.
    let shared: &'static (Cors, S, H) = Box::leak(Box::new((cors, state, handler)));
    // lambda_runtime directly rather than lambda_http::run, which re-decodes every text
    // body by charset through encoding_rs (~150 KB per binary); our bodies are UTF-8 JSON.
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: LambdaEvent<LambdaRequest>| async move {
            let req = Request::from(event.payload).with_lambda_context(event.context);
            let (cors, state, handler) = shared;
            let response = respond(endpoints, cors, req, |endpoint, req| {
                handler(state, endpoint, req)
            })
            .await;
            Ok::<_, std::convert::Infallible>(api_gateway_response(response))
        },
    ))
    .await
}

/// Logs the reason and gives the error back, for `main`: a function that cannot be
/// configured refuses to start.
pub fn refuse_to_start<E: std::fmt::Display>(err: E) -> E {
    tracing::error!(error = %err, "refusing to start: bad configuration");
    err
}

/// An HTTP response in API Gateway's HTTP API (payload 2.0) shape.
pub fn api_gateway_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.is_base64_encoded = matches!(body, Body::Binary(_));
    out.body = (!matches!(body, Body::Empty)).then_some(body);
    let mut headers = parts.headers;
    // Payload 2.0 carries cookies beside the headers.
    out.cookies = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    headers.remove(header::SET_COOKIE);
    out.headers = headers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::error_response;

    #[test]
    fn error_responses_keep_status_headers_and_json_body() {
        let out = api_gateway_response(error_response(&ApiError::TokenRevoked));
        assert_eq!(out.status_code, 401);
        assert!(!out.is_base64_encoded);
        assert_eq!(
            out.headers[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        let Some(Body::Text(body)) = out.body else {
            panic!("a text body")
        };
        assert!(body.contains("token_revoked"));
        assert!(out.cookies.is_empty());
    }
}

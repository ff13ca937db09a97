//! Serving on Lambda: the runtime loop and API Gateway's payload 2.0 shapes.

use std::future::Future;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::header;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, LambdaEvent, Request, RequestExt, Response};

use crate::error::ApiError;
use crate::response::{error_response, respond, Cors, Reply};
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
            if conversion_would_panic(&event.payload) {
                let err = ApiError::invalid_request(
                    "The request's Host, X-Forwarded-Proto, path and query must form a \
                     valid URL, and a base64 body must be valid base64",
                );
                return Ok(api_gateway_response(error_response(&err)));
            }
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

/// Whether lambda_http's conversion of `event` into a `Request` would panic, which under
/// `panic = "abort"` kills the process. It unwraps three things a client can shape:
/// `Url::parse` of the `Host` (else the API's domain) and `X-Forwarded-Proto` headers with
/// the path (and the stage, unless `$default`), `http::Uri` of that URL with the raw query
/// appended, and the base64 decoding of a body marked base64. API Gateway sets both
/// headers itself and encodes bodies correctly; `cargo lambda watch` passes the client's
/// headers, and a hand-written event can hold anything. `serve` answers 400 instead.
pub fn conversion_would_panic(event: &LambdaRequest) -> bool {
    #[allow(irrefutable_let_patterns)] // only the HTTP API payload is compiled in
    let LambdaRequest::ApiGatewayV2(event) = event
    else {
        return false;
    };
    if event.is_base64_encoded {
        use base64::Engine as _;
        let body = event.body.as_deref().unwrap_or_default();
        if base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_err()
        {
            return true;
        }
    }
    // The path as lambda_http's `apigw_path_with_stage` makes it.
    let raw_path = event.raw_path.as_deref().unwrap_or_default();
    let path = match event.request_context.stage.as_deref() {
        Some(stage)
            if stage != "$default"
                && !raw_path.starts_with(&format!("/{stage}/"))
                && std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() =>
        {
            format!("/{stage}{raw_path}")
        }
        _ => raw_path.to_owned(),
    };
    // And the URI as its `build_request_uri` makes it.
    let header = |name: &str| event.headers.get(name).and_then(|v| v.to_str().ok());
    let mut uri = match header("host").or(event.request_context.domain_name.as_deref()) {
        Some(host) => {
            let scheme = header("x-forwarded-proto").unwrap_or("https");
            match url::Url::parse(&format!("{scheme}://{host}{path}")) {
                Ok(url) => url.to_string(),
                Err(_) => return true,
            }
        }
        None => match url::Url::parse(&format!("http://localhost{path}")) {
            Ok(url) => url.path().to_owned(),
            Err(_) => return true,
        },
    };
    if let Some(query) = event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    lambda_http::http::Uri::try_from(uri).is_err()
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

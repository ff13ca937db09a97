//! Serving on Lambda: the runtime loop and API Gateway's payload 2.0 shapes.

use std::future::Future;
use std::pin::Pin;

use base64::Engine as _;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{header, Uri};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, LambdaEvent, Request, RequestExt, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::ApiError;
use crate::request::cookie_header;
use crate::response::{error_response, respond, Cors, Reply};
use crate::routes::Route;

pub use lambda_http::Error;

/// What [`serve`] calls for each request on one of its routes.
pub type Handler = Box<dyn Fn(&'static Route, Request) -> HandlerFuture>;
/// The future of a [`Handler`].
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Reply, ApiError>>>>;

/// Serves `routes` until the Lambda runtime stops the process: every invocation goes
/// through [`respond`] (route, method, CORS, the 16 KiB rule, audit context, the error
/// mapping) to `handler`, which borrows `state` (built once, in `main`: configuration,
/// keys, clients) and gets the route the request matched.
///
/// ```no_run
/// use wristband_http::{serve, Cors, Reply, Route};
/// const ROUTES: &[Route] = &[Route::get("/hello")];
/// # async fn f() -> Result<(), wristband_http::Error> {
/// serve(ROUTES, Cors::from_env(), (), |_, _route, _req| async {
///     Reply::ok(serde_json::json!({ "hello": "world" }))
/// })
/// .await
/// # }
/// ```
pub async fn serve<S, H, Fut>(
    routes: &'static [Route],
    cors: Cors,
    state: S,
    handler: H,
) -> Result<(), Error>
where
    S: 'static,
    H: Fn(&'static S, &'static Route, Request) -> Fut + 'static,
    Fut: Future<Output = Result<Reply, ApiError>> + 'static,
{
    // Lives as long as the process; every invocation borrows it.
    let state: &'static S = Box::leak(Box::new(state));
    serve_handler(
        routes,
        cors,
        Box::new(move |route, req| Box::pin(handler(state, route, req))),
    )
    .await
}

/// [`serve`] with the handler boxed: not generic, so the runtime loop, the event
/// conversion and the response mapping are compiled once, here, whatever the caller.
/// (The argon2id functions are linked at opt-level 2 while this crate is built for size:
/// what is monomorphised in their own crate would be compiled at 2 as well.)
pub async fn serve_handler(
    routes: &'static [Route],
    cors: Cors,
    handler: Handler,
) -> Result<(), Error> {
    let shared: &'static (Cors, Handler) = Box::leak(Box::new((cors, handler)));
    // lambda_runtime directly rather than lambda_http::run, which re-decodes every text
    // body by charset through encoding_rs (~150 KB per binary); our bodies are UTF-8 JSON.
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let response = match http_request(event.payload, event.context) {
                Ok(req) => {
                    let (cors, handler) = shared;
                    respond(routes, cors, req, handler).await
                }
                Err(err) => error_response(&err),
            };
            Ok::<_, std::convert::Infallible>(api_gateway_response(response))
        },
    ))
    .await
}

/// A function's `main`: logging as configured (`RUST_LOG`, `AWS_LAMBDA_LOG_FORMAT`), then
/// `main` on a single-threaded runtime (one request at a time per Lambda process).
pub fn run<F: Future<Output = Result<(), Error>>>(main: F) -> Result<(), Error> {
    crate::logging::init();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(main)
}

/// Bytes a URI path cannot hold as they are (the WHATWG URL path set: controls, space,
/// `"#<>?` and backquote, braces, and everything beyond ASCII), percent-encoded as a URL
/// parser would.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The `Request` for an HTTP API (payload 2.0) event, as lambda_http's own conversion
/// makes it (method, path with the stage unless `$default`, raw query, headers with the
/// cookies, body, path parameters, stage variables, request context, Lambda context) but
/// without what it unwraps: it parses `https://{Host}{path}` as a URL and panics when a
/// client's `Host` or `X-Forwarded-Proto` is no part of one (`Host: a b`), or when a body
/// marked base64 is not. Those are a 400 here. Only the path and query go into the URI
/// (nothing reads the scheme or host from it), so the URL parser and its IDNA tables are
/// not linked at all.
pub fn http_request(event: ApiGatewayV2httpRequest, context: Context) -> Result<Request, ApiError> {
    let raw_path = event.raw_path.unwrap_or_default();
    let path = match event.request_context.stage.as_deref() {
        Some(stage)
            if stage != "$default"
                && !raw_path.starts_with(&format!("/{stage}/"))
                && std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() =>
        {
            format!("/{stage}{raw_path}")
        }
        _ => raw_path.clone(),
    };
    let mut uri = utf8_percent_encode(&path, PATH).to_string();
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    let query_string_parameters = match event.raw_query_string.as_deref() {
        Some(query) => {
            if !query.is_empty() {
                uri.push('?');
                uri.push_str(query);
            }
            query.parse::<QueryMap>().unwrap_or_default()
        }
        None => event.query_string_parameters,
    };
    let uri = Uri::try_from(uri)
        .map_err(|_| ApiError::invalid_request("The request's path or query is not valid"))?;
    let body = match event.body {
        None => Body::Empty,
        Some(body) if event.is_base64_encoded => Body::from(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| ApiError::invalid_request("The request body is not valid base64"))?,
        ),
        Some(body) => Body::from(body),
    };
    let mut headers = event.headers;
    if let Some(cookie) = event.cookies.as_deref().and_then(cookie_header) {
        headers.insert(header::COOKIE, cookie);
    }
    let mut req = Request::new(body);
    *req.method_mut() = event.request_context.http.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok(req
        .with_raw_http_path(raw_path)
        .with_query_string_parameters(query_string_parameters)
        .with_path_parameters(QueryMap::from(event.path_parameters))
        .with_stage_variables(QueryMap::from(event.stage_variables))
        .with_request_context(RequestContext::ApiGatewayV2(event.request_context))
        .with_lambda_context(context))
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

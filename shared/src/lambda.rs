//! The `main` of every function: initialise once, then serve events.

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::http::header;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, LambdaEvent, Request, RequestExt, Response};

use crate::app::App;
use crate::http::{handle, Endpoint};

/// Builds configuration, keys and the DynamoDB client once, then serves `endpoint` until
/// the Lambda runtime stops the process. Refuses to start on bad configuration.
pub async fn serve(endpoint: Endpoint) -> Result<(), lambda_http::Error> {
    crate::logging::init();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "refusing to start: bad configuration");
            return Err(err.into());
        }
    };
    if endpoint == Endpoint::Login {
        // Unknown-user logins verify against the dummy hash: make it before the first one.
        app.passwords.warm_up().await?;
    }
    // Lives as long as the process; every invocation borrows it.
    let app: &'static App = Box::leak(Box::new(app));
    // lambda_runtime directly rather than lambda_http::run, which re-decodes every text
    // body by charset through encoding_rs (~150 KB per binary); our bodies are UTF-8 JSON.
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: LambdaEvent<LambdaRequest>| async move {
            let req = Request::from(event.payload).with_lambda_context(event.context);
            let response = handle(app, endpoint, req).await;
            Ok::<_, std::convert::Infallible>(api_gateway_response(response))
        },
    ))
    .await
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
    use crate::error::ApiError;
    use crate::http::error_response;

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

//! The `main` of every function: initialise once, then serve events.

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
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handle(app, endpoint, req).await)
    }))
    .await
}

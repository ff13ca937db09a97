//! The `refresh` Lambda function: `wristband_services::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = wristband_services::App::init(wristband_services::Keys::ISSUE_AND_VERIFY)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Refresh], cors, app, |app, _, req| {
        wristband_services::endpoints::refresh(app, req)
    })
    .await
}

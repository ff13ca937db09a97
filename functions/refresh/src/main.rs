//! The `refresh` Lambda function: `shared::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = shared::App::init(shared::Keys::ISSUE_AND_VERIFY)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Refresh], cors, app, |app, _, req| {
        shared::endpoints::refresh(app, req)
    })
    .await
}

//! The `logout` Lambda function: `wristband_services::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = wristband_services::App::init(wristband_services::Keys::VERIFY)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Logout], cors, app, |app, _, req| {
        wristband_services::endpoints::logout(app, req)
    })
    .await
}

//! The `logout` Lambda function: `shared::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = shared::App::init(shared::Keys::VERIFY)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Logout], cors, app, |app, _, req| {
        shared::endpoints::logout(app, req)
    })
    .await
}

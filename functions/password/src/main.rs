//! The `password` Lambda function: `shared::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = shared::App::init(shared::Keys::VERIFY)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Password], cors, app, |app, _, req| {
        shared::endpoints::change_password(app, req)
    })
    .await
}

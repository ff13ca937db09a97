//! The `login` Lambda function: `shared::services` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = shared::App::init(shared::Keys::ISSUE)?;
    let cors = app.cors.clone();
    wristband_http::serve(&[Endpoint::Login], cors, app, |app, _, req| {
        shared::endpoints::login(app, req)
    })
    .await
}

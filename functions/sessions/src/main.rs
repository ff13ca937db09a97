//! The `sessions` Lambda function (`GET /sessions`, `DELETE /sessions/{sid}`):
//! `shared::services::sessions` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = shared::App::init(shared::Keys::VERIFY)?;
    let cors = app.cors.clone();
    let endpoints = &[Endpoint::ListSessions, Endpoint::EndSession];
    wristband_http::serve(endpoints, cors, app, |app, endpoint, req| {
        shared::endpoints::sessions(app, endpoint, req)
    })
    .await
}

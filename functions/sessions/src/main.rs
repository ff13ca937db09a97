//! The `sessions` Lambda function (`GET /sessions`, `DELETE /sessions/{sid}`):
//! `wristband_services::services::sessions` has what it does.

use wristband_http::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wristband_http::Error> {
    let app = wristband_services::App::init(wristband_services::Keys::VERIFY)?;
    let cors = app.cors.clone();
    let endpoints = &[Endpoint::ListSessions, Endpoint::EndSession];
    wristband_http::serve(endpoints, cors, app, |app, endpoint, req| {
        wristband_services::endpoints::sessions(app, endpoint, req)
    })
    .await
}

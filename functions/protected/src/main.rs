//! The `protected` Lambda function: see `shared::app::App` for what it does.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve(shared::Endpoint::Protected).await
}

//! Answers every event with `200 {}` and does nothing else. `make bench` loads it through
//! `cargo lambda watch` to measure what the emulator itself adds to each request, so that
//! /protected can be compared with "DynamoDB floor + emulator overhead".

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        let mut response = Response::new(Body::from("{}"));
        response.headers_mut().insert(
            "content-type",
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        Ok::<_, Error>(response)
    }))
    .await
}

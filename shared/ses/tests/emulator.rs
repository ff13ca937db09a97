//! SesMailer against the SES emulator `make test` starts (aws-ses-v2-local, npm): a mail
//! sent through our own SendEmail is read back from the emulator's `GET /store` the way a
//! person (or an e2e test) reads the links.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::Value;
use wristband_core::ids::random_id;
use wristband_core::mail::{Mail, Mailer};
use wristband_dynamodb_lite::env::Credentials;
use wristband_dynamodb_lite::tls::{self, Roots};
use wristband_dynamodb_lite::Policy;
use wristband_ses::SesMailer;

const ENDPOINT_VAR: &str = "WRISTBAND_TEST_SES_ENDPOINT";

fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: run the tests with `make test`, which starts the SES \
             emulator, or start one (`bash scripts/ses-local.sh 8005`) and set \
             {ENDPOINT_VAR}=http://127.0.0.1:8005"
        )
    })
}

async fn store(endpoint: &str) -> Value {
    // Plain HTTP: the roots are never used.
    let pool = tls::pool::<Empty<Bytes>>(tls::tls_config(Roots::Platform.load()), None);
    let response = pool
        .get(format!("{endpoint}/store").parse().unwrap())
        .await
        .expect("GET /store");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).expect("the store is JSON")
}

#[tokio::test]
async fn a_sent_mail_is_listed_by_the_emulator() {
    let endpoint = endpoint();
    let mailer = SesMailer::new(
        "no-reply@wristband.test",
        &endpoint,
        "us-east-1".into(),
        Some(Credentials {
            access_key_id: "dummy".into(),
            secret_access_key: "dummy".into(),
            session_token: None,
            account_id: None,
        }),
        Roots::Platform,
        Policy::default(),
    )
    .unwrap();
    let run = random_id().unwrap().to_ascii_lowercase();
    let run: String = run.chars().filter(char::is_ascii_alphanumeric).collect();
    let to = format!("ses-test-{run}@example.com");
    let mail = Mail {
        to: to.clone(),
        subject: format!("Verify your address ({run}) \u{e9}"),
        text: format!("Open http://localhost:9001/verify-email#token={run}"),
        html: format!(
            "<p><a href=\"http://localhost:9001/verify-email#token={run}\">Verify \"{run}\"</a></p>"
        ),
    };
    mailer.send(&mail).await.expect("the emulator takes it");

    let store = store(&endpoint).await;
    let ours: Vec<&Value> = store["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["destination"]["to"] == serde_json::json!([to]))
        .collect();
    assert_eq!(ours.len(), 1, "{store}");
    let got = ours[0];
    assert_eq!(got["from"], "no-reply@wristband.test");
    assert_eq!(got["subject"], mail.subject.as_str());
    assert_eq!(got["body"]["text"], mail.text.as_str());
    assert_eq!(got["body"]["html"], mail.html.as_str());
}

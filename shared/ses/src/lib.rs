//! Amazon SES (API v2) `SendEmail` without the AWS SDK: the [`Mailer`] of the functions
//! that send mail.
//!
//! The SDK's sesv2 client would cost every such function's zip what the DynamoDB SDK did
//! (its orchestrator, endpoint rules, identity and retry machinery); one REST-JSON call
//! does not need it. This is `POST /v2/email/outbound-emails` with a JSON body, signed
//! for the service `ses` by dynamodb-lite's SigV4 signer, on its TLS pool and with its
//! failure [`Policy`] (1.5 s per attempt, 4 s in all, 3 attempts on outages and
//! throttling). The function's role gives the credentials (no stored mail password).
//!
//! Every failure is [`StoreError::Unavailable`]: the caller answers 503 (or, for
//! `/password/forgot`, logs it and answers as always), so nothing ever claims a mail went
//! out that did not. Its text names the status and SES's error code only: never the
//! message, whose body carries a link that opens the account, nor the recipient.

use async_trait::async_trait;
use http::StatusCode;
use serde::Serialize;
use wristband_core::mail::{Mail, Mailer};
use wristband_core::{ConfigError, StoreError};
use wristband_dynamodb_lite::env::{configured_endpoint, AwsEnv, Credentials};
use wristband_dynamodb_lite::tls::Roots;
use wristband_dynamodb_lite::{CallError, Operation, Policy, Service, SignedHttp};

/// Where SES is, when not at its regional endpoint (`make run`: the emulator). The general
/// `AWS_ENDPOINT_URL` is not read: locally it is DynamoDB Local's.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SESV2";

const SES: Service = Service {
    signing_name: "ses",
    endpoint_setting: ENDPOINT_VAR,
    retryable,
};

const SEND_EMAIL: Operation<'static> = Operation {
    name: "SES SendEmail",
    path: "/v2/email/outbound-emails",
    content_type: "application/json",
    target: None,
};

/// Sends each [`Mail`] with one `SendEmail` from `MAIL_FROM`.
pub struct SesMailer {
    http: SignedHttp,
    from: String,
}

impl std::fmt::Debug for SesMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SesMailer")
            .field("endpoint", &self.http.endpoint())
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// SES's regional endpoint (set [`ENDPOINT_VAR`] for any other).
pub fn default_endpoint(region: &str) -> String {
    format!("https://email.{region}.amazonaws.com")
}

impl SesMailer {
    /// From `mail_from` (`MAIL_FROM`, a verified SES identity), with the endpoint
    /// `AWS_ENDPOINT_URL_SESV2` if set, else SES's in the region; region and credentials
    /// as dynamodb-lite's [`AwsEnv`] reads them; the platform's roots.
    pub fn from_env(mail_from: &str) -> Result<Self, ConfigError> {
        Self::from_vars(
            mail_from,
            |key| std::env::var(key).ok(),
            Roots::Platform,
            Policy::default(),
        )
    }

    /// [`SesMailer::from_env`] with `var` looking up the variables.
    pub fn from_vars(
        mail_from: &str,
        var: impl Fn(&str) -> Option<String>,
        roots: Roots,
        policy: Policy,
    ) -> Result<Self, ConfigError> {
        let aws = AwsEnv::from_vars(&var);
        let endpoint = configured_endpoint(&var, &[ENDPOINT_VAR])
            .unwrap_or_else(|| default_endpoint(&aws.region));
        let mut mailer = Self::new(
            mail_from,
            &endpoint,
            aws.region,
            aws.credentials,
            roots,
            policy,
        )?;
        mailer.http = mailer.http.with_app_name(aws.app_name.as_deref());
        Ok(mailer)
    }

    /// Refuses a blank `mail_from` and an endpoint that is not `http(s)://host[:port]`.
    /// Without `credentials` every send fails (closed), without a request.
    pub fn new(
        mail_from: &str,
        endpoint: &str,
        region: String,
        credentials: Option<Credentials>,
        roots: Roots,
        policy: Policy,
    ) -> Result<Self, ConfigError> {
        let from = mail_from.trim();
        if from.is_empty() {
            return Err(ConfigError::MissingMailSetting("MAIL_FROM"));
        }
        if from.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                name: "MAIL_FROM",
                expected: "an address (or `Name <address>`) without control characters",
                value: from.to_owned(),
            });
        }
        Ok(Self {
            http: SignedHttp::new(SES, endpoint, region, credentials, roots, policy)?,
            from: from.to_owned(),
        })
    }

    /// Where the mail goes, without a path (`https://email.eu-west-1.amazonaws.com`).
    pub fn endpoint(&self) -> &str {
        self.http.endpoint()
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), StoreError> {
        let body = send_email_body(&self.from, mail);
        match self.http.post(&SEND_EMAIL, body).await {
            Ok(_) => Ok(()),
            // A refusal (an unverified identity, a paused account, a rejected message) is
            // no more a delivery than an outage: fail closed the same way.
            Err(CallError::Unavailable(failure) | CallError::Refused(failure)) => {
                Err(StoreError::Unavailable(failure.into()))
            }
        }
    }
}

/// SES's outages and throttling: 5xx, 429 and the throttling codes; retried.
fn retryable(status: StatusCode, code: &str) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || matches!(
            code,
            "TooManyRequestsException" | "ThrottlingException" | "Throttling"
        )
}

/// The `SendEmail` request: one recipient, simple content with text and HTML bodies.
pub fn send_email_body(from: &str, mail: &Mail) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct SendEmail<'a> {
        from_email_address: &'a str,
        destination: Destination<'a>,
        content: Content<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Destination<'a> {
        to_addresses: [&'a str; 1],
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Content<'a> {
        simple: Simple<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Simple<'a> {
        subject: Text<'a>,
        body: Body<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        text: Text<'a>,
        html: Text<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Text<'a> {
        data: &'a str,
        charset: &'static str,
    }
    let text = |data| Text {
        data,
        charset: "UTF-8",
    };
    let request = SendEmail {
        from_email_address: from,
        destination: Destination {
            to_addresses: [&mail.to],
        },
        content: Content {
            simple: Simple {
                subject: text(&mail.subject),
                body: Body {
                    text: text(&mail.text),
                    html: text(&mail.html),
                },
            },
        },
    };
    serde_json::to_vec(&request).expect("strings always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn mailer(pairs: &'static [(&'static str, &'static str)]) -> Result<SesMailer, ConfigError> {
        SesMailer::from_vars(
            "no-reply@example.com",
            vars(pairs),
            Roots::Platform,
            Policy::default(),
        )
    }

    #[test]
    fn endpoints() {
        let m = mailer(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(m.endpoint(), "https://email.eu-west-1.amazonaws.com");
        // Locally AWS_ENDPOINT_URL is DynamoDB Local's: never SES's.
        let m = mailer(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:8000")]).unwrap();
        assert_eq!(m.endpoint(), "https://email.us-east-1.amazonaws.com");
        let m = mailer(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:8005"),
        ])
        .unwrap();
        assert_eq!(m.endpoint(), "http://127.0.0.1:8005");
        let err = mailer(&[("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:8005/v2")]).unwrap_err();
        assert!(err.to_string().contains(ENDPOINT_VAR), "{err}");
    }

    #[test]
    fn mail_from_is_required() {
        let new =
            |from: &str| SesMailer::from_vars(from, vars(&[]), Roots::Platform, Policy::default());
        assert!(matches!(
            new(" "),
            Err(ConfigError::MissingMailSetting("MAIL_FROM"))
        ));
        assert!(new("a@b\r\nBcc: c@d").is_err());
        assert_eq!(
            new(" Wristband <no-reply@example.com> ").unwrap().from,
            "Wristband <no-reply@example.com>"
        );
    }

    #[test]
    fn retry_policy() {
        assert!(retryable(StatusCode::INTERNAL_SERVER_ERROR, ""));
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE, ""));
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS, ""));
        assert!(retryable(
            StatusCode::BAD_REQUEST,
            "TooManyRequestsException"
        ));
        for code in [
            "MessageRejected",
            "MailFromDomainNotVerifiedException",
            "SendingPausedException",
            "AccountSuspendedException",
            "LimitExceededException",
            "BadRequestException",
            "",
        ] {
            assert!(!retryable(StatusCode::BAD_REQUEST, code), "{code}");
        }
        assert!(!retryable(StatusCode::FORBIDDEN, ""));
    }
}

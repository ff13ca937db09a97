//! Mail as the services see it: a message and the trait that sends it. Amazon SES (API
//! v2) implements it for production (`wristband-ses`), an in-memory outbox for unit tests.

use async_trait::async_trait;

use crate::error::StoreError;

/// One message: plain text and HTML bodies of the same content.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Mail {
    // Bodies carry links whose tokens open accounts: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Sends mail from the configured `MAIL_FROM`.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// `Unavailable` when the mail service cannot be reached or refuses after retries
    /// (callers answer 503, or, for `/password/forgot`, log it and answer as always).
    async fn send(&self, mail: &Mail) -> Result<(), StoreError>;
}

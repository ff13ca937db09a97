//! What the account flows send: links (verification, address change, reset) and notices
//! (password reset, address changed, account deleted), from the templates in
//! `shared/services/templates/`. A link's token goes into its fragment and nowhere else.

use wristband_core::audit::{self, Event};
use wristband_core::ids::now_secs;
use wristband_core::mail::Mail;
use wristband_core::onetime::{new_token, token_hash};
use wristband_core::store::{OneTimeToken, Purpose};
use wristband_core::ApiError;

use crate::app::App;

/// One message's templates: the text one's first line is the subject.
struct Template {
    text: &'static str,
    html: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template {
            text: include_str!(concat!("../../templates/", $name, ".txt")),
            html: include_str!(concat!("../../templates/", $name, ".html")),
        }
    };
}

const VERIFY_EMAIL: Template = template!("verify_email");
const CHANGE_EMAIL: Template = template!("change_email");
const RESET_PASSWORD: Template = template!("reset_password");
const PASSWORD_CHANGED: Template = template!("password_changed");
const EMAIL_CHANGED: Template = template!("email_changed");
const ACCOUNT_DELETED: Template = template!("account_deleted");

/// The page a link of `purpose` opens, under `APP_URL`.
pub fn page(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::VerifyEmail | Purpose::ChangeEmail => "/verify-email",
        Purpose::ResetPassword => "/reset-password",
    }
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{name}}` placeholders: as they are in the text body, escaped in the HTML one.
fn render(template: &Template, to: &str, values: &[(&str, &str)]) -> Mail {
    let fill = |body: &str, escape: bool| {
        values.iter().fold(body.to_owned(), |body, (name, value)| {
            let value = if escape {
                escape_html(value)
            } else {
                (*value).to_owned()
            };
            body.replace(&format!("{{{{{name}}}}}"), &value)
        })
    };
    let text = fill(template.text, false);
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    Mail {
        to: to.to_owned(),
        subject: subject.trim().to_owned(),
        text: body.trim_start_matches('\n').to_owned(),
        html: fill(template.html, true),
    }
}

/// "10 minutes", "24 hours": a link's lifetime in words.
fn lifetime(secs: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs.is_multiple_of(3600) {
        plural(secs / 3600, "hour")
    } else if secs.is_multiple_of(60) {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

/// What became of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Sent,
    /// Over a mail limit: nothing sent, and the answer says nothing of it.
    Throttled,
}

/// A link of `purpose` for `username` to `email`: within the mail limits (one per purpose
/// and address per 60 s, `MAIL_PER_IP_PER_HOUR` per source address), a new token that
/// replaces the account's older one of the purpose, and the mail. A send that fails is
/// `503` (the caller decides whether to say so).
pub async fn send_link(
    app: &App,
    purpose: Purpose,
    username: &str,
    email: &str,
    source_ip: Option<&str>,
) -> Result<Link, ApiError> {
    let now = now_secs();
    let limits = app.rate_limits()?;
    // Keys hold no address: the address's hash (its limit is per address and purpose).
    let address_key = format!("mail#{}#{}", purpose.name(), token_hash(email));
    let interval = app.config.mail.per_address_interval.as_secs();
    let mut allowed = limits.try_acquire(&address_key, 1, interval, now).await?;
    if allowed {
        if let Some(ip) = source_ip {
            let per_hour = app.config.mail.mail_per_ip_per_hour;
            allowed = limits
                .try_acquire(&format!("mailip#{ip}"), per_hour, 3600, now)
                .await?;
        }
    }
    if !allowed {
        audit::record(Event::MailThrottled)
            .username(username)
            .detail("purpose", purpose.name())
            .emit();
        return Ok(Link::Throttled);
    }

    let (ttl, template) = match purpose {
        Purpose::VerifyEmail => (app.config.mail.verify_token_ttl, &VERIFY_EMAIL),
        Purpose::ChangeEmail => (app.config.mail.verify_token_ttl, &CHANGE_EMAIL),
        Purpose::ResetPassword => (app.config.mail.reset_token_ttl, &RESET_PASSWORD),
    };
    let links = app.config.mail.links().map_err(ApiError::internal)?;
    let token = new_token().map_err(ApiError::Internal)?;
    app.one_time_tokens()?
        .issue(
            &token.hash,
            &OneTimeToken {
                purpose,
                username: username.to_owned(),
                email: email.to_owned(),
                expires_at: now + ttl.as_secs(),
            },
        )
        .await?;
    let link = format!("{}{}#token={}", links.app_url, page(purpose), token.token);
    let mail = render(
        template,
        email,
        &[
            ("username", username),
            ("email", email),
            ("link", &link),
            ("ttl", &lifetime(ttl.as_secs())),
        ],
    );
    deliver(app, &mail, username, purpose.name())
        .await
        .map(|()| Link::Sent)
}

/// Sends a notice about `username`'s account to `email`.
pub async fn notify(
    app: &App,
    username: &str,
    email: &str,
    notice: Notice<'_>,
) -> Result<(), ApiError> {
    let (template, name, new_email) = match notice {
        Notice::PasswordChanged => (&PASSWORD_CHANGED, "password_changed", ""),
        Notice::EmailChanged { new_email } => (&EMAIL_CHANGED, "email_changed", new_email),
        Notice::AccountDeleted => (&ACCOUNT_DELETED, "account_deleted", ""),
    };
    let email_value = if new_email.is_empty() {
        email
    } else {
        new_email
    };
    let mail = render(
        template,
        email,
        &[("username", username), ("email", email_value)],
    );
    deliver(app, &mail, username, name).await
}

/// The notices (sent whatever the limits), with what their text names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice<'a> {
    PasswordChanged,
    /// Sent to the old address; names the new one.
    EmailChanged {
        new_email: &'a str,
    },
    AccountDeleted,
}

async fn deliver(
    app: &App,
    mail: &Mail,
    username: &str,
    what: &'static str,
) -> Result<(), ApiError> {
    match app.mailer()?.send(mail).await {
        Ok(()) => Ok(()),
        Err(err) => {
            audit::record(Event::MailFailed)
                .username(username)
                .detail("mail", what)
                .emit();
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_a_subject_and_fill_every_placeholder() {
        for template in [
            &VERIFY_EMAIL,
            &CHANGE_EMAIL,
            &RESET_PASSWORD,
            &PASSWORD_CHANGED,
            &EMAIL_CHANGED,
            &ACCOUNT_DELETED,
        ] {
            let mail = render(
                template,
                "a@example.com",
                &[
                    ("username", "ann"),
                    ("email", "a@example.com"),
                    ("link", "https://app.example/verify-email#token=x&y"),
                    ("ttl", "10 minutes"),
                ],
            );
            assert!(!mail.subject.is_empty() && !mail.subject.contains("{{"));
            assert!(!mail.text.contains("{{"), "{}", mail.text);
            assert!(!mail.html.contains("{{"), "{}", mail.html);
            assert!(!mail.html.contains("x&y"), "escaped in HTML");
        }
    }

    #[test]
    fn lifetimes_read_as_words() {
        assert_eq!(lifetime(600), "10 minutes");
        assert_eq!(lifetime(86400), "24 hours");
        assert_eq!(lifetime(3600), "1 hour");
        assert_eq!(lifetime(61), "61 seconds");
    }

    #[test]
    fn a_mail_never_prints_its_body() {
        let mail = render(
            &RESET_PASSWORD,
            "a@b",
            &[("link", "https://x/#token=SECRET")],
        );
        assert!(mail.text.contains("SECRET"));
        assert!(!format!("{mail:?}").contains("SECRET"));
    }
}

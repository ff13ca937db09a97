//! The audit log: one JSON line on stdout per security event (CloudWatch Logs keeps a
//! Lambda's stdout), whatever the format of the other log lines, so that a metric filter
//! such as `{ $.audit = "login_failed" }` finds them.
//!
//! A line names the event and carries the request's ids and source address (set once per
//! request by `wristband_http::respond`) and only the fields this module offers: usernames,
//! session ids, reasons and counts. There is no way to put a token, a password, a hash or
//! a key into one.

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of the audit lines' metrics (Embedded Metric Format).
pub const EMF_NAMESPACE: &str = "wristband";
/// The metric every audit line counts once, by `audit` (and `reason`).
pub const EMF_METRIC: &str = "events";

/// Who asked: what every audit line of one request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// API Gateway's request id (`requestContext.requestId`).
    pub request_id: Option<String>,
    /// The Lambda invocation's request id.
    pub aws_request_id: Option<String>,
    pub source_ip: Option<String>,
}

tokio::task_local! {
    static CONTEXT: AuditContext;
}

/// Runs `future` with `context` as the audit context of every event it records.
pub async fn scope<F: std::future::Future>(context: AuditContext, future: F) -> F::Output {
    CONTEXT.scope(context, future).await
}

/// The events wristband records (names are the `audit` field's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    LoggedOut,
    LoggedOutEverywhere,
    TokenRefreshed,
    /// A just-spent refresh token within the grace period (a client retry): refused only.
    RefreshRetryRefused,
    /// A spent refresh token came back: the whole session (refresh family) is revoked.
    RefreshReuseDetected,
    PasswordChanged,
    /// A password change with a wrong old password.
    PasswordChangeFailed,
    SessionEnded,
    /// A login ended the account's least recently used session to stay under the cap.
    SessionEvicted,
    TokenRefused,
    /// `/oauth/revoke` revoked a token (an access token's jti, or a refresh token's session).
    TokenRevokedByClient,
    /// `/oauth/introspect` refused a caller's client credentials.
    IntrospectionClientRefused,
    /// A verification link went out (registration, on request, or for a new address).
    EmailVerificationSent,
    EmailVerified,
    /// A verified change of address: the old one got a notice.
    EmailChanged,
    /// `/password/forgot` for an address: `sent` says whether a link went out.
    PasswordResetRequested,
    /// `/password/reset` spent its link: every session ended.
    PasswordReset,
    /// An emailed link's token was refused (unknown, expired, replaced, spent).
    InvalidCodeRefused,
    /// A link was not sent: its address or source address is over the mail limits.
    MailThrottled,
    /// The mail service failed a send.
    MailFailed,
    AccountDeleted,
    /// A wrong password where an account change asks for it again (`detail` action).
    ReauthenticationFailed,
    AccountDisabled,
    AccountEnabled,
    /// `POST /mfa/totp`: a secret was given out, not active yet.
    MfaEnrolmentStarted,
    /// A TOTP factor was confirmed and is active.
    MfaEnabled,
    MfaDisabled,
    RecoveryCodesRegenerated,
    /// A right password for an account with a factor: an `mfa_token` was given out.
    MfaRequired,
    /// A wrong, replayed or expired code, or a dead `mfa_token` (`reason`).
    MfaFailed,
    /// A recovery code was spent (login or removal of the factor).
    RecoveryCodeUsed,
    /// An administrator ended every session of an account.
    AdminLoggedOutUser,
    /// A passkey was registered to an account.
    PasskeyRegistered,
    /// A registration's credential was refused (`reason`).
    PasskeyRegistrationFailed,
    PasskeyRemoved,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::UserRegistered => "user_registered",
            Event::LoginSucceeded => "login_succeeded",
            Event::LoginFailed => "login_failed",
            Event::LoginThrottled => "login_throttled",
            Event::LoggedOut => "logged_out",
            Event::LoggedOutEverywhere => "logged_out_everywhere",
            Event::TokenRefreshed => "token_refreshed",
            Event::RefreshRetryRefused => "refresh_retry_refused",
            Event::RefreshReuseDetected => "refresh_reuse_detected",
            Event::PasswordChanged => "password_changed",
            Event::PasswordChangeFailed => "password_change_failed",
            Event::SessionEnded => "session_ended",
            Event::SessionEvicted => "session_evicted",
            Event::TokenRefused => "token_refused",
            Event::TokenRevokedByClient => "token_revoked_by_client",
            Event::IntrospectionClientRefused => "introspection_client_refused",
            Event::EmailVerificationSent => "email_verification_sent",
            Event::EmailVerified => "email_verified",
            Event::EmailChanged => "email_changed",
            Event::PasswordResetRequested => "password_reset_requested",
            Event::PasswordReset => "password_reset",
            Event::InvalidCodeRefused => "invalid_code_refused",
            Event::MailThrottled => "mail_throttled",
            Event::MailFailed => "mail_failed",
            Event::AccountDeleted => "account_deleted",
            Event::ReauthenticationFailed => "reauthentication_failed",
            Event::AccountDisabled => "account_disabled",
            Event::AccountEnabled => "account_enabled",
            Event::AdminLoggedOutUser => "admin_logged_out_user",
            Event::MfaEnrolmentStarted => "mfa_enrolment_started",
            Event::MfaEnabled => "mfa_enabled",
            Event::MfaDisabled => "mfa_disabled",
            Event::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Event::MfaRequired => "mfa_required",
            Event::MfaFailed => "mfa_failed",
            Event::RecoveryCodeUsed => "recovery_code_used",
            Event::PasskeyRegistered => "passkey_registered",
            Event::PasskeyRegistrationFailed => "passkey_registration_failed",
            Event::PasskeyRemoved => "passkey_removed",
        }
    }
}

/// One audit line being put together; [`Record::emit`] writes it.
#[derive(Debug)]
#[must_use = "an audit record is only written by emit()"]
pub struct Record {
    fields: Map<String, Value>,
}

/// Starts the line of `event`.
pub fn record(event: Event) -> Record {
    let mut fields = Map::new();
    fields.insert("audit".into(), event.name().into());
    Record { fields }
}

impl Record {
    /// A (normalised) username. Never a password typed into the username field: callers
    /// pass only names that passed the username rule.
    pub fn username(self, username: &str) -> Self {
        self.with("username", username.into())
    }

    /// Who acted on the account (an administrator's username).
    pub fn actor(self, username: &str) -> Self {
        self.with("actor", username.into())
    }

    /// A session id: an identifier, not a credential.
    pub fn sid(self, sid: &str) -> Self {
        self.with("sid", sid.into())
    }

    /// Why: a contract error code or one of our fixed sentences.
    pub fn reason(self, reason: &'static str) -> Self {
        self.with("reason", reason.into())
    }

    /// A fixed-vocabulary detail, e.g. `("message", "Signature verification failed")`.
    pub fn detail(self, name: &'static str, value: &'static str) -> Self {
        self.with(name, value.into())
    }

    pub fn count(self, name: &'static str, value: u64) -> Self {
        self.with(name, value.into())
    }

    pub fn flag(self, name: &'static str, value: bool) -> Self {
        self.with(name, value.into())
    }

    fn with(mut self, name: &str, value: Value) -> Self {
        self.fields.insert(name.to_owned(), value);
        self
    }

    /// The line, with the context of the current request (or `context` when given).
    pub fn line(mut self, context: Option<&AuditContext>) -> String {
        let time_ms = crate::ids::now_millis();
        self.fields.insert("time_ms".into(), time_ms.into());
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                self.fields.insert(name.to_owned(), value.as_str().into());
            }
        };
        let current;
        let context = match context {
            Some(context) => Some(context),
            None => {
                current = CONTEXT.try_with(Clone::clone).ok();
                current.as_ref()
            }
        };
        if let Some(context) = context {
            put("request_id", &context.request_id);
            put("aws_request_id", &context.aws_request_id);
            put("source_ip", &context.source_ip);
        }
        // CloudWatch Embedded Metric Format: the line is also one count of its event
        // (metric `events` in namespace `wristband`, by `audit`, and by `audit` and
        // `reason` where the line has a reason), so that CloudWatch makes metrics of
        // logins ok / failed / throttled, tokens refused by reason, resets and second-
        // factor results with no metric filter and no call from the function.
        let mut dimensions = vec![json!(["audit"])];
        if self.fields.get("reason").is_some_and(Value::is_string) {
            dimensions.push(json!(["audit", "reason"]));
        }
        self.fields.insert(EMF_METRIC.into(), 1.into());
        self.fields.insert(
            "_aws".into(),
            json!({
                "Timestamp": time_ms,
                "CloudWatchMetrics": [{
                    "Namespace": EMF_NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": [{"Name": EMF_METRIC, "Unit": "Count"}],
                }],
            }),
        );
        Value::Object(self.fields).to_string()
    }

    /// Writes the line to stdout, in the current request's context.
    pub fn emit(self) {
        write_line(&self.line(None));
    }

    /// Writes the line with an explicit context (the authorizer, which has no request).
    pub fn emit_in(self, context: &AuditContext) {
        write_line(&self.line(Some(context)));
    }
}

static TO_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on this process writes audit lines to standard error: for a command-line tool
/// whose standard output is its answer (`wristband-admin`). Functions never call it.
pub fn write_to_stderr() {
    TO_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn write_line(line: &str) {
    if TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_is_one_json_object_with_the_request_context() {
        let context = AuditContext {
            request_id: Some("req-1".into()),
            aws_request_id: Some("lambda-1".into()),
            source_ip: Some("203.0.113.9".into()),
        };
        let line = scope(context, async {
            record(Event::LoginFailed)
                .username("alice")
                .reason("invalid_credentials")
                .count("failures", 3)
                .line(None)
        })
        .await;
        assert!(!line.contains('\n'));
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["audit"], "login_failed");
        assert_eq!(json["username"], "alice");
        assert_eq!(json["reason"], "invalid_credentials");
        assert_eq!(json["failures"], 3);
        assert_eq!(json["request_id"], "req-1");
        assert_eq!(json["aws_request_id"], "lambda-1");
        assert_eq!(json["source_ip"], "203.0.113.9");
        assert!(json["time_ms"].as_u64().unwrap() > 0);
    }

    #[test]
    fn outside_a_request_the_line_has_no_context() {
        let line = record(Event::TokenRefused)
            .reason("token_expired")
            .line(None);
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["audit"], "token_refused");
        assert!(json.get("request_id").is_none());
    }

    #[test]
    fn every_line_is_one_count_of_its_event_in_embedded_metric_format() {
        let with_reason = record(Event::TokenRefused)
            .reason("token_expired")
            .line(None);
        let json: Value = serde_json::from_str(&with_reason).unwrap();
        assert_eq!(json["events"], 1);
        let directive = &json["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], EMF_NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["audit"], ["audit", "reason"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "events", "Unit": "Count"}])
        );
        assert_eq!(json["_aws"]["Timestamp"], json["time_ms"]);
        let without = record(Event::LoginSucceeded).username("alice").line(None);
        let json: Value = serde_json::from_str(&without).unwrap();
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["audit"]])
        );
    }

    #[test]
    fn field_values_are_escaped_not_injected() {
        let line = record(Event::LoginFailed)
            .username("a\"}\n{\"audit\":\"forged")
            .line(None);
        assert_eq!(line.lines().count(), 1);
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["audit"], "login_failed");
    }
}

//! AWS Signature Version 4 for the JSON APIs we call by hand: a `POST` with a JSON body to
//! one fixed path, signing content-type, host, x-amz-date, x-amz-security-token (with
//! session credentials) and x-amz-target (where the protocol has one). DynamoDB's JSON
//! protocol is `POST /` with an `X-Amz-Target` ([`Signer::sign`]); SES API v2 is REST-JSON,
//! `POST /v2/email/outbound-emails` without one ([`Signer::sign_request`]). Held to the
//! SDK's own signer by `tests/sigv4.rs`.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::env::Credentials;

/// DynamoDB's content type (JSON protocol 1.0).
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// DynamoDB's signing name.
pub const DYNAMODB: &str = "dynamodb";

/// Signs requests to one service in one region with one set of keys. The derived signing
/// key is kept for the day it belongs to (it depends on the date, not on the request).
pub struct Signer {
    service: &'static str,
    region: String,
    credentials: Credentials,
    day_key: Mutex<Option<(String, [u8; 32])>>,
}

/// The headers to send, `authorization` last; every one but `host` is in the request.
#[derive(Debug, PartialEq, Eq)]
pub struct Signed {
    pub amz_date: String,
    pub session_token: Option<String>,
    pub authorization: String,
}

/// What of a `POST` is signed besides the host and the time.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Already in canonical form: `/` and unreserved characters (`A-Z a-z 0-9 - . _ ~`)
    /// only, no `.` or `..` segments, no query.
    pub path: &'a str,
    pub content_type: &'a str,
    /// `X-Amz-Target`, for the protocols that name the operation in it.
    pub target: Option<&'a str>,
    pub body: &'a [u8],
}

impl Signer {
    /// A signer for DynamoDB.
    pub fn new(region: impl Into<String>, credentials: Credentials) -> Self {
        Self::for_service(DYNAMODB, region, credentials)
    }

    /// A signer for the service whose signing name is `service` (`dynamodb`, `ses`, ...).
    pub fn for_service(
        service: &'static str,
        region: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            service,
            region: region.into(),
            credentials,
            day_key: Mutex::new(None),
        }
    }

    /// Signs DynamoDB's shape, `POST /` to `host` with headers content-type (the JSON
    /// protocol's), host, x-amz-date, x-amz-security-token (if any) and x-amz-target.
    pub fn sign(&self, host: &str, target: &str, body: &[u8], at: SystemTime) -> Signed {
        let request = Request {
            path: "/",
            content_type: CONTENT_TYPE,
            target: Some(target),
            body,
        };
        self.sign_request(host, &request, at)
    }

    /// Signs `POST <path>` to `host` (with `:port` when not the scheme's default, as sent
    /// in the `Host` header) with headers content-type, host, x-amz-date,
    /// x-amz-security-token (if any) and x-amz-target (if any).
    pub fn sign_request(&self, host: &str, request: &Request<'_>, at: SystemTime) -> Signed {
        debug_assert!(
            request.path.starts_with('/')
                && request
                    .path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
                && !request.path.split('/').any(|s| s == "." || s == ".."),
            "a path that is not in canonical form: {}",
            request.path
        );
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let amz_date = amz_date(secs);
        let day = &amz_date[..8];
        let token = self.credentials.session_token.as_deref();

        // Sorted by name, as SigV4 wants them.
        let mut canonical_headers = format!(
            "content-type:{}\nhost:{}\nx-amz-date:{amz_date}\n",
            request.content_type.trim(),
            host.trim()
        );
        let mut signed_headers = String::from("content-type;host;x-amz-date");
        if let Some(token) = token {
            canonical_headers.push_str(&format!("x-amz-security-token:{}\n", token.trim()));
            signed_headers.push_str(";x-amz-security-token");
        }
        if let Some(target) = request.target {
            canonical_headers.push_str(&format!("x-amz-target:{}\n", target.trim()));
            signed_headers.push_str(";x-amz-target");
        }
        let canonical_request = format!(
            "POST\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
            request.path,
            hex(&Sha256::digest(request.body))
        );
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let signature = hex(&hmac(&self.signing_key(day), string_to_sign.as_bytes()));
        Signed {
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
                 Signature={signature}",
                self.credentials.access_key_id
            ),
            amz_date,
            session_token: token.map(str::to_owned),
        }
    }

    fn signing_key(&self, day: &str) -> [u8; 32] {
        let mut cached = self.day_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached_day, key)) = cached.as_ref() {
            if cached_day == day {
                return *key;
            }
        }
        let secret = format!("AWS4{}", self.credentials.secret_access_key);
        let key = [self.region.as_str(), self.service, "aws4_request"]
            .iter()
            .fold(hmac(secret.as_bytes(), day.as_bytes()), |key, part| {
                hmac(&key, part.as_bytes())
            });
        *cached = Some((day.to_owned(), key));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the epoch (UTC; proleptic Gregorian calendar).
fn amz_date(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(1_795_305_599), "20261121T235959Z");
        assert_eq!(amz_date(4_107_542_400), "21000301T000000Z");
    }

    /// The example of AWS's documentation ("Create a signing key", secret
    /// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830/us-east-1/iam).
    #[test]
    fn signing_key_chain() {
        let secret = b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let key = ["us-east-1", "iam", "aws4_request"]
            .iter()
            .fold(hmac(secret, b"20150830"), |k, p| hmac(&k, p.as_bytes()));
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }
}

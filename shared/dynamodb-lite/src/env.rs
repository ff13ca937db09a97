//! What a DynamoDB client takes from the environment, read the way aws-config does but
//! without it (aws-config brings STS, SSO, IMDS and profile code: half the binary).
//!
//! Lambda hands a function its region and role credentials as environment variables, and
//! local runs point `AWS_ENDPOINT_URL(_DYNAMODB)` at DynamoDB Local (and
//! `AWS_ENDPOINT_URL_SESV2` at the SES emulator, read by `wristband-ses` through
//! [`configured_endpoint`]), so that is all we read.

use std::fmt;

/// The first of the variables `names` that is set (blank counts as unset), unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`: how the SDKs find a service's endpoint
/// (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL` where the caller wants it).
pub fn configured_endpoint(var: impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    let var = |key: &str| {
        var(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    names.iter().find_map(|name| var(name))
}

/// Used when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Region, endpoint and credentials as found in the environment.
#[derive(Debug, Clone)]
pub struct AwsEnv {
    pub region: String,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
    pub endpoint_url: Option<String>,
    /// `None` if the keys are missing: requests then fail (a 503), the process still starts.
    pub credentials: Option<Credentials>,
    /// The caller's name for the `app/<name>` part of the user agent: the function's
    /// (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda and `cargo lambda watch` set), reduced to
    /// the characters a user-agent token allows. It shows which function made a call, in
    /// CloudTrail and to the recording proxy of `make test` that holds the template's IAM
    /// policies to what each function calls.
    pub app_name: Option<String>,
}

/// `name` as a user-agent token (`app/<token>`): the characters RFC 9110 allows in a
/// token, at most 64 of them; `None` when nothing is left.
pub fn app_name_token(name: &str) -> Option<String> {
    let token: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
        .take(64)
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The function role's keys (Lambda sets them for the life of the execution environment).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub account_id: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish_non_exhaustive()
    }
}

impl AwsEnv {
    pub fn from_env() -> Self {
        Self::from_vars(|key| std::env::var(key).ok())
    }

    /// `var` looks up one variable; blank values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |key: &str| {
            var(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let endpoint_url =
            configured_endpoint(var, &["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]);
        let credentials = match (
            var("AWS_ACCESS_KEY_ID"),
            var("AWS_SECRET_ACCESS_KEY").or_else(|| var("SECRET_ACCESS_KEY")),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token: var("AWS_SESSION_TOKEN"),
                account_id: var("AWS_ACCOUNT_ID"),
            }),
            _ => None,
        };
        Self {
            region,
            endpoint_url,
            credentials,
            app_name: var("AWS_LAMBDA_FUNCTION_NAME").and_then(|name| app_name_token(&name)),
        }
    }

    /// DynamoDB Local at `endpoint` with the keys it ignores (for tests and tools).
    pub fn dynamodb_local(endpoint: &str) -> Self {
        Self {
            region: DEFAULT_REGION.to_owned(),
            endpoint_url: Some(endpoint.to_owned()),
            credentials: Some(Credentials {
                access_key_id: "dummy".into(),
                secret_access_key: "dummy".into(),
                session_token: None,
                account_id: None,
            }),
            app_name: None,
        }
    }

    /// The configured endpoint, else DynamoDB's regional HTTPS endpoint (the `aws`,
    /// `aws-cn` and `aws-us-gov` partitions; set `AWS_ENDPOINT_URL_DYNAMODB` elsewhere).
    pub fn endpoint(&self) -> String {
        match &self.endpoint_url {
            Some(url) => url.clone(),
            None if self.region.starts_with("cn-") => {
                format!("https://dynamodb.{}.amazonaws.com.cn", self.region)
            }
            None => format!("https://dynamodb.{}.amazonaws.com", self.region),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> AwsEnv {
        AwsEnv::from_vars(|key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let env = env(&[]);
        assert_eq!(env.region, DEFAULT_REGION);
        assert_eq!(env.endpoint_url, None);
        assert!(env.credentials.is_none());
        assert_eq!(env.endpoint(), "https://dynamodb.us-east-1.amazonaws.com");
    }

    #[test]
    fn the_function_name_is_the_app_name() {
        assert_eq!(env(&[]).app_name, None);
        let e = env(&[("AWS_LAMBDA_FUNCTION_NAME", "wristband-LoginFunction-AbC_12")]);
        assert_eq!(
            e.app_name.as_deref(),
            Some("wristband-LoginFunction-AbC_12")
        );
        assert_eq!(app_name_token("a b/c(d)"), Some("abcd".to_owned()));
        assert_eq!(app_name_token(" /()"), None);
        assert_eq!(app_name_token(&"x".repeat(100)).map(|t| t.len()), Some(64));
    }

    #[test]
    fn region_and_endpoints() {
        let e = env(&[("AWS_DEFAULT_REGION", "eu-west-1")]);
        assert_eq!(e.region, "eu-west-1");
        assert_eq!(e.endpoint(), "https://dynamodb.eu-west-1.amazonaws.com");
        let e = env(&[("AWS_REGION", "cn-north-1")]);
        assert_eq!(e.endpoint(), "https://dynamodb.cn-north-1.amazonaws.com.cn");
        let e = env(&[
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://global:1"),
        ]);
        assert_eq!(e.region, "eu-central-1");
        assert_eq!(e.endpoint_url.as_deref(), Some("http://global:1"));
        assert_eq!(e.endpoint(), "http://global:1");
        let e = env(&[
            ("AWS_REGION", " "),
            ("AWS_ENDPOINT_URL", "http://global:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:2"),
        ]);
        assert_eq!(e.region, DEFAULT_REGION);
        assert_eq!(e.endpoint_url.as_deref(), Some("http://ddb:2"));
        let e = env(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:2"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(e.endpoint_url, None);
    }

    #[test]
    fn service_endpoints() {
        let vars = |vars: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                vars.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let ses = ["AWS_ENDPOINT_URL_SESV2"];
        let local = vars(&[
            ("AWS_ENDPOINT_URL", "http://ddb:8000"),
            ("AWS_ENDPOINT_URL_SESV2", " http://ses:8005 "),
        ]);
        assert_eq!(
            configured_endpoint(local, &ses).as_deref(),
            Some("http://ses:8005")
        );
        // The general variable is not SES's unless the caller names it.
        let only_general = vars(&[("AWS_ENDPOINT_URL", "http://ddb:8000")]);
        assert_eq!(configured_endpoint(only_general, &ses), None);
        let blank = vars(&[("AWS_ENDPOINT_URL_SESV2", " ")]);
        assert_eq!(configured_endpoint(blank, &ses), None);
        let ignored = vars(&[
            ("AWS_ENDPOINT_URL_SESV2", "http://ses:8005"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ]);
        assert_eq!(configured_endpoint(ignored, &ses), None);
    }

    #[test]
    fn credentials() {
        let e = env(&[("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(e.credentials.is_none(), "no secret, no credentials");
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let creds = e.credentials.clone().expect("credentials");
        assert_eq!(creds.access_key_id, "AKID");
        assert_eq!(creds.secret_access_key, "secret");
        assert_eq!(creds.session_token.as_deref(), Some("token"));
        let debug = format!("{e:?}");
        assert!(
            !debug.contains("secret\"") && !debug.contains("token\""),
            "{debug}"
        );
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", ""),
        ]);
        assert_eq!(e.credentials.expect("credentials").session_token, None);
    }
}

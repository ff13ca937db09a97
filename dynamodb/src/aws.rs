//! What the DynamoDB client takes from the environment, read the way aws-config does but
//! without it (aws-config brings STS, SSO, IMDS and profile code: half the binary).
//!
//! Lambda hands a function its region and role credentials as environment variables, and
//! local runs point `AWS_ENDPOINT_URL(_DYNAMODB)` at DynamoDB Local, so that is all we read.

use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};

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
        let ignore_endpoints = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint_url = if ignore_endpoints {
            None
        } else {
            var("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| var("AWS_ENDPOINT_URL"))
        };
        let credentials = match (
            var("AWS_ACCESS_KEY_ID"),
            var("AWS_SECRET_ACCESS_KEY").or_else(|| var("SECRET_ACCESS_KEY")),
        ) {
            (Some(access_key), Some(secret_key)) => {
                let mut creds = Credentials::builder()
                    .access_key_id(access_key)
                    .secret_access_key(secret_key)
                    .provider_name("EnvironmentVariable");
                creds.set_session_token(var("AWS_SESSION_TOKEN"));
                creds.set_account_id(var("AWS_ACCOUNT_ID").map(Into::into));
                Some(creds.build())
            }
            _ => None,
        };
        Self {
            region,
            endpoint_url,
            credentials,
        }
    }

    /// A DynamoDB config builder with these settings and the latest behaviour version.
    pub fn dynamodb_config(self) -> Builder {
        let mut builder = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region));
        builder.set_endpoint_url(self.endpoint_url);
        if let Some(credentials) = self.credentials {
            builder = builder.credentials_provider(credentials);
        }
        builder
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
        let conf = env.dynamodb_config().build();
        assert_eq!(conf.region().map(|r| r.as_ref()), Some(DEFAULT_REGION));
    }

    #[test]
    fn region_and_endpoints() {
        let e = env(&[("AWS_DEFAULT_REGION", "eu-west-1")]);
        assert_eq!(e.region, "eu-west-1");
        let e = env(&[
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://global:1"),
        ]);
        assert_eq!(e.region, "eu-central-1");
        assert_eq!(e.endpoint_url.as_deref(), Some("http://global:1"));
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
    fn credentials() {
        let e = env(&[("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(e.credentials.is_none(), "no secret, no credentials");
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let creds = e.credentials.clone().expect("credentials");
        assert_eq!(creds.access_key_id(), "AKID");
        assert_eq!(creds.secret_access_key(), "secret");
        assert_eq!(creds.session_token(), Some("token"));
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", ""),
        ]);
        assert_eq!(e.credentials.expect("credentials").session_token(), None);
    }
}

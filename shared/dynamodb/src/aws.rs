//! The SDK's configuration from what `wristband_dynamodb_lite::env` read from the
//! environment (region, endpoint, credentials; no aws-config).

use aws_sdk_dynamodb::config::{AppName, BehaviorVersion, Builder, Credentials, Region};
pub use wristband_dynamodb_lite::env::{AwsEnv, DEFAULT_REGION};

/// A DynamoDB config builder with these settings and the latest behaviour version.
pub fn dynamodb_config(env: AwsEnv) -> Builder {
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env.region));
    builder.set_endpoint_url(env.endpoint_url);
    // `app/<function>` in the user agent: which function made the call.
    builder.set_app_name(env.app_name.and_then(|name| AppName::new(name).ok()));
    if let Some(keys) = env.credentials {
        let mut creds = Credentials::builder()
            .access_key_id(keys.access_key_id)
            .secret_access_key(keys.secret_access_key)
            .provider_name("EnvironmentVariable");
        creds.set_session_token(keys.session_token);
        creds.set_account_id(keys.account_id.map(Into::into));
        builder = builder.credentials_provider(creds.build());
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    // The keys' way into the SDK's signature is checked in tests/https.rs (the signed
    // request as a server receives it).
    #[test]
    fn region_and_endpoint_reach_the_sdk() {
        let conf = dynamodb_config(AwsEnv::from_vars(|key| {
            (key == "AWS_REGION").then(|| "eu-west-1".to_owned())
        }))
        .build();
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let conf = dynamodb_config(AwsEnv::from_vars(|_| None)).build();
        assert_eq!(conf.region().map(|r| r.as_ref()), Some(DEFAULT_REGION));
    }
}

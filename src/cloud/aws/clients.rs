//! Connecting to AWS: the standard configuration chain, `--region`,
//! `--profile`, `--endpoint-url`, and a preflight that fails in one sentence
//! before anything is created.

use crate::error::{Error, Result};
use crate::settings::AwsSettings;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// One client per service, the region and the account.
#[derive(Clone, Debug)]
pub struct Clients {
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// EC2 Auto Scaling.
    pub asg: aws_sdk_autoscaling::Client,
    /// Elastic Load Balancing v2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// DynamoDB.
    pub ddb: aws_sdk_dynamodb::Client,
    /// Systems Manager Parameter Store.
    pub ssm: aws_sdk_ssm::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// The region.
    pub region: String,
    /// The account id (for ARNs), from the caller's ARN.
    pub account: String,
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, …), from the caller's ARN.
    pub partition: String,
    /// Where requests go, for messages.
    pub endpoint: String,
    /// Who the credentials are: the caller's ARN.
    pub caller: String,
}

/// Loads the configuration and checks region, credentials and reachability.
pub async fn connect(settings: &AwsSettings) -> Result<Clients> {
    // Every AWS call and credential provider goes through one HTTPS client:
    // hyper and rustls with the *ring* crypto provider and the system's root
    // certificates (plain HTTP too, for an emulator's endpoint).
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https);
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none()
        && std::env::var_os("AWS_RETRY_MODE").is_none()
    {
        loader = loader.retry_config(retry_config());
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((key, secret)) = &settings.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            key, secret, None, None, "static",
        ));
    }
    let conf = loader.load().await;
    let region = conf.region().map(|r| r.to_string()).ok_or_else(|| {
        Error::Setup(
            "no AWS region is configured: pass --region, set AWS_REGION, or set a region in your AWS profile".into(),
        )
    })?;
    let provider = conf
        .credentials_provider()
        .ok_or_else(|| Error::Setup("no AWS credentials provider is configured".into()))?;
    if let Err(e) = provider.provide_credentials().await {
        return Err(Error::Setup(credentials_advice(&e.to_string(), settings)));
    }
    let endpoint = settings
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| format!("AWS region {region}"));
    // The first call says whether AWS can be reached at all: it fails fast
    // (two attempts) instead of backing off for a minute on a wrong endpoint.
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&conf)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
            .build(),
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        Error::Setup(format!(
            "cannot reach {endpoint} with these credentials: {}",
            super::describe(&e)
        ))
    })?;
    let arn = identity.arn().unwrap_or_default();
    let (partition, account) = partition_and_account(arn).ok_or_else(|| {
        Error::Setup(format!(
            "{endpoint} gave no usable caller ARN (`{arn}`): cannot build resource ARNs"
        ))
    })?;
    Ok(Clients {
        ec2: aws_sdk_ec2::Client::new(&conf),
        asg: aws_sdk_autoscaling::Client::new(&conf),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
        ddb: aws_sdk_dynamodb::Client::new(&conf),
        ssm: aws_sdk_ssm::Client::new(&conf),
        iam: aws_sdk_iam::Client::new(&conf),
        account,
        partition,
        region,
        endpoint,
        caller: arn.to_string(),
    })
}

/// How the SDK clients retry: adaptive mode (it slows itself down when AWS
/// throttles, as the ELB, EC2 and Parameter Store APIs do under a demo's
/// polling) with more attempts than the default 3, backing off up to 20 s.
/// `AWS_MAX_ATTEMPTS` or `AWS_RETRY_MODE` in the environment take precedence.
pub(crate) fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::adaptive()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_max_backoff(std::time::Duration::from_secs(20))
}

/// Attempts per SDK call (the SDK's default is 3).
pub(crate) const MAX_ATTEMPTS: u32 = 10;

/// What to do when no credentials could be loaded: an expired or missing SSO
/// session wants `aws sso login`, anything else keys or a profile.
fn credentials_advice(error: &str, settings: &AwsSettings) -> String {
    let lower = error.to_ascii_lowercase();
    let profile = settings
        .profile
        .as_deref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    if lower.contains("sso") || lower.contains("token") && lower.contains("expired") {
        format!(
            "the AWS SSO session is missing or expired ({error}): run `aws sso login{profile}` and try again"
        )
    } else {
        format!(
            "no AWS credentials found ({error}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, or run `aws configure`"
        )
    }
}

/// The partition and the account of an ARN (`arn:PARTITION:service:region:ACCOUNT:…`).
fn partition_and_account(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.split(':');
    let (arn, partition) = (parts.next()?, parts.next()?);
    let account = parts.nth(2)?;
    let ok = arn == "arn"
        && !partition.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| (partition.to_string(), account.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_sso_session_is_told_to_log_in_again() {
        let settings = AwsSettings {
            profile: Some("dev".into()),
            ..AwsSettings::default()
        };
        let sso = credentials_advice(
            "the SSO session has expired or is invalid: token expired",
            &settings,
        );
        assert!(sso.contains("`aws sso login --profile dev`"), "{sso}");
        let keys = credentials_advice("no providers in chain provided credentials", &settings);
        assert!(
            keys.contains("aws configure") && !keys.contains("sso"),
            "{keys}"
        );
    }

    #[test]
    fn clients_retry_adaptively_with_more_attempts() {
        let r = retry_config();
        assert_eq!(r.mode(), aws_config::retry::RetryMode::Adaptive);
        assert_eq!(r.max_attempts(), MAX_ATTEMPTS);
    }

    #[test]
    fn partition_and_account_come_from_the_caller_arn() {
        assert_eq!(
            partition_and_account("arn:aws-cn:iam::123456789012:user/me"),
            Some(("aws-cn".into(), "123456789012".into()))
        );
        assert_eq!(
            partition_and_account("arn:aws:sts::210987654321:assumed-role/r/s"),
            Some(("aws".into(), "210987654321".into()))
        );
        for bad in [
            "",
            "arn:aws:iam::user/me",
            "arn::iam::123456789012:x",
            "x:aws:iam::123456789012:u",
        ] {
            assert_eq!(partition_and_account(bad), None, "{bad}");
        }
    }
}

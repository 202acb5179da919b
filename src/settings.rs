//! Settings of a session: which backend, which names, how fast local time runs.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Which cloud the script API talks to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded local cloud on 127.0.0.1.
    #[default]
    Local,
    /// Real AWS through the AWS SDK for Rust.
    Aws,
}

impl Backend {
    /// The backend's name as scripts and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Aws => "aws",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "local" => Ok(Backend::Local),
            "aws" => Ok(Backend::Aws),
            other => Err(Error::InvalidArgument(format!(
                "unknown backend `{other}`: expected `local` or `aws`"
            ))),
        }
    }
}

/// The default resource name prefix.
pub const DEFAULT_PREFIX: &str = "resilient-demo";
/// The default local time scale: 10 s of cloud time pass in 1 s.
pub const DEFAULT_TIME_SCALE: f64 = 0.05;

/// How to reach AWS (the `aws` backend only). Unset fields fall back to the
/// standard AWS configuration chain (environment, profile files, instance role).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsSettings {
    /// The region, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// A named profile from the shared AWS config files.
    pub profile: Option<String>,
    /// Another endpoint for every service (an emulator such as moto).
    pub endpoint_url: Option<String>,
    /// Your own public IP, for the port-80 rule (otherwise it is asked for).
    pub my_ip: Option<String>,
    /// Static access key and secret instead of the credential chain (for
    /// tests against an emulator, and embedders).
    pub credentials: Option<(String, String)>,
}

/// Settings of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The backend.
    pub backend: Backend,
    /// The prefix every resource name derives from.
    pub prefix: String,
    /// Local cloud only: how fast cloud time runs (0.05 = twenty times faster than AWS).
    pub time_scale: f64,
    /// How many instances the group keeps.
    pub instances: usize,
    /// How to reach AWS.
    pub aws: AwsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backend: Backend::Local,
            prefix: DEFAULT_PREFIX.to_string(),
            time_scale: DEFAULT_TIME_SCALE,
            instances: 3,
            aws: AwsSettings::default(),
        }
    }
}

impl Settings {
    /// The wall-clock time `cloud` seconds of cloud time take: the same on
    /// AWS, scaled by the time scale on the local cloud. A script states its
    /// waits in cloud time, sized for AWS, and runs unchanged on both.
    pub fn wall(&self, cloud: std::time::Duration) -> std::time::Duration {
        match self.backend {
            Backend::Local => cloud.mul_f64(self.time_scale),
            Backend::Aws => cloud,
        }
    }

    /// Checks the settings, saying which one is wrong.
    pub fn validate(&self) -> Result<()> {
        if !(0.001..=1.0).contains(&self.time_scale) {
            return Err(Error::InvalidArgument(format!(
                "time scale {} is outside 0.001..=1.0",
                self.time_scale
            )));
        }
        if !(1..=9).contains(&self.instances) {
            return Err(Error::InvalidArgument(format!(
                "instance count {} is outside 1..=9",
                self.instances
            )));
        }
        crate::names::Names::check_prefix(&self.prefix)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_cloud_time_scaled_only_on_the_local_cloud() {
        let ten_minutes = std::time::Duration::from_secs(600);
        let local = Settings::default();
        assert_eq!(local.wall(ten_minutes), std::time::Duration::from_secs(30));
        let aws = Settings {
            backend: Backend::Aws,
            ..Settings::default()
        };
        assert_eq!(aws.wall(ten_minutes), ten_minutes);
    }

    #[test]
    fn backend_parses_case_insensitively_and_rejects_others() {
        assert_eq!("LOCAL".parse::<Backend>().unwrap(), Backend::Local);
        assert_eq!("aws".parse::<Backend>().unwrap(), Backend::Aws);
        assert!("gcp".parse::<Backend>().is_err());
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let mut s = Settings::default();
        assert!(s.validate().is_ok());
        s.prefix = "bad prefix".into();
        assert!(s.validate().unwrap_err().to_string().contains("prefix"));
        s = Settings {
            time_scale: 5.0,
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("time scale"));
    }
}

//! Releases: launch template versions (what instances run) and the instance
//! refresh that rolls one out over the group, in cloud words.
//!
//! A version is the service's release: a label its answers carry
//! (`Metadata.Version`) and, to show a bad release, how it is broken.

use super::states::RefreshStatus;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a release is broken (a bad release, for demonstrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Break {
    /// A good release.
    #[default]
    None,
    /// Its deep health check fails (503); requests are answered.
    DeepCheck,
    /// Requests (`GET /`) answer 500 and the deep health check fails (503):
    /// the release cannot read its dependency. A shallow check passes.
    Error500,
    /// The server never starts: connections are refused.
    CrashAtBoot,
    /// The server starts [`SLOW_START_S`] later than a good release's.
    SlowStart,
}

/// How much later (cloud seconds) a `slow_start` release's server answers.
pub const SLOW_START_S: u64 = 120;

impl Break {
    /// Every kind, in order.
    pub const ALL: [Break; 5] = [
        Break::None,
        Break::DeepCheck,
        Break::Error500,
        Break::CrashAtBoot,
        Break::SlowStart,
    ];

    /// The word scripts use: `none`, `deep_check`, `error_500`,
    /// `crash_at_boot`, `slow_start`.
    pub fn as_str(self) -> &'static str {
        match self {
            Break::None => "none",
            Break::DeepCheck => "deep_check",
            Break::Error500 => "error_500",
            Break::CrashAtBoot => "crash_at_boot",
            Break::SlowStart => "slow_start",
        }
    }
}

impl std::str::FromStr for Break {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Break::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "broken `{s}`: expected one of {}",
                    Break::ALL.map(|b| format!("\"{}\"", b.as_str())).join(", ")
                ))
            })
    }
}

/// One release: what a launch template version makes instances run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The label its answers carry, e.g. `v2` (1 to 32 letters, digits, `.`, `_` or `-`).
    pub label: String,
    /// How it is broken.
    pub broken: Break,
}

impl Release {
    /// The release deploy creates: version 1, `v1`, good.
    pub fn first() -> Self {
        Release {
            label: "v1".into(),
            broken: Break::None,
        }
    }

    /// Checks the label (it travels in user data, an environment variable
    /// and a JSON answer).
    pub fn validate(&self) -> Result<()> {
        let ok = !self.label.is_empty()
            && self.label.len() <= 32
            && self
                .label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "version label `{}`: 1 to 32 letters, digits, `.`, `_` or `-`",
                self.label
            )))
        }
    }

    /// The version description written on AWS (and read back):
    /// `resilient release=<label> broken=<kind>`.
    pub fn description(&self) -> String {
        format!(
            "resilient release={} broken={}",
            self.label,
            self.broken.as_str()
        )
    }

    /// Reads a description written by [`Release::description`].
    pub fn from_description(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("resilient release=")?;
        let (label, broken) = rest.split_once(" broken=")?;
        Some(Release {
            label: label.to_string(),
            broken: broken.parse().ok()?,
        })
    }
}

/// One version of the launch template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// Its number (1 is the one deploy creates).
    pub number: u32,
    /// What it runs (`None` for a version this tool did not write).
    pub release: Option<Release>,
}

/// The launch template's versions and the one the group launches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Every version, oldest first.
    pub all: Vec<VersionInfo>,
    /// The version the group launches new instances from.
    pub group: u32,
}

impl Versions {
    /// The release of version `number`, if known.
    pub fn release(&self, number: u32) -> Option<&Release> {
        self.all
            .iter()
            .find(|v| v.number == number)
            .and_then(|v| v.release.as_ref())
    }
}

/// An instance refresh's preferences, as `StartInstanceRefresh` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshPreferences {
    /// Percentage of the desired capacity that must stay healthy (0..=100;
    /// AWS's default 90).
    pub min_healthy_percentage: u32,
    /// Percentage of the desired capacity the group may grow to while it
    /// replaces (100..=200); `None` is AWS's default without an instance
    /// maintenance policy (100).
    pub max_healthy_percentage: Option<u32>,
    /// Seconds after a new instance is healthy before it counts as updated
    /// and the next batch starts (cloud seconds; 0..=3600 here).
    pub warmup_s: u32,
    /// Percentages at which the refresh pauses, ascending, each 1..=100.
    pub checkpoints: Vec<u32>,
    /// Seconds a checkpoint pauses (AWS's default 3600 when checkpoints are given).
    pub checkpoint_delay_s: u32,
    /// Whether a failed refresh rolls back to the previous version.
    pub auto_rollback: bool,
}

impl Default for RefreshPreferences {
    fn default() -> Self {
        RefreshPreferences {
            min_healthy_percentage: 90,
            max_healthy_percentage: None,
            warmup_s: 300,
            checkpoints: Vec::new(),
            checkpoint_delay_s: 3600,
            auto_rollback: false,
        }
    }
}

impl RefreshPreferences {
    /// Checks the preferences against AWS's documented ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.min_healthy_percentage > 100 {
            return bad(format!(
                "min_healthy_percentage {}: expected 0..=100",
                self.min_healthy_percentage
            ));
        }
        if let Some(max) = self.max_healthy_percentage {
            if !(100..=200).contains(&max) {
                return bad(format!("max_healthy_percentage {max}: expected 100..=200"));
            }
            if max - self.min_healthy_percentage.min(max) > 100 {
                return bad(format!(
                    "max_healthy_percentage {max} and min_healthy_percentage {}: they may differ by 100 at most",
                    self.min_healthy_percentage
                ));
            }
            if max == 100 && self.min_healthy_percentage == 100 {
                return bad("min_healthy_percentage and max_healthy_percentage cannot both be 100: nothing could be replaced".into());
            }
        }
        if self.warmup_s > 3600 {
            return bad(format!("warmup_s {}: expected 0..=3600", self.warmup_s));
        }
        if self.checkpoint_delay_s > 172_800 {
            return bad(format!(
                "checkpoint_delay_s {}: expected 0..=172800",
                self.checkpoint_delay_s
            ));
        }
        let ascending = self.checkpoints.windows(2).all(|w| w[0] < w[1]);
        if !ascending || self.checkpoints.iter().any(|p| !(1..=100).contains(p)) {
            return bad(format!(
                "checkpoints {:?}: ascending percentages, each 1..=100",
                self.checkpoints
            ));
        }
        Ok(())
    }
}

/// An instance refresh as `DescribeInstanceRefreshes` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshView {
    /// The refresh's id.
    pub id: String,
    /// Its status, in AWS's words.
    pub status: RefreshStatus,
    /// Why it is in that status, when AWS says.
    pub status_reason: Option<String>,
    /// Percentage of instances replaced (healthy and warmed up); goes back
    /// down during a rollback.
    pub percentage_complete: u32,
    /// Instances still to replace.
    pub instances_to_update: u32,
    /// The version rolled out (when known).
    pub version: Option<u32>,
}

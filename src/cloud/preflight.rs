//! What a preflight found before anything was created: one line per check,
//! each failure one sentence saying what to do.

use crate::error::{Error, Result};
use serde::Serialize;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It holds.
    Passed,
    /// It does not: deploying would fail or touch someone else's resources.
    Failed,
    /// It could not be checked (e.g. the endpoint cannot simulate policies);
    /// deploying goes on.
    Skipped,
}

impl Outcome {
    /// The outcome in one word: `ok`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `permissions`.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What was found, in one sentence (for a failure: what to do).
    pub detail: String,
}

impl Check {
    /// A check that holds.
    pub fn passed(name: &str, detail: impl Into<String>) -> Self {
        Check::new(name, Outcome::Passed, detail)
    }

    /// A check that does not hold.
    pub fn failed(name: &str, detail: impl Into<String>) -> Self {
        Check::new(name, Outcome::Failed, detail)
    }

    /// A check that could not be made.
    pub fn skipped(name: &str, detail: impl Into<String>) -> Self {
        Check::new(name, Outcome::Skipped, detail)
    }

    fn new(name: &str, outcome: Outcome, detail: impl Into<String>) -> Self {
        Check {
            name: name.to_string(),
            outcome,
            detail: detail.into(),
        }
    }
}

/// Every check of one preflight, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Preflight {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Failed)
    }

    /// The checks that could not be made.
    pub fn skipped(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Skipped)
    }

    /// `Ok` when no check failed, else one error holding each failure's
    /// sentence (nothing has been created).
    pub fn into_result(self) -> Result<Preflight> {
        if self.passed() {
            return Ok(self);
        }
        let sentences: Vec<String> = self.failures().map(|c| with_full_stop(&c.detail)).collect();
        Err(Error::Setup(format!(
            "preflight failed, nothing was created: {}",
            sentences.join(" ")
        )))
    }
}

fn with_full_stop(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// The IAM policy this tool needs on AWS, least privilege, filled in for the
/// account and partition of the credentials in `aws` and for `prefix`
/// (`resilient preflight --policy`).
pub async fn aws_policy(aws: &crate::settings::AwsSettings, prefix: &str) -> Result<String> {
    let clients = super::aws::clients::connect(aws).await?;
    Ok(super::aws::preflight::policy_for(&clients, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_stop_and_each_is_one_sentence_of_the_error() {
        let ok = Preflight {
            checks: vec![
                Check::passed("credentials", "you are someone"),
                Check::skipped("permissions", "cannot simulate"),
            ],
        };
        assert!(ok.clone().into_result().is_ok());
        let bad = Preflight {
            checks: vec![
                Check::failed("zones", "only one zone offers t3.micro"),
                Check::passed("credentials", "you are someone"),
                Check::failed("names", "p-lb is someone else's."),
            ],
        };
        let e = bad.into_result().unwrap_err().to_string();
        assert_eq!(
            e,
            "preflight failed, nothing was created: only one zone offers t3.micro. p-lb is someone else's."
        );
    }
}

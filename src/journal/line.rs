//! A journal line — the header, an event, or the outcome: the one set of
//! types the journal writes and every reader (the report, summaries,
//! comparisons) reads back.

use super::entry::Entry;
use super::junit::CheckRecord;
use crate::cloud::Resource;
use crate::cloud::health_check::{HealthCheckSettings, TARGET_GROUP};
use crate::settings::{Backend, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The journal schema's version, in every header.
///
/// It changes only when a meaning changes: a field or an event kind renamed
/// or removed, a field's type or unit changed, a word given another sense —
/// whatever would make a reader of the old version misread a new journal.
/// Adding an event kind or a field does not change it: readers keep and
/// skip event kinds they do not know and ignore fields they do not know,
/// and a field added later is optional when read (`#[serde(default)]`), so
/// older journals still read.
pub const SCHEMA: u32 = 1;

/// The tool every header names.
pub const TOOL: &str = "resilient";

/// One line of a journal (`type`: `header`, `event` or `outcome`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The first line: what ran, where, with which settings.
    Header(Header),
    /// Something that happened, at its time.
    Event(Entry),
    /// The last line, once the run has ended: how it ended.
    Outcome(RunOutcome),
}

/// What ran, where, with which settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// The journal schema's version ([`SCHEMA`]).
    pub schema: u32,
    /// `resilient`.
    pub tool: String,
    /// The version of the tool that wrote the journal.
    pub version: String,
    /// Which cloud the run used.
    pub backend: Backend,
    /// The prefix every resource name derives from.
    pub prefix: String,
    /// The settings that shape the run.
    pub settings: RunSettings,
    /// The script run, or none for a REPL session.
    pub script: Option<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
}

/// The settings that shape a run.
// Fields in the order the first journals wrote them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunSettings {
    /// AWS: the endpoint every call went to (an emulator), when one was given.
    pub endpoint_url: Option<String>,
    /// How many instances the group keeps.
    pub instances: usize,
    /// AWS: the region, when one was given.
    pub region: Option<String>,
    /// Local cloud: wall seconds per cloud second.
    pub time_scale: f64,
    /// How the load balancer checks its targets (none in journals written
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSettings>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunOutcome {
    /// The process's exit code, as `resilient::Exit` lists them (0 passed,
    /// 1 an error, 3 a check or hypothesis failed, 4 stopped by a guardrail,
    /// 5 worse than the baseline, 6 cleanup incomplete, 7 crashed, 130
    /// interrupted).
    pub exit_code: u8,
    /// Why the run ended as it did, in words (none for a pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many checks held and failed.
    pub checks: CheckCounts,
    /// What the deployment still held at the end.
    pub still_deployed: Vec<Resource>,
}

/// How many checks held and failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckCounts {
    /// Checks that held.
    pub passed: u64,
    /// Checks that did not.
    pub failed: u64,
}

impl RunSettings {
    /// Cloud milliseconds in `wall_ms` of this run (the local cloud's time
    /// runs `1 / time_scale` times faster than the wall clock; AWS's is the
    /// wall clock's).
    pub fn cloud_ms(&self, backend: Backend, wall_ms: u64) -> u64 {
        match backend {
            Backend::Local if self.time_scale > 0.0 => (wall_ms as f64 / self.time_scale) as u64,
            _ => wall_ms,
        }
    }
}

impl Header {
    /// The header of a run starting now with these settings (`script`:
    /// none for a REPL session).
    pub fn new(settings: &Settings, script: Option<&str>) -> Self {
        Header {
            schema: SCHEMA,
            tool: TOOL.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            backend: settings.backend,
            prefix: settings.prefix.clone(),
            settings: RunSettings {
                endpoint_url: settings.aws.endpoint_url.clone(),
                instances: settings.instances,
                region: settings.aws.region.clone(),
                time_scale: settings.time_scale,
                health_check: Some(TARGET_GROUP),
            },
            script: script.map(str::to_string),
            started_at: super::now_rfc3339(),
        }
    }
}

impl RunOutcome {
    /// How a run ended: its exit code, its checks, what it left deployed.
    pub fn new(exit_code: u8, checks: &[CheckRecord], still_deployed: &[Resource]) -> Self {
        let failed = checks.iter().filter(|c| !c.passed).count() as u64;
        RunOutcome {
            exit_code,
            reason: None,
            checks: CheckCounts {
                passed: checks.len() as u64 - failed,
                failed,
            },
            still_deployed: still_deployed.to_vec(),
        }
    }

    /// The same outcome, with why it ended so.
    pub fn because(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }
}

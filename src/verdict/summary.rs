//! The machine-readable summary of a run (`resilient summary JOURNAL`,
//! `resilient run … --summary FILE`): its verdict, objective, every fault
//! measured, each phase's figures, its checks and what it left deployed —
//! versioned ([`SUMMARY_SCHEMA`]), its JSON Schema in
//! `docs/summary.schema.json` (a test keeps it in step).

use super::timeline::Timeline;
use super::{Assessment, assess};
use crate::cloud::Resource;
use crate::events::EventKind;
use crate::journal::{CheckRecord, Run};
use crate::settings::Backend;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The summary format's version. It changes only when a meaning changes (a
/// field renamed, removed, or given another unit); added fields do not.
pub const SUMMARY_SCHEMA: u32 = 1;

/// What a run proves, for machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// The summary format's version ([`SUMMARY_SCHEMA`]).
    pub schema: u32,
    /// The version of the tool that made the summary.
    pub version: String,
    /// The script run, or none for a REPL session.
    pub script: Option<String>,
    /// Which cloud the run used.
    pub backend: Backend,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The process's exit code; none when the run did not end.
    pub exit_code: Option<u8>,
    /// The coarsest a duration here is measured (cloud ms): one window of
    /// the objective, or one health-check interval (state is looked at
    /// about that often), whichever is longer.
    pub resolution_ms: u64,
    /// The verdict, its reasons, the objective and every fault measured
    /// (durations in cloud ms).
    #[serde(flatten)]
    pub assessment: Assessment,
    /// Each phase (from one heading to the next), with what customers saw in it.
    pub phases: Vec<Phase>,
    /// Every check, in order.
    pub checks: Vec<CheckRecord>,
    /// What the deployment still held at the end; none when the run did not end.
    pub still_deployed: Option<Vec<Resource>>,
}

/// One phase of a run: from a heading (or the start) to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Phase {
    /// Its heading (`""` before the first).
    pub heading: String,
    /// Its start (cloud ms since the run started).
    pub start_ms: u64,
    /// How long it lasted (cloud ms).
    pub duration_ms: u64,
    /// Windows of load that started in it.
    pub windows: u64,
    /// Of them, below the objective.
    pub missed: u64,
    /// Requests sent in those windows.
    pub requests: u64,
    /// Of them, answered 2xx.
    pub ok: u64,
    /// `ok / requests` (1 when none was sent).
    pub success_rate: f64,
    /// The lowest success rate of one of its windows (1 without windows).
    pub worst_success_rate: f64,
    /// The highest 99th percentile latency of one of its windows.
    pub worst_p99_ms: f64,
}

/// The summary of a run.
pub fn summarize(run: &Run) -> Summary {
    let timeline = Timeline::of(run);
    let window_ms = timeline.cloud(timeline.objective().window_ms);
    let interval_ms = run
        .header
        .settings
        .health_check
        .map_or(0, |h| u64::from(h.interval_s) * 1000);
    Summary {
        schema: SUMMARY_SCHEMA,
        version: env!("CARGO_PKG_VERSION").to_string(),
        script: run.header.script.clone(),
        backend: run.header.backend,
        started_at: run.header.started_at.clone(),
        exit_code: run.outcome.as_ref().map(|o| o.exit_code),
        resolution_ms: window_ms.max(interval_ms),
        assessment: assess(run),
        phases: phases(&timeline),
        checks: run.checks(),
        still_deployed: run.outcome.as_ref().map(|o| o.still_deployed.clone()),
    }
}

/// Each phase's figures.
fn phases(t: &Timeline<'_>) -> Vec<Phase> {
    let mut starts: Vec<(u64, &str)> = t
        .run
        .known()
        .filter_map(|(at, kind)| match kind {
            EventKind::Heading { text } => Some((at, text.as_str())),
            _ => None,
        })
        .collect();
    if starts.first().is_none_or(|(at, _)| *at > 0) {
        starts.insert(0, (0, ""));
    }
    let end = t.run.end_ms();
    let objective = t.objective();
    (0..starts.len())
        .map(|i| {
            let (from, heading) = starts[i];
            let to = starts.get(i + 1).map_or(end.max(from), |s| s.0);
            let inside: Vec<_> = t
                .windows
                .iter()
                .filter(|w| w.start_ms >= from && (w.start_ms < to || i + 1 == starts.len()))
                .collect();
            let requests = inside.iter().map(|w| w.window.count).sum();
            let ok = inside.iter().map(|w| w.window.ok).sum();
            Phase {
                heading: heading.to_string(),
                start_ms: t.cloud(from),
                duration_ms: t.cloud(to - from),
                windows: inside.len() as u64,
                missed: inside
                    .iter()
                    .filter(|w| !objective.met_by(w.window))
                    .count() as u64,
                requests,
                ok,
                success_rate: crate::loadgen::success_rate(ok, requests),
                worst_success_rate: inside
                    .iter()
                    .map(|w| w.window.success_rate())
                    .fold(1.0, f64::min),
                worst_p99_ms: inside.iter().map(|w| w.window.p99_ms).fold(0.0, f64::max),
            }
        })
        .filter(|p| !(p.heading.is_empty() && p.duration_ms == 0 && p.windows == 0))
        .collect()
}

/// A journal or a summary could not be read as a summary.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A journal that does not read.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// Neither a journal nor a summary.
    #[error("{} is neither a journal nor a summary: {message}", path.display())]
    Neither {
        /// The file.
        path: std::path::PathBuf,
        /// What the summary parser said.
        message: String,
    },
    /// A summary of a newer format.
    #[error("the summary {} is of schema {found}, newer than this resilient reads ({SUMMARY_SCHEMA})", path.display())]
    Newer {
        /// The file.
        path: std::path::PathBuf,
        /// Its schema.
        found: u64,
    },
}

/// The summary in a file: a journal's (summarized now) or a summary's own.
pub fn read(path: &std::path::Path) -> Result<Summary, SummaryError> {
    let text =
        crate::files::read_text(path, crate::files::MAX_JOURNAL_BYTES).map_err(|source| {
            SummaryError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let is_journal =
        serde_json::from_str::<serde_json::Value>(first).is_ok_and(|v| v["type"] == "header");
    if is_journal {
        return Ok(summarize(&crate::journal::parse(&text)?));
    }
    let neither = |message: String| SummaryError::Neither {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| neither(e.to_string()))?;
    match value["schema"].as_u64() {
        Some(found) if found > u64::from(SUMMARY_SCHEMA) => Err(SummaryError::Newer {
            path: path.to_path_buf(),
            found,
        }),
        _ => serde_json::from_value(value).map_err(|e| neither(e.to_string())),
    }
}

/// The JSON Schema (draft 2020-12) of a summary, pretty-printed, with a
/// final newline.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Summary);
    schema.insert(
        "title".into(),
        format!("resilient run summary (schema {SUMMARY_SCHEMA})").into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/summary.schema.json");

    #[test]
    fn the_schema_in_docs_is_in_step_with_the_types() {
        let written = std::fs::read_to_string(FILE).unwrap_or_default();
        assert!(
            written == json_schema(),
            "docs/summary.schema.json is out of step with the summary's types: update it with\n  cargo run -- summary-schema > docs/summary.schema.json"
        );
    }
}

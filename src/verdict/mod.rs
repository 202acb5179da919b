//! What a run proves, from its journal alone (so also after the fact, and
//! after a crash): the service-level objective a script declared
//! ([`Objective`], `slo(#{…})`), judged on every window of every load; each
//! fault measured ([`FaultMeasure`]); the hypotheses (a verdict, never a
//! stop) and the run's verdict — pass, fail or inconclusive, with reasons.
//!
//! - [`objective`]: the objective and whether a window meets it;
//! - `timeline` (inside): what the measurements read from a journal;
//! - [`faults`]: every fault measured;
//! - [`hypothesis`]: claims and whether they held;
//! - [`assess`]: the run's verdict;
//! - [`summary`]: all of it for machines, versioned;
//! - [`compare`]: a run against a baseline.

pub mod compare;
pub mod faults;
pub mod hypothesis;
pub mod objective;
pub mod summary;
pub(crate) mod timeline;

pub use faults::{Detection, FaultMeasure, Impact, Predicted, Replacement};
pub use hypothesis::{Hypothesis, Outcome};
pub use objective::Objective;
pub use summary::{SUMMARY_SCHEMA, Summary, summarize};

use crate::journal::Run;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use timeline::Timeline;

/// A run's verdict, its reasons, and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Assessment {
    /// Pass, fail or inconclusive.
    pub verdict: Outcome,
    /// Why: what failed, then what leaves it open, then notes (empty for a
    /// pass with nothing to say).
    pub reasons: Vec<String>,
    /// The objective windows were judged on.
    pub objective: Objective,
    /// Whether the script declared it (else the default was used to measure
    /// faults, and the hypotheses do not count in the verdict).
    pub declared: bool,
    /// Windows of load in the run, and how many missed the objective.
    pub windows: WindowCount,
    /// The steady state before any fault.
    pub steady_state: Hypothesis,
    /// Every fault, measured, in order.
    pub faults: Vec<FaultMeasure>,
}

/// Windows of load, and how many missed the objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WindowCount {
    /// Windows of every load.
    pub total: u64,
    /// Of them, below the objective.
    pub missed: u64,
}

/// Judges a run from its journal.
pub fn assess(run: &Run) -> Assessment {
    let t = Timeline::of(run);
    let objective = t.objective();
    let first_fault = t.faults.first().map_or(u64::MAX, |f| f.0);
    let before: Vec<_> = t
        .windows
        .iter()
        .filter(|w| w.end_ms <= first_fault)
        .collect();
    let steady_state = Hypothesis::steady_state(
        before.len(),
        before
            .iter()
            .filter(|w| !objective.met_by(w.window))
            .count(),
    );
    let faults = faults::measure(&t);
    let windows = WindowCount {
        total: t.windows.len() as u64,
        missed: t
            .windows
            .iter()
            .filter(|w| !objective.met_by(w.window))
            .count() as u64,
    };
    let mut fail = Vec::new();
    let mut unsure = Vec::new();
    // Said, but not weighed.
    let mut notes = Vec::new();
    match &run.outcome {
        None => unsure.push("the run did not end: it was killed, or is still running".to_string()),
        Some(o) if o.exit_code == crate::Exit::Interrupted.code() => {
            unsure.push("the run was interrupted".to_string())
        }
        Some(o) if o.exit_code == crate::Exit::Crashed.code() => unsure.push(format!(
            "the run crashed: {}",
            o.reason.as_deref().unwrap_or("no cause recorded")
        )),
        Some(o) => {
            let errored = [crate::Exit::Failure, crate::Exit::Incomplete]
                .iter()
                .any(|e| e.code() == o.exit_code);
            if o.checks.failed > 0 {
                fail.push(format!(
                    "{} of {} checks failed",
                    o.checks.failed,
                    o.checks.failed + o.checks.passed
                ));
            } else if errored && t.guardrails.is_empty() {
                fail.push(match &o.reason {
                    Some(why) => why.clone(),
                    None => format!("the script failed (exit code {})", o.exit_code),
                });
            }
        }
    }
    if t.windows.is_empty() {
        unsure.push("no load ran: nothing shows what customers saw".to_string());
    }
    for why in &t.guardrails {
        fail.push(format!("a guardrail stopped the run: {why}"));
    }
    let judged: Vec<&Hypothesis> = match t.declared {
        Some(_) => std::iter::once(&steady_state)
            .chain(faults.iter().map(|f| &f.hypothesis))
            .collect(),
        None => {
            notes.push(
                "no objective declared (`slo`): faults are measured by the default, and only checks judge the run"
                    .to_string(),
            );
            Vec::new()
        }
    };
    for h in judged {
        match h.outcome {
            Outcome::Fail => fail.push(format!("{}: {}", h.name, h.detail)),
            Outcome::Inconclusive if !t.windows.is_empty() => {
                unsure.push(format!("{}: {}", h.name, h.detail))
            }
            _ => {}
        }
    }
    let verdict = if !fail.is_empty() {
        Outcome::Fail
    } else if !unsure.is_empty() {
        Outcome::Inconclusive
    } else {
        Outcome::Pass
    };
    let mut reasons = fail;
    reasons.extend(unsure);
    reasons.extend(notes);
    Assessment {
        verdict,
        reasons,
        objective,
        declared: t.declared.is_some(),
        windows,
        steady_state,
        faults,
    }
}

#[cfg(test)]
mod tests;

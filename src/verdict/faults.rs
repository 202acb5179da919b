//! Every fault measured from the journal: how long until the load balancer
//! or the group reacted, what customers lost and for how long, until when a
//! replacement served, whether the load balancer failed open — each in
//! cloud ms from the fault, beside what the health-check settings promise.

use super::hypothesis::Hypothesis;
use super::timeline::{Placed, Timeline};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One fault, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultMeasure {
    /// The fault, in words.
    pub what: String,
    /// Its kind: its words with instance ids left out (faults of two runs
    /// are matched by kind and order).
    pub kind: String,
    /// When it was injected (cloud ms since the run started).
    pub at_ms: u64,
    /// How long until the load balancer or the group reacted, if they did
    /// before the next fault or reset.
    pub detect: Option<Detection>,
    /// What the health-check settings promise a detection takes, when the
    /// journal has them.
    pub detect_predicted: Option<Predicted>,
    /// What customers lost, if a load ran after the fault.
    pub impact: Option<Impact>,
    /// From the fault until the objective held again for the recovery's
    /// windows in a row (0: it never stopped holding); none when it never
    /// held again or no load showed it.
    pub recover_ms: Option<u64>,
    /// An instance launched after the fault, until it served.
    pub replace: Option<Replacement>,
    /// Whether, before the next fault or reset, every target was unhealthy
    /// while customers were still answered 2xx (the load balancer failed open).
    pub failed_open: bool,
    /// The fault's hypothesis: customers served within the objective again
    /// (within the objective's `recover_within_ms`, when it has one).
    pub hypothesis: Hypothesis,
}

/// The first reaction to a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detection {
    /// From the fault (cloud ms).
    pub after_ms: u64,
    /// What reacted, in words.
    pub by: String,
}

/// The time a detection may take by the settings (cloud ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Predicted {
    /// The soonest: the first check after the fault fails, then the others.
    pub after_ms: u64,
    /// The latest: a whole interval before the first check, then threshold
    /// checks, the last one timing out.
    pub within_ms: u64,
    /// How the bound is made, in words.
    pub rule: String,
}

/// What customers lost to a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Impact {
    /// From the fault to the start of the first window below the objective
    /// (cloud ms); none when every window met it.
    pub first_ms: Option<u64>,
    /// From the fault to the end of the last window below the objective
    /// before it held again (cloud ms).
    pub last_ms: Option<u64>,
    /// Requests sent from the first window below the objective until it held again.
    pub requests: u64,
    /// Of them, not answered 2xx.
    pub failed: u64,
    /// The share of the run's error budget (requests the objective lets
    /// fail over the whole run) these failures spent; none when the
    /// objective allows no failure.
    pub budget_spent: Option<f64>,
    /// The lowest success rate of a window in that time.
    pub worst_success_rate: f64,
    /// The highest 99th percentile latency of a window in that time.
    pub worst_p99_ms: f64,
}

/// An instance launched after a fault, until it served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Replacement {
    /// The instance.
    pub instance: String,
    /// From the fault until it was first seen (cloud ms).
    pub launched_ms: u64,
    /// From the fault until it was a healthy target (cloud ms); none if it
    /// never was.
    pub healthy_ms: Option<u64>,
}

/// A fault's kind: its words, with instance ids (`i-…`) written `i-*`.
pub fn kind_of(what: &str) -> String {
    what.split(' ')
        .map(|w| if w.starts_with("i-") { "i-*" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Measures every fault of the timeline.
pub(crate) fn measure(t: &Timeline<'_>) -> Vec<FaultMeasure> {
    let objective = t.objective();
    let total: u64 = t.windows.iter().map(|w| w.window.count).sum();
    let allowance = (1.0 - objective.success_rate) * total as f64;
    let predicted = t.run.header.settings.health_check.map(|h| Predicted {
        after_ms: h.detect_after_ms(),
        within_ms: h.detect_within_ms(),
        rule: format!(
            "{} × {} s interval + {} s timeout",
            h.unhealthy_threshold, h.interval_s, h.timeout_s
        ),
    });
    (0..t.faults.len())
        .map(|i| {
            let (at, what) = t.faults[i];
            let end = t.span_end(i);
            let since = |ms: u64| t.cloud(ms.saturating_sub(at));
            let detect = t
                .reactions
                .iter()
                .find(|(r, _)| (at..=end).contains(r))
                .map(|(r, reaction)| Detection {
                    after_ms: since(*r),
                    by: reaction.describe(),
                });
            let after: Vec<&Placed<'_>> = t.windows.iter().filter(|w| w.end_ms > at).collect();
            let (impact, recovered) = impact(&after, end, &objective, allowance);
            let unharmed = impact.as_ref().is_some_and(|m| m.first_ms.is_none());
            let recover_ms = if unharmed {
                Some(0)
            } else {
                recovered.map(since)
            };
            let impact = impact.map(|mut m| {
                m.first_ms = m.first_ms.map(since);
                m.last_ms = m.last_ms.map(since);
                m
            });
            let replace = t
                .launched_after(at)
                .into_iter()
                .find(|(seen, _)| *seen <= end)
                .map(|(seen, id)| Replacement {
                    instance: id.to_string(),
                    launched_ms: since(seen),
                    healthy_ms: t
                        .healthy
                        .iter()
                        .find(|(h, hid)| *h >= seen && *hid == id)
                        .map(|(h, _)| since(*h)),
                });
            let failed_open = t.all_unhealthy.iter().any(|(from, to)| {
                let (from, to) = ((*from).max(at), (*to).min(end));
                from < to
                    && t.windows
                        .iter()
                        .any(|w| w.start_ms < to && w.end_ms > from && w.window.ok > 0)
            });
            let hypothesis = Hypothesis::of_fault(
                what,
                !after.is_empty(),
                impact.as_ref().and_then(|m| m.first_ms).is_some(),
                recover_ms,
                objective.recover_within_ms,
            );
            FaultMeasure {
                what: what.to_string(),
                kind: kind_of(what),
                at_ms: t.cloud(at),
                detect,
                detect_predicted: predicted.clone(),
                impact,
                recover_ms,
                replace,
                failed_open,
                hypothesis,
            }
        })
        .collect()
}

/// What customers lost in the windows after a fault (`after`, in order),
/// the first window below the objective counted only before `end`; and
/// when (wall ms) the objective held again for its recovery windows in a
/// row (none when it never stopped holding, or never held again).
fn impact(
    after: &[&Placed<'_>],
    end: u64,
    objective: &super::Objective,
    allowance: f64,
) -> (Option<Impact>, Option<u64>) {
    if after.is_empty() {
        return (None, None);
    }
    let Some(first) = after
        .iter()
        .position(|w| w.start_ms < end && !objective.met_by(w.window))
    else {
        let none = Impact {
            first_ms: None,
            last_ms: None,
            requests: 0,
            failed: 0,
            budget_spent: (allowance > 0.0).then_some(0.0),
            worst_success_rate: 1.0,
            worst_p99_ms: 0.0,
        };
        return (Some(none), None);
    };
    let needed = objective.recover_windows.max(1) as usize;
    let mut good_run = 0;
    let mut recovered = None;
    let mut last_bad = first;
    for (i, w) in after.iter().enumerate().skip(first) {
        if objective.met_by(w.window) {
            good_run += 1;
            if good_run == needed {
                recovered = Some(after[i + 1 - needed].start_ms);
                break;
            }
        } else {
            good_run = 0;
            last_bad = i;
        }
    }
    let lost = &after[first..=last_bad];
    let requests: u64 = lost.iter().map(|w| w.window.count).sum();
    let failed: u64 = lost.iter().map(|w| w.window.count - w.window.ok).sum();
    let m = Impact {
        first_ms: Some(after[first].start_ms),
        last_ms: Some(after[last_bad].end_ms),
        requests,
        failed,
        budget_spent: (allowance > 0.0).then(|| failed as f64 / allowance),
        worst_success_rate: lost
            .iter()
            .map(|w| w.window.success_rate())
            .fold(1.0, f64::min),
        worst_p99_ms: lost.iter().map(|w| w.window.p99_ms).fold(0.0, f64::max),
    };
    (Some(m), recovered)
}

//! A run against a baseline (`resilient compare BASE NEW`): per fault
//! (matched by kind and order, so a scenario edited slightly still
//! compares) and per phase (matched by heading and order), the measurements
//! side by side with their change, and the regressions beyond a tolerance.

use super::summary::{Phase, Summary};
use super::{FaultMeasure, Outcome};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How much worse a figure may get before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tolerance {
    /// The share a figure may grow by (0.25: a quarter more).
    pub relative: f64,
}

impl Default for Tolerance {
    /// A quarter: runs of the same scenario differ by a window or a
    /// health-check interval, which the slack covers besides.
    fn default() -> Self {
        Tolerance { relative: 0.25 }
    }
}

/// Requests that may fail beyond the relative tolerance before it counts.
const SLACK_REQUESTS: f64 = 10.0;
/// Share of requests (of a phase) that may fail beyond the tolerance.
const SLACK_RATE: f64 = 0.01;
/// Latency (ms) a phase's worst p99 may grow by beyond the tolerance.
const SLACK_LATENCY_MS: f64 = 100.0;

/// One figure of both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Row {
    /// What it is about: a fault (`fault 2: terminate i-*`) or a phase.
    pub scope: String,
    /// The figure's name (durations in cloud ms).
    pub figure: String,
    /// In the baseline; none when it did not happen there.
    pub base: Option<f64>,
    /// In the new run; none when it did not happen there.
    pub new: Option<f64>,
    /// New minus base, when both have it.
    pub change: Option<f64>,
    /// Whether it got worse beyond the tolerance.
    pub regression: bool,
}

/// Two runs side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// The verdicts (base, new).
    pub verdicts: (Outcome, Outcome),
    /// Every figure compared.
    pub rows: Vec<Row>,
    /// Faults and phases only one of the runs has.
    pub unmatched: Vec<String>,
}

impl Comparison {
    /// Whether anything got worse beyond the tolerance.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.regression)
            || (self.verdicts.0 == Outcome::Pass && self.verdicts.1 == Outcome::Fail)
    }
}

/// Which way is worse for a figure.
#[derive(Clone, Copy)]
enum Worse {
    /// Higher is worse, with this absolute slack besides the tolerance; a
    /// figure that was there and is no longer (never recovered) is worse.
    Higher(f64),
    /// Lower is worse, with this absolute slack.
    Lower(f64),
}

/// A fault's figure: its name, and how to read it (cloud ms).
type FaultFigure = (&'static str, fn(&FaultMeasure) -> Option<u64>);
/// A phase's figure: its name, how to read it, which way is worse.
type PhaseFigure = (&'static str, fn(&Phase) -> f64, Worse);

/// Compares two summaries.
pub fn compare(base: &Summary, new: &Summary, tolerance: Tolerance) -> Comparison {
    let mut c = Comparison {
        verdicts: (base.assessment.verdict, new.assessment.verdict),
        rows: Vec::new(),
        unmatched: Vec::new(),
    };
    let slack_ms = base.resolution_ms.max(new.resolution_ms) as f64;
    let mut row = |scope: &str, figure: &str, b: Option<f64>, n: Option<f64>, worse: Worse| {
        let regression = match (b, n, worse) {
            (Some(b), Some(n), Worse::Higher(slack)) => n > b * (1.0 + tolerance.relative) + slack,
            (Some(b), Some(n), Worse::Lower(slack)) => n < b * (1.0 - tolerance.relative) - slack,
            (Some(_), None, Worse::Higher(_)) => true,
            _ => false,
        };
        c.rows.push(Row {
            scope: scope.to_string(),
            figure: figure.to_string(),
            base: b,
            new: n,
            change: b.zip(n).map(|(b, n)| n - b),
            regression,
        });
    };
    let faults = matched(&base.assessment.faults, &new.assessment.faults, |f| {
        f.kind.clone()
    });
    for (i, (key, b, n)) in faults.iter().enumerate() {
        let scope = format!("fault {}: {key}", i + 1);
        match (b, n) {
            (Some(b), Some(n)) => {
                let ms = |f: &FaultMeasure, get: fn(&FaultMeasure) -> Option<u64>| {
                    get(f).map(|v| v as f64)
                };
                let fig: [FaultFigure; 4] = [
                    ("detect_ms", |f| f.detect.as_ref().map(|d| d.after_ms)),
                    ("impact_ms", |f| {
                        f.impact.as_ref().map(|m| {
                            m.last_ms
                                .unwrap_or(0)
                                .saturating_sub(m.first_ms.unwrap_or(0))
                        })
                    }),
                    ("recover_ms", |f| f.recover_ms),
                    ("replace_ms", |f| {
                        f.replace.as_ref().and_then(|r| r.healthy_ms)
                    }),
                ];
                for (name, get) in fig {
                    row(
                        &scope,
                        name,
                        ms(b, get),
                        ms(n, get),
                        Worse::Higher(slack_ms),
                    );
                }
                let failed = |f: &FaultMeasure| f.impact.as_ref().map(|m| m.failed as f64);
                row(
                    &scope,
                    "failed_requests",
                    failed(b),
                    failed(n),
                    Worse::Higher(SLACK_REQUESTS),
                );
            }
            (Some(_), None) => c.unmatched.push(format!("{scope}: only in the baseline")),
            (None, Some(_)) => c.unmatched.push(format!("{scope}: only in the new run")),
            (None, None) => {}
        }
    }
    let phases = matched(&base.phases, &new.phases, |p| p.heading.clone());
    for (key, b, n) in &phases {
        let scope = format!("phase: {key}");
        match (b, n) {
            (Some(b), Some(n)) => {
                let fig: [PhaseFigure; 3] = [
                    ("success_rate", |p| p.success_rate, Worse::Lower(SLACK_RATE)),
                    (
                        "worst_success_rate",
                        |p| p.worst_success_rate,
                        Worse::Lower(SLACK_RATE),
                    ),
                    (
                        "worst_p99_ms",
                        |p| p.worst_p99_ms,
                        Worse::Higher(SLACK_LATENCY_MS),
                    ),
                ];
                for (name, get, worse) in fig {
                    if b.windows > 0 || n.windows > 0 {
                        row(&scope, name, Some(get(b)), Some(get(n)), worse);
                    }
                }
            }
            (Some(_), None) => c.unmatched.push(format!("{scope}: only in the baseline")),
            (None, Some(_)) => c.unmatched.push(format!("{scope}: only in the new run")),
            (None, None) => {}
        }
    }
    c
}

/// Pairs items of both lists by key and order (the n-th of a key with the
/// n-th of the same key), in the baseline's order, then the new run's rest.
fn matched<'a, T>(
    base: &'a [T],
    new: &'a [T],
    key: impl Fn(&T) -> String,
) -> Vec<(String, Option<&'a T>, Option<&'a T>)> {
    let mut by_key: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for n in new {
        by_key.entry(key(n)).or_default().push(n);
    }
    for list in by_key.values_mut() {
        list.reverse();
    }
    let mut out: Vec<(String, Option<&T>, Option<&T>)> = base
        .iter()
        .map(|b| {
            let k = key(b);
            let n = by_key.get_mut(&k).and_then(Vec::pop);
            (k, Some(b), n)
        })
        .collect();
    for n in new {
        let k = key(n);
        if let Some(list) = by_key.get_mut(&k)
            && list.last().is_some_and(|x| std::ptr::eq(*x, n))
        {
            list.pop();
            out.push((k, None, Some(n)));
        }
    }
    out
}

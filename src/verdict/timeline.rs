//! What the measurements read from a journal, in one pass: the windows of
//! every load on the run's clock, the faults, the target and instance
//! changes, and the conversion of wall time into cloud time.

use super::objective::Objective;
use crate::cloud::states::Seen;
use crate::cloud::{GroupHealth, TargetState};
use crate::events::EventKind;
use crate::journal::Run;
use crate::loadgen::Window;
use std::collections::BTreeMap;

/// One window of a load, placed on the run's clock (wall ms since the start).
#[derive(Debug, Clone)]
pub(crate) struct Placed<'a> {
    /// When it started.
    pub(crate) start_ms: u64,
    /// When it ended.
    pub(crate) end_ms: u64,
    /// What customers saw in it.
    pub(crate) window: &'a Window,
}

/// A change the load balancer or the group made to a target or instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reaction {
    /// A healthy target left `healthy` (its new state's word, its reason).
    TargetLeftHealthy {
        /// The target.
        id: String,
        /// Its new state, in AWS's word.
        state: String,
        /// AWS's reason, when given.
        reason: Option<String>,
    },
    /// The group found an instance unhealthy.
    GroupUnhealthy {
        /// The instance.
        id: String,
    },
}

impl Reaction {
    /// The reaction in words.
    pub(crate) fn describe(&self) -> String {
        match self {
            Reaction::TargetLeftHealthy { id, state, reason } => match reason {
                Some(r) => format!("target {id} {state} ({r})"),
                None => format!("target {id} {state}"),
            },
            Reaction::GroupUnhealthy { id } => format!("the group found {id} unhealthy"),
        }
    }
}

/// The run as the measurements need it (times: wall ms since the start).
#[derive(Debug)]
pub(crate) struct Timeline<'a> {
    /// The run.
    pub(crate) run: &'a Run,
    /// The objective declared (the last, when a script declared several), if any.
    pub(crate) declared: Option<Objective>,
    /// Every load window, in order of start.
    pub(crate) windows: Vec<Placed<'a>>,
    /// Every fault: when, in words.
    pub(crate) faults: Vec<(u64, &'a str)>,
    /// When faults were reverted (`reset`, `rollback`).
    pub(crate) resets: Vec<u64>,
    /// Reactions, in order.
    pub(crate) reactions: Vec<(u64, Reaction)>,
    /// When each instance was first seen.
    pub(crate) first_seen: BTreeMap<&'a str, u64>,
    /// When each target was seen healthy, in order.
    pub(crate) healthy: Vec<(u64, &'a str)>,
    /// Intervals in which every registered target was unhealthy.
    pub(crate) all_unhealthy: Vec<(u64, u64)>,
    /// Guardrails that stopped a load, in words.
    pub(crate) guardrails: Vec<String>,
}

impl<'a> Timeline<'a> {
    /// Reads the run's events once.
    pub(crate) fn of(run: &'a Run) -> Self {
        let mut t = Timeline {
            run,
            declared: None,
            windows: Vec::new(),
            faults: Vec::new(),
            resets: Vec::new(),
            reactions: Vec::new(),
            first_seen: BTreeMap::new(),
            healthy: Vec::new(),
            all_unhealthy: Vec::new(),
            guardrails: Vec::new(),
        };
        let mut loads: BTreeMap<u64, Vec<(u64, &Window)>> = BTreeMap::new();
        let mut targets: BTreeMap<&str, &TargetState> = BTreeMap::new();
        let mut health: BTreeMap<&str, GroupHealth> = BTreeMap::new();
        let mut all_down_since: Option<u64> = None;
        let mut stopped_loads = Vec::new();
        for (at, kind) in run.known() {
            match kind {
                EventKind::Objective { objective } => {
                    t.declared = Some(objective.clone());
                }
                EventKind::LoadWindow {
                    load,
                    start_ms,
                    window,
                } => loads.entry(*load).or_default().push((*start_ms, window)),
                EventKind::Load { stats, .. } => {
                    if let Some(why) = &stats.stopped_by {
                        t.guardrails.push(why.clone());
                    }
                }
                // A load its stop condition ended, whose stats the halted
                // script never collected.
                EventKind::WaitEnd {
                    what, ok: false, ..
                } if what.starts_with("load #") => {
                    stopped_loads.push(format!("{what} ended by its stop condition"));
                }
                EventKind::Fault {
                    what,
                    change: false,
                    ..
                } => t.faults.push((at, what)),
                EventKind::Reset | EventKind::Rollback { .. } => t.resets.push(at),
                EventKind::Target { id, state, reason } => {
                    let was_healthy = targets.get(id.as_str()) == Some(&&TargetState::Healthy);
                    match state {
                        Seen::Now(s) => {
                            if was_healthy && *s != TargetState::Healthy {
                                t.reactions.push((
                                    at,
                                    Reaction::TargetLeftHealthy {
                                        id: id.clone(),
                                        state: s.to_string(),
                                        reason: reason.as_ref().map(|r| r.to_string()),
                                    },
                                ));
                            }
                            if *s == TargetState::Healthy {
                                t.healthy.push((at, id));
                            }
                            targets.insert(id, s);
                        }
                        Seen::Gone => {
                            if was_healthy {
                                t.reactions.push((
                                    at,
                                    Reaction::TargetLeftHealthy {
                                        id: id.clone(),
                                        state: state.to_string(),
                                        reason: None,
                                    },
                                ));
                            }
                            targets.remove(id.as_str());
                        }
                    }
                    let down = !targets.is_empty()
                        && targets.values().all(|s| {
                            matches!(s, TargetState::Unhealthy | TargetState::UnhealthyDraining)
                        });
                    match (down, all_down_since) {
                        (true, None) => all_down_since = Some(at),
                        (false, Some(since)) => {
                            t.all_unhealthy.push((since, at));
                            all_down_since = None;
                        }
                        _ => {}
                    }
                }
                EventKind::Instance {
                    id, health: now, ..
                } => {
                    t.first_seen.entry(id).or_insert(at);
                    if let Some(now) = now {
                        let before = health.insert(id, *now);
                        if *now == GroupHealth::Unhealthy && before != Some(GroupHealth::Unhealthy)
                        {
                            t.reactions
                                .push((at, Reaction::GroupUnhealthy { id: id.clone() }));
                        }
                    }
                }
                _ => {}
            }
        }
        if t.guardrails.is_empty() {
            t.guardrails = stopped_loads;
        }
        if let Some(since) = all_down_since {
            t.all_unhealthy.push((since, run.end_ms().max(since)));
        }
        let fallback_width = t.declared.as_ref().map_or(1000, |o| o.window_ms);
        for windows in loads.into_values() {
            let width = windows
                .windows(2)
                .map(|p| p[1].0.saturating_sub(p[0].0))
                .filter(|d| *d > 0)
                .min()
                .unwrap_or(fallback_width);
            t.windows
                .extend(windows.into_iter().map(|(start_ms, window)| Placed {
                    start_ms,
                    end_ms: start_ms + width,
                    window,
                }));
        }
        t.windows.sort_by_key(|w| w.start_ms);
        t
    }

    /// The objective windows are judged on: the declared one, else the default.
    pub(crate) fn objective(&self) -> Objective {
        self.declared.clone().unwrap_or_default()
    }

    /// Cloud ms in `wall_ms` of this run.
    pub(crate) fn cloud(&self, wall_ms: u64) -> u64 {
        let h = &self.run.header;
        h.settings.cloud_ms(h.backend, wall_ms)
    }

    /// Where the fault at `index` stops being the latest thing done to the
    /// service: the next fault or reset after it, else the run's end.
    pub(crate) fn span_end(&self, index: usize) -> u64 {
        let at = self.faults[index].0;
        let next_fault = self.faults.get(index + 1).map(|f| f.0);
        let next_reset = self.resets.iter().copied().find(|r| *r >= at);
        [next_fault, next_reset]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| self.run.end_ms().max(at))
    }

    /// Instances first seen after `at` (launched after it), by first sight.
    pub(crate) fn launched_after(&self, at: u64) -> Vec<(u64, &'a str)> {
        let mut new: Vec<(u64, &str)> = self
            .first_seen
            .iter()
            .filter(|(_, t)| **t > at)
            .map(|(id, t)| (*t, *id))
            .collect();
        new.sort();
        new
    }
}

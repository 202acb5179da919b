//! The event stream: what a run does, as typed events, each with its time in
//! milliseconds since the session started. The library publishes; sinks
//! subscribe — the terminal renderer (the command line's one printer), the JSON Lines
//! journal ([`crate::journal`]), and any [`Sink`] an embedding program adds
//! with [`crate::Host::add_sink`].
//!
//! Event kinds (`"event"` in the journal): `heading`, `text` (style `say`,
//! `note`, `good`, `bad`, `warn`), `table`, `step` (a deploy step finished),
//! `fault` (a fault injected), `reset`, `rollback`, `check`, `deleted`,
//! `skipped`, `left` (a resource destroy could not delete), `load_window`
//! (one window of a running load, once it is over), `load` (what customers
//! saw during a whole load), `request` (one request a script sent),
//! `wait_start`, `wait_progress`, `wait_end` (long waits), `prompt` (a
//! question and its answer), `objective` (the service-level objective a
//! script declared),
//! `target` and `instance` (state changes, recorded in the background while a
//! deployment exists and a sink wants them — see [`Sink::wants_state`]).

use crate::cloud::states::Seen;
use crate::cloud::{GroupHealth, InstanceState, ResourceKind, TargetReason, TargetState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// How a line of narrative text is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Plain text.
    Say,
    /// An explanation.
    Note,
    /// A good outcome.
    Good,
    /// A bad outcome.
    Bad,
    /// A warning.
    Warn,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The start of a stage or a part.
    Heading {
        /// Its text.
        text: String,
    },
    /// A line of narrative.
    Text {
        /// How it is meant.
        style: Style,
        /// The text.
        text: String,
    },
    /// Rows (maps) shown as a table with these columns.
    Table {
        /// Column order.
        columns: Vec<String>,
        /// The rows.
        rows: serde_json::Value,
    },
    /// A deploy step finished.
    Step {
        /// What was created.
        what: String,
        /// How long it took.
        ms: u64,
    },
    /// A fault is about to be injected (the line is written, and synced,
    /// before the change is made).
    Fault {
        /// The fault, in words.
        what: String,
        /// What undoes it: [`Undo::ROLLBACK`] (what `failure::reset()` and a
        /// run's rollback do), or [`Undo::NOTHING`] for a change that passes
        /// by itself (a reboot, a crash) or replaces what it hits (a
        /// termination). Journals written before it was recorded read as
        /// the rollback.
        #[serde(default = "Undo::rollback")]
        undo: String,
        /// A change of the service's settings made with the faults — a
        /// static fallback, a health-check mode — recorded and undone like
        /// one, but not a fault: the verdict does not measure it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        change: bool,
    },
    /// Every fault was reverted by `failure::reset()`.
    Reset,
    /// Faults left by a run that ended badly were rolled back (or not).
    Rollback {
        /// The faults.
        faults: Vec<String>,
        /// Why it failed, if it did.
        error: Option<String>,
    },
    /// A steady-state check.
    Check {
        /// What was checked.
        name: String,
        /// Whether it held.
        passed: bool,
        /// The value and the bound, in words.
        detail: String,
    },
    /// Destroy deleted a resource.
    Deleted {
        /// Its kind.
        kind: ResourceKind,
        /// Its name.
        name: String,
    },
    /// Destroy left a resource alone (not ours).
    Skipped {
        /// Its kind.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Destroy could not delete a resource.
    Left {
        /// Its kind.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// Why.
        reason: String,
    },
    /// What customers saw in one window of a running load, published once
    /// the window is over (so a killed run's journal still has it).
    LoadWindow {
        /// Which load (numbered from 1 in the process).
        load: u64,
        /// When the window started, in ms since the session started.
        start_ms: u64,
        /// What customers saw in it (its `start_ms` counts from the load's start).
        window: crate::loadgen::Window,
    },
    /// What customers saw during a load (the load's stats).
    Load {
        /// Which load (as in its `load_window` events).
        load: u64,
        /// What customers saw (`load::run`'s result map).
        stats: crate::loadgen::LoadStats,
    },
    /// One request a script sent through the load balancer (`inspect::request()`).
    Request {
        /// The HTTP status (0: no answer).
        status: i64,
        /// How long it took.
        latency_ms: f64,
        /// The serving instance, when known.
        instance: Option<String>,
        /// Whether it was the static fallback.
        fallback: bool,
    },
    /// A target's health changed (or it appeared, or went: state `gone`).
    Target {
        /// Instance id.
        id: String,
        /// `initial`, `healthy`, `unhealthy`, `draining`, `unused`, … or `gone`.
        state: Seen<TargetState>,
        /// AWS's reason code, when not healthy.
        reason: Option<TargetReason>,
    },
    /// An instance's lifecycle or group health changed (or it appeared, or
    /// went: state `gone`).
    Instance {
        /// Instance id.
        id: String,
        /// Its zone.
        az: String,
        /// `pending`, `running`, `shutting-down`, `terminated`, … or `gone`.
        state: Seen<InstanceState>,
        /// `Healthy` or `Unhealthy`; `""` once the instance went.
        #[serde(with = "crate::cloud::states::health_or_blank")]
        #[schemars(schema_with = "crate::cloud::states::health_or_blank::json_schema")]
        health: Option<GroupHealth>,
    },
    /// An instance refresh (a rolling update) started or changed status or
    /// progress, as `DescribeInstanceRefreshes` reports it.
    Refresh {
        /// The refresh's id.
        id: String,
        /// `Pending`, `InProgress`, `Successful`, `Failed`, `Cancelled`,
        /// `RollbackInProgress`, `RollbackSuccessful`, …
        status: crate::cloud::RefreshStatus,
        /// Percentage of instances replaced.
        percentage_complete: u32,
        /// Instances still to replace.
        instances_to_update: u32,
        /// Why it is in that status, when AWS says.
        reason: Option<String>,
    },
    /// A wait began (deploy readiness, a script's `wait_until`).
    WaitStart {
        /// What is awaited.
        what: String,
    },
    /// What a wait sees now, e.g. "2 of 3 running instances are healthy targets".
    WaitProgress {
        /// What is awaited.
        what: String,
        /// The current state, in words.
        state: String,
    },
    /// A wait ended.
    WaitEnd {
        /// What was awaited.
        what: String,
        /// Whether the condition came (false: timeout or error).
        ok: bool,
        /// How long it took.
        ms: u64,
    },
    /// The script declared the service-level objective every window of
    /// every load is judged on (`slo(#{…})`).
    Objective {
        /// What customers must see in every window.
        objective: crate::verdict::Objective,
    },
    /// A question, and the answer given (or taken in batch mode).
    Prompt {
        /// The question.
        question: String,
        /// The answer.
        answer: String,
    },
}

impl EventKind {
    /// The name of every kind (`"event"` in the journal), as the variants
    /// serialise. A journal reader keeps any other kind as one of a newer
    /// version; a test of the journal's JSON Schema keeps this list in step
    /// with the enum.
    pub const KINDS: [&'static str; 22] = [
        "heading",
        "text",
        "table",
        "step",
        "fault",
        "reset",
        "rollback",
        "check",
        "deleted",
        "skipped",
        "left",
        "load_window",
        "load",
        "request",
        "target",
        "instance",
        "refresh",
        "wait_start",
        "wait_progress",
        "wait_end",
        "prompt",
        "objective",
    ];
}

/// One event with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Milliseconds since the session started.
    pub t_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Receives every event of a session, in order.
pub trait Sink: Send + Sync {
    /// Called once per event, on the thread that published it.
    fn event(&self, event: &Event);

    /// Whether this sink wants `target` and `instance` state changes: only
    /// then does a background recorder watch the deployment (it costs cloud
    /// calls on AWS).
    fn wants_state(&self) -> bool {
        false
    }
}

/// The stream one session publishes on.
pub struct Bus {
    started: Instant,
    sinks: RwLock<Vec<Arc<dyn Sink>>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            started: Instant::now(),
            sinks: RwLock::new(Vec::new()),
        }
    }
}

impl Bus {
    /// Adds a sink; it gets every later event.
    pub fn subscribe(&self, sink: Arc<dyn Sink>) {
        crate::sync::write(&self.sinks).push(sink);
    }

    /// Whether any sink wants state changes recorded.
    pub fn wants_state(&self) -> bool {
        crate::sync::read(&self.sinks)
            .iter()
            .any(|s| s.wants_state())
    }

    /// Milliseconds since the session started.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Publishes an event to every sink.
    pub fn publish(&self, kind: EventKind) {
        let event = Event {
            t_ms: self.now_ms(),
            kind,
        };
        for sink in crate::sync::read(&self.sinks).iter() {
            sink.event(&event);
        }
    }
}

/// The words a fault's `undo` holds.
pub struct Undo;

impl Undo {
    /// The fault is undone by the rollback (`failure::reset()`): parameters,
    /// dependency faults, zones and instance profiles back to healthy.
    pub const ROLLBACK: &'static str = "rollback";
    /// Nothing to undo: the change passes by itself or replaces what it hit.
    pub const NOTHING: &'static str = "nothing";

    /// [`Undo::ROLLBACK`], owned (the default of a fault's `undo`).
    pub fn rollback() -> String {
        Undo::ROLLBACK.to_string()
    }
}

/// A wait in progress: publishes its start, each change of what it sees,
/// and its end (also logged at debug level).
pub struct Waiting<'a> {
    bus: &'a Bus,
    what: String,
    started: Instant,
    last: Option<String>,
}

impl<'a> Waiting<'a> {
    /// Starts waiting for `what`.
    pub fn start(bus: &'a Bus, what: impl Into<String>) -> Self {
        let what = what.into();
        tracing::debug!(%what, "waiting");
        bus.publish(EventKind::WaitStart { what: what.clone() });
        Waiting {
            bus,
            what,
            started: Instant::now(),
            last: None,
        }
    }

    /// What the wait sees now; published when it changed.
    pub fn state(&mut self, state: &str) {
        if self.last.as_deref() != Some(state) {
            tracing::debug!(what = %self.what, %state, "still waiting");
            self.bus.publish(EventKind::WaitProgress {
                what: self.what.clone(),
                state: state.to_string(),
            });
            self.last = Some(state.to_string());
        }
    }

    /// Ends the wait (`ok`: the condition came).
    pub fn end(self, ok: bool) {
        let ms = self.started.elapsed().as_millis() as u64;
        tracing::debug!(what = %self.what, ok, ms, "wait ended");
        self.bus.publish(EventKind::WaitEnd {
            what: self.what,
            ok,
            ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Event>>);
    impl Sink for Collect {
        fn event(&self, event: &Event) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[test]
    fn every_sink_gets_every_event_in_order_and_events_serialize_flat() {
        let bus = Bus::default();
        let a = Arc::new(Collect::default());
        let b = Arc::new(Collect::default());
        bus.subscribe(a.clone());
        bus.subscribe(b.clone());
        bus.publish(EventKind::Heading { text: "h".into() });
        bus.publish(EventKind::Check {
            name: "c".into(),
            passed: false,
            detail: "0.5 (at least 0.9)".into(),
        });
        let got = a.0.lock().unwrap().clone();
        assert_eq!(got, b.0.lock().unwrap().clone());
        assert_eq!(got.len(), 2);
        assert!(got[0].t_ms <= got[1].t_ms);
        let json = serde_json::to_value(&got[1]).unwrap();
        assert_eq!(json["event"], "check");
        assert_eq!(json["passed"], false);
        assert!(json["t_ms"].is_u64());
    }
}

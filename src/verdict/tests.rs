//! The verdict and the measurements on journals whose every time is known.

use super::*;
use crate::cloud::states::Seen;
use crate::cloud::{GroupHealth, InstanceState, TargetReason, TargetState};
use crate::events::EventKind;
use crate::journal::{Entry, Header, Kind, RunOutcome};
use crate::loadgen::Window;
use crate::settings::Settings;

/// A journal at time scale 0.1 (1 wall ms = 10 cloud ms) of these events.
fn run(events: Vec<(u64, EventKind)>, exit: Option<u8>) -> Run {
    let settings = Settings {
        time_scale: 0.1,
        ..Settings::default()
    };
    Run {
        header: Header::new(&settings, Some("t.rhai")),
        events: events
            .into_iter()
            .map(|(t_ms, kind)| Entry {
                t_ms,
                kind: Kind::Known(kind),
            })
            .collect(),
        outcome: exit.map(|code| RunOutcome::new(code, &[], &[])),
    }
}

/// Windows of 100 wall ms from `from`, one per success rate (10 requests each).
fn windows(load: u64, from: u64, ok: &[u64]) -> Vec<(u64, EventKind)> {
    ok.iter()
        .enumerate()
        .map(|(i, ok)| {
            let start_ms = from + 100 * i as u64;
            (
                start_ms + 100,
                EventKind::LoadWindow {
                    load,
                    start_ms,
                    window: Window {
                        start_ms: start_ms - from,
                        count: 10,
                        ok: *ok,
                        p99_ms: 5.0,
                        ..Window::default()
                    },
                },
            )
        })
        .collect()
}

fn target(id: &str, state: TargetState) -> EventKind {
    EventKind::Target {
        id: id.into(),
        state: Seen::Now(state),
        reason: None,
    }
}

fn fault(what: &str) -> EventKind {
    EventKind::Fault {
        what: what.into(),
        undo: crate::events::Undo::rollback(),
        change: false,
    }
}

fn objective() -> EventKind {
    EventKind::Objective {
        objective: Objective::from_options([("success_rate", 0.9), ("recover_windows", 2.0)])
            .unwrap(),
    }
}

fn sorted(mut events: Vec<(u64, EventKind)>) -> Vec<(u64, EventKind)> {
    events.sort_by_key(|e| e.0);
    events
}

#[test]
fn a_fault_is_measured_in_cloud_time_from_the_windows_and_targets() {
    // Windows of 100 ms from 0: 10/10 ×3, then the fault at 300, then
    // 2, 5, 10, 3, 10, 10, 10 of 10.
    let mut events = vec![
        (0, objective()),
        (0, target("i-1", TargetState::Healthy)),
        (0, target("i-2", TargetState::Healthy)),
        (300, fault("the service on i-1 hangs")),
        (
            550,
            EventKind::Target {
                id: "i-1".into(),
                state: Seen::Now(TargetState::Unhealthy),
                reason: Some(TargetReason::Timeout),
            },
        ),
    ];
    events.extend(windows(1, 0, &[10, 10, 10, 2, 5, 10, 3, 10, 10, 10]));
    let a = assess(&run(sorted(events), Some(0)));
    assert_eq!(a.steady_state.outcome, Outcome::Pass);
    let f = &a.faults[0];
    assert_eq!(f.kind, "the service on i-* hangs");
    assert_eq!(f.at_ms, 3000, "300 wall ms at scale 0.1");
    let detect = f.detect.as_ref().unwrap();
    assert_eq!(detect.after_ms, 2500);
    assert!(
        detect.by.contains("i-1 unhealthy (Target.Timeout)"),
        "{}",
        detect.by
    );
    let predicted = f.detect_predicted.as_ref().unwrap();
    assert_eq!((predicted.after_ms, predicted.within_ms), (10_000, 25_000));
    let impact = f.impact.as_ref().unwrap();
    // Bad windows: 300, 400, 600 (the 500 one alone is not a recovery of 2).
    assert_eq!((impact.first_ms, impact.last_ms), (Some(0), Some(4000)));
    assert_eq!((impact.requests, impact.failed), (40, 20));
    assert_eq!(impact.worst_success_rate, 0.2);
    // The error budget: 10 % of the 100 requests of the run.
    let spent = impact.budget_spent.unwrap();
    assert!((spent - 2.0).abs() < 1e-9, "{spent}");
    assert_eq!(
        f.recover_ms,
        Some(4000),
        "held again from the window at 700"
    );
    assert_eq!(f.hypothesis.outcome, Outcome::Pass);
    assert!(!f.failed_open);
    assert_eq!(a.windows.total, 10);
    assert_eq!(a.windows.missed, 3);
    assert_eq!(a.verdict, Outcome::Pass, "{:?}", a.reasons);
}

#[test]
fn a_recovery_later_than_allowed_fails_the_fault_and_the_run() {
    let slow = EventKind::Objective {
        objective: Objective::from_options([
            ("success_rate", 0.9),
            ("recover_windows", 1.0),
            ("recover_within_ms", 2000.0),
        ])
        .unwrap(),
    };
    let mut events = vec![(0, slow), (100, fault("zone a out"))];
    events.extend(windows(1, 0, &[10, 0, 0, 0, 10]));
    let a = assess(&run(sorted(events), Some(0)));
    assert_eq!(a.faults[0].recover_ms, Some(3000));
    assert_eq!(a.faults[0].hypothesis.outcome, Outcome::Fail);
    assert_eq!(a.verdict, Outcome::Fail);
    assert!(a.reasons[0].contains("later than 2.0 s"), "{:?}", a.reasons);
}

#[test]
fn a_service_that_never_recovers_fails_and_the_next_fault_is_not_blamed() {
    let mut events = vec![
        (0, objective()),
        (100, fault("table parameter points at a missing table")),
        (300, fault("failure response static")),
    ];
    events.extend(windows(1, 0, &[10, 0, 0, 10, 10]));
    let a = assess(&run(sorted(events), Some(0)));
    assert_eq!(
        a.faults[0].recover_ms,
        Some(2000),
        "the repair brought it back"
    );
    assert_eq!(a.faults[1].impact.as_ref().unwrap().first_ms, None);
    assert_eq!(a.faults[1].recover_ms, Some(0));

    let mut events = vec![(0, objective()), (100, fault("zone a out"))];
    events.extend(windows(1, 0, &[10, 0, 10, 0]));
    let a = assess(&run(sorted(events), Some(0)));
    assert_eq!(a.faults[0].recover_ms, None);
    assert_eq!(a.faults[0].hypothesis.outcome, Outcome::Fail);
    assert_eq!(a.verdict, Outcome::Fail);
}

#[test]
fn every_target_unhealthy_while_customers_are_answered_is_failing_open() {
    let mut events = vec![
        (0, objective()),
        (0, target("i-1", TargetState::Healthy)),
        (0, target("i-2", TargetState::Healthy)),
        (100, fault("table parameter points at a missing table")),
        (200, target("i-1", TargetState::Unhealthy)),
        (250, target("i-2", TargetState::Unhealthy)),
        (450, target("i-2", TargetState::Healthy)),
    ];
    events.extend(windows(1, 0, &[10, 10, 10, 10, 10]));
    let a = assess(&run(sorted(events.clone()), Some(0)));
    assert!(a.faults[0].failed_open);
    assert_eq!(a.faults[0].detect.as_ref().unwrap().after_ms, 1000);
    // With no answer while every target was down, it did not fail open.
    let mut dark = events[..7].to_vec();
    dark.extend(windows(1, 0, &[10, 10, 0, 0, 0]));
    let a = assess(&run(sorted(dark), Some(0)));
    assert!(!a.faults[0].failed_open);
}

#[test]
fn a_replacement_counts_from_launch_to_its_first_healthy_state() {
    let instance = |id: &str, state| EventKind::Instance {
        id: id.into(),
        az: "a".into(),
        state: Seen::Now(state),
        health: Some(GroupHealth::Healthy),
    };
    let mut events = vec![
        (0, objective()),
        (0, instance("i-old", InstanceState::Running)),
        (0, target("i-old", TargetState::Healthy)),
        (100, fault("terminate i-old")),
        (100, target("i-old", TargetState::Draining)),
        (150, instance("i-new", InstanceState::Pending)),
        (300, target("i-new", TargetState::Initial)),
        (400, target("i-new", TargetState::Healthy)),
    ];
    events.extend(windows(1, 0, &[10, 10, 10, 10, 10]));
    let a = assess(&run(sorted(events), Some(0)));
    let r = a.faults[0].replace.as_ref().unwrap();
    assert_eq!(r.instance, "i-new");
    assert_eq!((r.launched_ms, r.healthy_ms), (500, Some(3000)));
    assert_eq!(a.faults[0].kind, "terminate i-*");
}

#[test]
fn runs_that_show_nothing_are_inconclusive_and_guardrails_fail() {
    let a = assess(&run(vec![(0, objective())], Some(0)));
    assert_eq!(a.verdict, Outcome::Inconclusive);
    assert!(
        a.reasons.iter().any(|r| r.contains("no load ran")),
        "{:?}",
        a.reasons
    );

    let mut undeclared = windows(1, 0, &[0, 0]);
    undeclared.push((50, fault("zone a out")));
    let a = assess(&run(sorted(undeclared), Some(0)));
    assert!(!a.declared);
    assert_eq!(
        a.faults[0].hypothesis.outcome,
        Outcome::Fail,
        "measured by the default"
    );
    assert_eq!(
        a.verdict,
        Outcome::Pass,
        "only checks judge it: {:?}",
        a.reasons
    );
    assert!(
        a.reasons[0].contains("no objective declared"),
        "{:?}",
        a.reasons
    );

    let loaded = || sorted([vec![(0, objective())], windows(1, 0, &[10, 10])].concat());
    let a = assess(&run(loaded(), None));
    assert_eq!(a.verdict, Outcome::Inconclusive);
    assert!(a.reasons[0].contains("did not end"), "{:?}", a.reasons);
    let a = assess(&run(loaded(), Some(130)));
    assert_eq!(a.verdict, Outcome::Inconclusive);
    assert_eq!(assess(&run(loaded(), Some(0))).verdict, Outcome::Pass);

    let mut stopped = loaded();
    stopped.push((
        300,
        EventKind::Load {
            load: 1,
            stats: crate::loadgen::LoadStats {
                stopped_by: Some("success rate 0.2 below 0.5".into()),
                ..Default::default()
            },
        },
    ));
    let mut halted = stopped.clone();
    halted.pop();
    halted.push((
        300,
        EventKind::WaitEnd {
            what: "load #1 through the load balancer".into(),
            ok: false,
            ms: 300,
        },
    ));
    let a = assess(&run(halted, Some(1)));
    assert_eq!(a.verdict, Outcome::Fail);
    assert_eq!(
        a.reasons,
        [
            "a guardrail stopped the run: load #1 through the load balancer ended by its stop condition"
        ]
    );
    let a = assess(&run(stopped, Some(1)));
    assert_eq!(a.verdict, Outcome::Fail);
    assert_eq!(
        a.reasons,
        ["a guardrail stopped the run: success rate 0.2 below 0.5"]
    );
}

#[test]
fn aws_runs_are_measured_on_the_wall_clock() {
    let mut events = vec![
        (0, objective()),
        (0, target("i-1", TargetState::Healthy)),
        (1000, fault("the service on i-1 hangs")),
        (23_000, target("i-1", TargetState::Unhealthy)),
    ];
    events.extend(windows(1, 0, &[10, 10]));
    let mut r = run(sorted(events), Some(0));
    r.header.backend = crate::settings::Backend::Aws;
    let a = assess(&r);
    assert_eq!(a.faults[0].at_ms, 1000, "no time scale on AWS");
    assert_eq!(a.faults[0].detect.as_ref().unwrap().after_ms, 22_000);
}

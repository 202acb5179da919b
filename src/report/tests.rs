//! The report drawn from journals whose every window is known.

use crate::events::EventKind;
use crate::journal::{Entry, Header, Kind, Run, RunOutcome};
use crate::loadgen::Window;
use crate::settings::Settings;
use crate::verdict::Objective;

/// A run with windows of 100 ms from 0, one per count of 2xx answers out of
/// 10, and the objective (90 %) when `declared`.
fn run(ok: &[u64], declared: bool) -> Run {
    let mut events = Vec::new();
    if declared {
        events.push((
            0,
            EventKind::Objective {
                objective: Objective::from_options([("success_rate", 0.9)]).unwrap(),
            },
        ));
    }
    for (i, ok) in ok.iter().enumerate() {
        let start_ms = 100 * i as u64;
        events.push((
            start_ms + 100,
            EventKind::LoadWindow {
                load: 1,
                start_ms,
                window: Window {
                    start_ms,
                    count: 10,
                    ok: *ok,
                    p99_ms: 5.0,
                    ..Window::default()
                },
            },
        ));
    }
    Run {
        header: Header::new(&Settings::default(), Some("t.rhai")),
        events: events
            .into_iter()
            .map(|(t_ms, kind)| Entry {
                t_ms,
                kind: Kind::Known(kind),
            })
            .collect(),
        outcome: Some(RunOutcome::new(0, &[], &[])),
    }
}

#[test]
fn the_declared_objective_is_drawn_and_the_windows_that_missed_it_shaded() {
    let html = super::render(&run(&[10, 10, 5, 8, 10, 9], true));
    assert_eq!(
        html.matches(r#"class="objective""#).count(),
        1,
        "one objective line"
    );
    assert_eq!(
        html.matches(r#"class="missed""#).count(),
        2,
        "the windows at 50 % and 80 % missed 90 %; 90 % itself meets it"
    );
    assert!(html.contains("dotted: the objective (90 %)"), "a legend");
}

#[test]
fn without_a_declared_objective_nothing_is_drawn_for_it() {
    let html = super::render(&run(&[10, 10, 5, 8, 10, 9], false));
    assert!(!html.contains(r#"class="objective""#));
    assert!(!html.contains(r#"class="missed""#));
}

#[test]
fn a_report_stays_bounded_whatever_the_journal_holds() {
    use crate::cloud::TargetState;
    use crate::cloud::states::Seen;
    // 200,000 target changes on one lane, 20,000 lines of narrative, 5,000
    // checks: a journal of a script that loops.
    let mut run = run(&[10, 10], false);
    for i in 0..200_000u64 {
        let state = if i % 2 == 0 {
            TargetState::Healthy
        } else {
            TargetState::Unhealthy
        };
        run.events.push(Entry {
            t_ms: 200 + i,
            kind: Kind::Known(EventKind::Target {
                id: "i-1".into(),
                state: Seen::Now(state),
                reason: None,
            }),
        });
    }
    for i in 0..20_000u64 {
        run.events.push(Entry {
            t_ms: 200_000 + i,
            kind: Kind::Known(EventKind::Text {
                style: crate::events::Style::Say,
                text: format!("line {i}"),
            }),
        });
    }
    for i in 0..5_000u64 {
        run.events.push(Entry {
            t_ms: 220_000 + i,
            kind: Kind::Known(EventKind::Check {
                name: format!("check {i}"),
                passed: i != 4_999,
                detail: "held".into(),
            }),
        });
    }
    let html = super::render(&run);
    let rects = html.matches(r#"class="s-"#).count();
    assert!(rects <= 1_000, "{rects} rectangles in one lane");
    assert!(html.contains("… and 18000 more lines"), "narrative capped");
    assert!(html.contains("… and 4000 more checks"), "checks capped");
    assert!(
        html.contains("check 4999"),
        "the failed check is listed first"
    );
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
}

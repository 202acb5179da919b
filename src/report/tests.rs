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

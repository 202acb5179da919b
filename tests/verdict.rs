//! Verdicts on real runs of the local cloud, whose timing is known: a
//! deep-checked fault is detected within what the health-check settings
//! allow and not before the first check could fail; a terminated instance
//! is replaced between its launch and its first passing check; `compare`
//! finds a regression made on purpose (the static fallback off) and none
//! between two runs of the same scenario.

use resilient::verdict::{Outcome, Summary};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");

/// Deep checks, then a table that breaks under load (with the static
/// fallback on or off) and comes back, then a terminated instance.
const SCENARIO: &str = r#"
deploy::all();
slo(#{ success_rate: 0.95, window_ms: 500, recover_windows: 2 });
ui::heading("Steady");
load::run(#{ duration_ms: 1000, rate: 40, concurrency: 2 });
ui::heading("A broken table");
failure::static_response(FALLBACK);
failure::health_check("deep");
let l = load::start(#{ duration_ms: 60000, rate: 40, concurrency: 2 });
failure::bad_table();
wait_until(|| inspect::targets().all(|t| t.state == "unhealthy"), 120_000);
failure::restore_table();
wait_until(|| inspect::targets().all(|t| t.state == "healthy"), 120_000);
ui::heading("A terminated instance");
let victim = inspect::instances()[0].id;
failure::terminate(victim);
wait_until(|| inspect::targets().filter(|t| t.state == "healthy" && t.id != victim).len() >= 3, 900_000);
load::stop(l);
failure::reset();
destroy::all();
"#;

fn resilient(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--time-scale", "0.05", "--yes"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run resilient")
}

/// Runs the scenario (fallback on or off) as `name`, with a journal and a
/// summary; returns the summary.
fn run(dir: &Path, name: &str, fallback: bool) -> Summary {
    let script = format!("{name}.rhai");
    std::fs::write(
        dir.join(&script),
        SCENARIO.replace("FALLBACK", &fallback.to_string()),
    )
    .unwrap();
    let (journal, summary) = (format!("{name}.jsonl"), format!("{name}.json"));
    let junit = format!("{name}.xml");
    let out = resilient(
        dir,
        &[
            "run",
            &script,
            "--journal",
            &journal,
            "--summary",
            &summary,
            "--junit",
            &junit,
        ],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join(summary)).unwrap()).unwrap()
}

#[test]
fn faults_are_measured_against_their_settings_and_compare_finds_the_regression() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let (base, again, broken) = std::thread::scope(|s| {
        let base = s.spawn(|| run(path, "base", true));
        let again = s.spawn(|| run(path, "again", true));
        let broken = s.spawn(|| run(path, "broken", false));
        (
            base.join().unwrap(),
            again.join().unwrap(),
            broken.join().unwrap(),
        )
    });
    assert_eq!(
        base.assessment.verdict,
        Outcome::Pass,
        "{:?}",
        base.assessment.reasons
    );
    assert!(base.assessment.declared);
    // JUnit: one test case per fault's hypothesis, and the steady state's.
    let xml = std::fs::read_to_string(path.join("base.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let hypotheses = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("testcase") && n.attribute("name").unwrap().starts_with("hypothesis: ")
        })
        .count();
    assert_eq!(hypotheses, base.assessment.faults.len() + 1, "{xml}");

    // The deep-checked fault: found unhealthy no sooner than two checks
    // allow and within 2 × 10 s + 5 s, plus one look at the targets.
    let table = base
        .assessment
        .faults
        .iter()
        .find(|f| f.kind == "table parameter points at a missing table")
        .expect("the table fault");
    let detect = table.detect.as_ref().expect("detected");
    let predicted = table.detect_predicted.as_ref().expect("settings recorded");
    let look_ms = 10_000;
    assert!(
        (predicted.after_ms..=predicted.within_ms + look_ms).contains(&detect.after_ms),
        "detected after {} ms, allowed {}..={} (+ one look)",
        detect.after_ms,
        predicted.after_ms,
        predicted.within_ms
    );
    assert!(
        detect.by.contains("Target.ResponseCodeMismatch"),
        "{}",
        detect.by
    );
    assert!(
        table.failed_open,
        "every target unhealthy, customers still served"
    );
    assert_eq!(
        table.impact.as_ref().unwrap().failed,
        0,
        "the fallback served them"
    );

    // The terminate: a replacement launched, healthy no sooner than it can
    // boot (15 s pending + 45 s boot on the local cloud), and within a few
    // checks of that.
    let terminate = base
        .assessment
        .faults
        .iter()
        .find(|f| f.kind == "terminate i-*")
        .expect("the terminate");
    let r = terminate.replace.as_ref().expect("a replacement");
    let healthy = r.healthy_ms.expect("it became healthy");
    assert!(
        healthy >= r.launched_ms + 60_000 - look_ms
            && healthy <= r.launched_ms + 60_000 + 4 * look_ms,
        "launched at {} ms, healthy at {healthy} ms",
        r.launched_ms
    );
    assert_eq!(
        terminate.detect.as_ref().unwrap().after_ms / 1000,
        0,
        "draining at once"
    );

    // Compare: none between two runs of the same scenario, one without the fallback.
    let same = resilient(path, &["compare", "base.jsonl", "again.json"]);
    let text = String::from_utf8_lossy(&same.stdout);
    assert!(same.status.success(), "{text}");
    assert!(text.contains("no regression"), "{text}");
    let worse = resilient(path, &["compare", "base.json", "broken.jsonl"]);
    let text = String::from_utf8_lossy(&worse.stdout);
    assert_eq!(
        worse.status.code(),
        Some(5),
        "a regression has its own code: {text}"
    );
    assert!(text.contains("regression"), "{text}");
    // And at the end of a run: the regression fails it.
    std::fs::write(
        path.join("broken.rhai"),
        SCENARIO.replace("FALLBACK", "false"),
    )
    .unwrap();
    let out = resilient(
        path,
        &[
            "run",
            "broken.rhai",
            "--baseline",
            "base.json",
            "--report",
            "broken.html",
            "--junit",
            "broken.xml",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{text}{stderr}");
    assert!(text.contains("regression(s) beyond 25 %"), "{text}");
    assert!(stderr.contains("worse than the baseline"), "{stderr}");
    // The report shows the run against its baseline, the regression first.
    let html = std::fs::read_to_string(path.join("broken.html")).unwrap();
    assert!(
        html.contains(r#"id="baseline">✘ Worse than the baseline"#),
        "the report shows the comparison"
    );
    assert!(html.contains("failed_requests"), "with its figures");
    // JUnit counts the regression as a failed case.
    let xml = std::fs::read_to_string(path.join("broken.xml")).unwrap();
    assert!(
        xml.contains(r#"<testcase name="no regression against the baseline""#)
            && xml.contains("worse beyond 25 %"),
        "{xml}"
    );

    let same = resilient::verdict::compare::compare(&base, &again, Default::default());
    assert!(!same.regressed(), "{:?}", same.rows);
    assert!(same.unmatched.is_empty(), "{:?}", same.unmatched);
    let c = resilient::verdict::compare::compare(&base, &broken, Default::default());
    let failed = c
        .rows
        .iter()
        .find(|r| r.scope.contains("missing table") && r.figure == "failed_requests")
        .unwrap();
    assert!(failed.regression && failed.new > Some(10.0), "{failed:?}");
    assert!(
        broken
            .assessment
            .faults
            .iter()
            .any(|f| f.impact.as_ref().is_some_and(|m| m.failed > 0))
    );
}

//! Evidence of a run: the journal (JSON Lines: header, events, outcome; every
//! line parses even after `kill -9`) and the JUnit verdict of the checks.

mod common;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The distinct ids of the `target` or `instance` events.
fn ids<'a>(journal: &'a [Value], kind: &str) -> std::collections::BTreeSet<&'a str> {
    events(journal, kind)
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

fn checks_len(journal: &[Value]) -> usize {
    events(journal, "check").len()
}

/// A report is one self-contained HTML file: it parses, fetches nothing,
/// holds one SVG timeline (well-formed XML) with a lane per target and per
/// instance, and one row per check.
fn check_report(html: &str, targets: usize, instances: usize, checks: usize) {
    let dom = tl::parse(html, tl::ParserOptions::default()).expect("the report parses as HTML");
    let count = |selector: &str| dom.query_selector(selector).map_or(0, |q| q.count());
    assert_eq!(count("svg"), 1, "one timeline");
    assert_eq!(count("script"), 0, "no script");
    assert_eq!(count("link"), 0, "no stylesheet fetched");
    assert_eq!(count("img"), 0, "no image fetched");
    for node in dom.nodes() {
        if let Some(tag) = node.as_tag() {
            for (name, value) in tag.attributes().iter() {
                let value = value.unwrap_or_default();
                assert!(
                    !((name == "src" || name == "href") && value.contains("//")),
                    "nothing is loaded from elsewhere: {name}={value}"
                );
            }
        }
    }
    let rows = count("tr");
    assert!(
        rows > checks,
        "a row per check ({checks}) plus headers: {rows}"
    );
    let start = html.find("<svg").unwrap();
    let end = html.find("</svg>").unwrap() + "</svg>".len();
    let svg = roxmltree::Document::parse(&html[start..end]).expect("the SVG is well-formed");
    let lanes: Vec<String> = svg
        .descendants()
        .filter(|n| n.attribute("class") == Some("lane"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect();
    assert_eq!(
        lanes.iter().filter(|l| l.starts_with("target ")).count(),
        targets,
        "{lanes:?}"
    );
    assert_eq!(
        lanes.iter().filter(|l| l.starts_with("instance ")).count(),
        instances,
        "{lanes:?}"
    );
}

/// A label's box on the chart: (left, top, right, bottom, what it says).
type LabelBox = (f64, f64, f64, f64, String);

/// The boxes of the words of a report's timeline, estimated from the SVG it
/// wrote: each `<text>` from its position, anchor, font size and length (0.6
/// em per character, as wide as sans-serif text runs; a `<title>` is a
/// tooltip, not drawn), each numbered marker (`<g class="badge">`) from its
/// rectangle. Panics on a rotated text, which it cannot measure.
fn label_boxes(html: &str) -> Vec<LabelBox> {
    let start = html.find("<svg").unwrap();
    let end = html.find("</svg>").unwrap() + "</svg>".len();
    let svg = roxmltree::Document::parse(&html[start..end]).expect("the SVG is well-formed");
    let number = |n: roxmltree::Node, a: &str| -> f64 {
        n.attribute(a)
            .unwrap_or_else(|| panic!("{a} of {n:?}"))
            .parse()
            .unwrap()
    };
    let mut boxes = Vec::new();
    for n in svg.descendants() {
        if n.has_tag_name("g") && n.attribute("class") == Some("badge") {
            let rect = n.children().find(|c| c.has_tag_name("rect")).unwrap();
            let (x, y) = (number(rect, "x"), number(rect, "y"));
            let label = n
                .children()
                .find(|c| c.has_tag_name("text"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string();
            boxes.push((
                x,
                y,
                x + number(rect, "width"),
                y + number(rect, "height"),
                label,
            ));
        }
        let in_badge = n.ancestors().any(|a| a.attribute("class") == Some("badge"));
        if !n.has_tag_name("text") || in_badge {
            continue;
        }
        assert!(n.attribute("transform").is_none(), "a rotated label: {n:?}");
        let words: String = n
            .descendants()
            .filter(|d| d.is_text() && !d.ancestors().any(|a| a.has_tag_name("title")))
            .filter_map(|d| d.text())
            .collect();
        let font = number(n, "font-size");
        let width = words.chars().count() as f64 * font * 0.6;
        let (x, y) = (number(n, "x"), number(n, "y"));
        let left = match n.attribute("text-anchor") {
            Some("middle") => x - width / 2.0,
            Some("end") => x - width,
            _ => x,
        };
        boxes.push((left, y - 0.8 * font, left + width, y + 0.2 * font, words));
    }
    boxes
}

/// The pairs of labels that overlap (by more than half a pixel each way),
/// and the labels that leave the chart (`width` wide).
fn overlaps(boxes: &[LabelBox], width: f64) -> Vec<String> {
    let mut found = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        if a.0 < -0.5 || a.2 > width + 0.5 {
            found.push(format!("{:?} leaves the chart", a.4));
        }
        for b in &boxes[i + 1..] {
            let apart =
                a.2 <= b.0 + 0.5 || b.2 <= a.0 + 0.5 || a.3 <= b.1 + 0.5 || b.3 <= a.1 + 0.5;
            if !apart {
                found.push(format!("{:?} overlaps {:?}", a.4, b.4));
            }
        }
    }
    found
}

#[test]
fn the_overlap_measure_finds_overlapping_and_escaping_labels() {
    let html = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200"><text x="10" y="20" font-size="10">Stage 1 of 7</text><text x="40" y="22" font-size="10">Stage 2<title>a long tooltip that is not drawn</title></text><text x="150" y="60" font-size="10">far right</text><text x="60" y="60" font-size="10" text-anchor="end">ends at 60</text></svg>"#;
    let boxes = label_boxes(html);
    assert_eq!(boxes.len(), 4);
    assert_eq!(boxes[1].4, "Stage 2", "tooltips are not drawn");
    let found = overlaps(&boxes, 200.0);
    assert_eq!(
        found,
        vec![
            "\"Stage 1 of 7\" overlaps \"Stage 2\"".to_string(),
            "\"far right\" leaves the chart".to_string()
        ]
    );
}

fn events<'a>(journal: &'a [Value], kind: &str) -> Vec<&'a Value> {
    journal
        .iter()
        .filter(|l| l["type"] == "event" && l["event"] == kind)
        .collect()
}

#[test]
fn the_full_demo_writes_a_journal_and_junit_in_the_demo_order() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, junit) = (dir.path().join("run.jsonl"), dir.path().join("run.xml"));
    let report = dir.path().join("run.html");
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .args(["run", "scripts/full_demo.rhai", "--time-scale", "0.05"])
        .arg("--journal")
        .arg(&journal)
        .arg("--junit")
        .arg(&junit)
        .arg("--report")
        .arg(&report)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = lines(&journal);
    assert_eq!(j[0]["type"], "header");
    assert_eq!(j[0]["schema"], 1);
    assert_eq!(j[0]["backend"], "local");
    assert_eq!(j[0]["script"], "scripts/full_demo.rhai");
    assert!(j[0]["started_at"].as_str().unwrap().ends_with('Z'));
    let last = j.last().unwrap();
    assert_eq!(last["type"], "outcome");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["still_deployed"].as_array().unwrap().len(), 0);
    // Times never go back.
    let times: Vec<u64> = j.iter().filter_map(|l| l["t_ms"].as_u64()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // The stages in order, each fault after its heading.
    let headings: Vec<&str> = events(&j, "heading")
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .filter(|t| t.starts_with("Stage "))
        .collect();
    assert_eq!(headings.len(), 8, "{headings:?}");
    for (i, h) in headings.iter().enumerate() {
        assert!(
            h.starts_with(&format!("Stage {} of 8", i + 1)),
            "{headings:?}"
        );
    }
    let at = |kind: &str, pred: &dyn Fn(&Value) -> bool| -> u64 {
        j.iter()
            .find(|l| l["event"] == kind && pred(l))
            .and_then(|l| l["t_ms"].as_u64())
            .unwrap_or_else(|| panic!("no {kind} event"))
    };
    let stage = |n: usize| {
        at("heading", &|l| {
            l["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Stage {n} "))
        })
    };
    // Each stage ends with checks of what it claims, and they all held.
    for n in 1..=8 {
        let (from, to) = (stage(n), if n < 8 { stage(n + 1) } else { u64::MAX });
        let in_stage: Vec<&Value> = events(&j, "check")
            .into_iter()
            .filter(|c| (from..to).contains(&c["t_ms"].as_u64().unwrap()))
            .collect();
        assert!(
            in_stage.len() >= 2,
            "stage {n} checks what it claims: {in_stage:?}"
        );
        assert!(
            in_stage.iter().all(|c| c["passed"] == true
                && c["name"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("stage {n}: "))),
            "stage {n}'s checks hold: {in_stage:?}"
        );
    }
    assert_eq!(last["checks"]["failed"], 0);
    assert!(last["checks"]["passed"].as_u64().unwrap() >= 14);
    let bad_table = at("fault", &|l| {
        l["what"] == "table parameter points at a missing table"
    });
    let deep = at("fault", &|l| l["what"] == "deep health checks");
    assert!(stage(2) <= bad_table && bad_table <= stage(3));
    assert!(stage(5) <= deep && deep <= stage(6));
    // Stage 8 in the journal: a refresh succeeds, then the bad release is a
    // fault whose refresh rolls back, in that order, all after its heading.
    let succeeded = at("refresh", &|l| l["status"] == "Successful");
    let bad_release = at("fault", &|l| {
        l["what"]
            .as_str()
            .is_some_and(|w| w.starts_with("bad release v3"))
    });
    let rolling_back = at("refresh", &|l| l["status"] == "RollbackInProgress");
    let rolled_back = at("refresh", &|l| l["status"] == "RollbackSuccessful");
    assert!(
        stage(8) <= succeeded
            && succeeded <= bad_release
            && bad_release <= rolling_back
            && rolling_back <= rolled_back,
        "stage 8's refreshes in order"
    );
    // The background recorder's lanes: after deep health checks the victim
    // turns unhealthy with the load balancer's reason; after its terminate a
    // new instance appears and turns healthy; in stage 7 every target is
    // unhealthy while customers still get answers.
    let after = |t: u64, kind: &str, pred: &dyn Fn(&Value) -> bool| {
        j.iter()
            .filter(|l| l["event"] == kind && l["t_ms"].as_u64().unwrap() >= t)
            .find(|l| pred(l))
            .cloned()
    };
    let unhealthy = after(deep, "target", &|l| {
        l["state"] == "unhealthy" && l["reason"] == "Target.ResponseCodeMismatch"
    })
    .expect("a target turns unhealthy after deep health checks");
    let victim = unhealthy["id"].as_str().unwrap().to_string();
    let terminate = at("fault", &|l| {
        l["what"] == format!("terminate {victim}").as_str()
    });
    let before_terminate: Vec<String> = j
        .iter()
        .filter(|l| l["event"] == "instance" && l["t_ms"].as_u64().unwrap() < terminate)
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    let newcomer = after(terminate, "instance", &|l| {
        !before_terminate.contains(&l["id"].as_str().unwrap().to_string())
    })
    .expect("a replacement instance appears after the terminate");
    let new_id = newcomer["id"].as_str().unwrap().to_string();
    assert!(
        after(terminate, "target", &|l| l["id"] == new_id.as_str()
            && l["state"] == "healthy")
        .is_some(),
        "the replacement {new_id} turns healthy"
    );
    let stage7 = stage(7);
    let unhealthy_in_7: std::collections::BTreeSet<String> = j
        .iter()
        .filter(|l| {
            l["event"] == "target"
                && l["state"] == "unhealthy"
                && l["t_ms"].as_u64().unwrap() >= stage7
        })
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        unhealthy_in_7.len() >= 3,
        "every target unhealthy in stage 7: {unhealthy_in_7:?}"
    );
    assert!(
        !events(&j, "deleted").is_empty(),
        "destroy is in the journal"
    );
    assert!(
        !events(&j, "step").is_empty(),
        "deploy steps are in the journal"
    );

    // The report: one self-contained file with the timeline and one lane
    // per target and per instance the journal knows.
    let (targets, instances) = (ids(&j, "target"), ids(&j, "instance"));
    let html = std::fs::read_to_string(&report).unwrap();
    check_report(&html, targets.len(), instances.len(), checks_len(&j));
    assert!(
        html.contains("Target.ResponseCodeMismatch"),
        "reasons on hover"
    );
    assert!(html.contains("deep health checks"), "fault markers");
    assert!(
        html.contains("[instance refresh] RollbackSuccessful, 0 % complete"),
        "stage 8's refresh in the report's narrative"
    );
    // The verdict first: its word, then one row per fault the journal has,
    // the terminate's with its replacement.
    let verdict = html.find("id=\"verdict\"").expect("a verdict on the page");
    assert!(
        verdict < html.find("<h2>Checks</h2>").unwrap() && verdict < html.find("<svg").unwrap(),
        "the verdict answers first"
    );
    let table = &html[html.find("id=\"faults\"").expect("the faults' table")..];
    let table = &table[..table.find("</table>").unwrap()];
    // Changes of settings made with the faults (the fallback, the health
    // check's mode) are journaled as faults with `change` and not measured.
    let faults = events(&j, "fault");
    let changes = faults.iter().filter(|f| f["change"] == true).count();
    assert!(changes >= 2, "the fallback and the deep checks are changes");
    assert_eq!(
        table.matches("<tr><td>").count(),
        faults.len() - changes,
        "one row per fault: {table}"
    );
    assert!(
        !table.contains("failure response static") && !table.contains("deep health checks"),
        "a change is not a fault: {table}"
    );
    assert!(
        table.contains("(i-"),
        "the terminate's replacement is named: {table}"
    );
    // No two words of the timeline overlap, and none leaves it: stage names,
    // numbered markers, axes, ticks and legends.
    let boxes = label_boxes(&html);
    let stage_names = boxes.iter().filter(|b| b.4.starts_with("5: ")).count();
    assert_eq!(stage_names, 1, "stage 5 is named on the chart: {boxes:?}");
    let badges = boxes.iter().filter(|b| b.4.parse::<u32>().is_ok()).count();
    assert!(
        badges >= events(&j, "fault").len(),
        "a marker per fault: {boxes:?}"
    );
    assert!(
        boxes.iter().any(|b| b.4 == "10 s"),
        "ticks in seconds: {boxes:?}"
    );
    assert!(
        boxes.iter().any(|b| b.4 == "unhealthy"),
        "a legend of the lanes"
    );
    let found = overlaps(&boxes, 1100.0);
    assert!(found.is_empty(), "labels overlap:\n{}", found.join("\n"));

    // The library reads it back through the types that wrote it.
    let run = resilient::journal::read(&journal).unwrap();
    assert_eq!(run.unknown_count(), 0);
    assert_eq!(run.outcome.as_ref().map(|o| o.exit_code), Some(0));
    assert_eq!(run.checks().len(), checks_len(&j));
    assert_eq!(run.events.len(), j.len() - 2, "every event line");

    // JUnit: as many test cases as check events, none failed.
    let checks = events(&j, "check");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, checks.len());
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

#[test]
fn one_failing_check_is_one_junit_failure_and_the_outcome_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.rhai"),
        "check::that(\"one holds\", true);\ncheck::at_least(\"rate <&> \\\"x\\\"\", 0.5, 0.9);\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["run", "s.rhai", "--journal", "j.jsonl", "--junit", "j.xml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a failed check has its own code"
    );
    let xml = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("2"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("message"), Some("0.5 (at least 0.9)"));
    let failed_case = failure.parent().unwrap();
    assert_eq!(failed_case.attribute("name"), Some("rate <&> \"x\""));
    let j = lines(&dir.path().join("j.jsonl"));
    let last = j.last().unwrap();
    assert_eq!(last["exit_code"], 3);
    assert_eq!(last["reason"], "1 of 2 checks failed");
    assert_eq!(last["checks"]["failed"], 1);
    assert_eq!(last["checks"]["passed"], 1);
}

#[test]
fn a_run_killed_with_sigkill_leaves_a_journal_whose_every_line_parses() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("talk.rhai"),
        "deploy::all();\nlet l = load::start(#{duration_ms: 60000, rate: 100, concurrency: 2, window_ms: 200});\nfor i in 0..100000 { ui::say(`line ${i}`); inspect::parameters(); }\n",
    )
    .unwrap();
    let journal = dir.path().join("j.jsonl");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args([
            "run",
            "talk.rhai",
            "--time-scale",
            "0.05",
            "--journal",
            "j.jsonl",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Until the running load has reported three windows.
    common::eventually_true(
        "the journal holds three load windows",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            std::fs::read_to_string(&journal).map_or(0, |t| t.matches("\"load_window\"").count())
                >= 3
        },
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let j = lines(&journal);
    assert_eq!(j[0]["type"], "header");
    assert!(j.len() >= 50);
    assert!(
        j.iter().skip(1).all(|l| l["type"] == "event"),
        "killed: no outcome"
    );
    // The load never ended, yet its windows are there, in order, with
    // what customers saw.
    assert!(events(&j, "load").is_empty(), "the load never finished");
    let windows = events(&j, "load_window");
    assert!(windows.len() >= 3, "{windows:?}");
    let starts: Vec<u64> = windows
        .iter()
        .map(|w| w["start_ms"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|p| p[0] < p[1]), "{starts:?}");
    for w in &windows {
        assert_eq!(w["load"], windows[0]["load"]);
        let (count, ok) = (
            w["window"]["count"].as_u64().unwrap(),
            w["window"]["ok"].as_u64().unwrap(),
        );
        assert!(
            count > 0 && ok == count,
            "a healthy service answers all: {w}"
        );
    }
    // The library reads it (no outcome) with the windows typed.
    let run = resilient::journal::read(&journal).unwrap();
    assert!(run.outcome.is_none());
    let typed: Vec<&resilient::internals::loadgen::Window> = run
        .known()
        .filter_map(|(_, e)| match e {
            resilient::events::EventKind::LoadWindow { window, .. } => Some(window),
            _ => None,
        })
        .collect();
    assert!(typed.len() >= windows.len(), "{typed:?}");
    assert!(typed.iter().all(|w| w.count > 0 && w.success_rate() == 1.0));
    // A report can be made from it afterwards, and says the run did not end.
    let report = dir.path().join("r.html");
    let out = Command::new(BIN)
        .arg("report")
        .arg(&journal)
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("the run did not finish"), "it says so");
    let rate = html
        .split(r#"<polyline class="rate" points=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a success-rate line from the load's windows");
    assert!(
        rate.split_whitespace().count() >= windows.len(),
        "one point per window: {rate}"
    );
    let (targets, instances) = (ids(&j, "target"), ids(&j, "instance"));
    assert!(!targets.is_empty(), "the recorder saw the targets");
    check_report(&html, targets.len(), instances.len(), 0);
}

#[test]
fn journal_schema_prints_the_schema_kept_in_docs() {
    let out = Command::new(BIN).arg("journal-schema").output().unwrap();
    assert!(out.status.success());
    let kept = std::fs::read_to_string(format!("{ROOT}/docs/journal.schema.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == kept,
        "docs/journal.schema.json is out of step: cargo run -- journal-schema > docs/journal.schema.json"
    );
    let schema: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn a_report_shades_the_windows_below_the_stop_condition() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("stop.rhai");
    std::fs::write(
        &script,
        "deploy::all();
         load::run(#{duration_ms: 1000, rate: 50, window_ms: 200, stop_below: 0.9});
         failure::bad_table();
         load::run(#{duration_ms: 3000, rate: 50, window_ms: 200, stop_below: 0.9});",
    )
    .unwrap();
    let (journal, report) = (dir.path().join("run.jsonl"), dir.path().join("run.html"));
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .arg("run")
        .arg(&script)
        .args(["--time-scale", "0.05", "--journal"])
        .arg(&journal)
        .arg("--report")
        .arg(&report)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(journal.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    // What the journal says: every window of both loads, with the floor.
    let run = resilient::journal::read(&journal).unwrap();
    let mut below = 0;
    let mut windows = 0;
    for (_, e) in run.known() {
        if let resilient::events::EventKind::Load { stats, .. } = e {
            assert_eq!(stats.stop_below, Some(0.9), "the journal keeps the floor");
            windows += stats.windows.len();
            below += stats
                .windows
                .iter()
                .filter(|w| w.count > 0 && w.success_rate() < 0.9)
                .count();
        }
    }
    assert!(below >= 1, "the broken table fails a window: {below}");
    assert!(windows > below, "the healthy load's windows are not below");
    let html = std::fs::read_to_string(&report).unwrap();
    let count = |class: &str| html.matches(&format!(r#"class="{class}""#)).count();
    assert_eq!(count("below"), below, "one shaded window per window below");
    assert_eq!(count("floor"), windows, "the floor over every window");
    assert!(
        html.contains("red: windows below it"),
        "and the legend says so"
    );
}

//! No script input can crash the process or outlive its run: sandbox limits
//! (operations, string, array and map sizes, call depth), circular imports,
//! load options with ranges and a deadline, the cap on background loads,
//! stop conditions, and faults rolled back when a run ends badly.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");

fn resilient(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--time-scale", "0.05"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run resilient")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `body` as `script.rhai` in a scratch directory.
fn run_script(body: &str, extra: &[&str]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.rhai"), body).unwrap();
    let mut args = vec!["run", "script.rhai"];
    args.extend_from_slice(extra);
    let out = resilient(dir.path(), &args);
    let all = text(&out);
    (out, all)
}

/// A limit hit is a positioned script error and exit 1, never an abort.
fn assert_limit(body: &str, extra: &[&str], words: &str) {
    let started = Instant::now();
    let (out, all) = run_script(body, extra);
    assert_eq!(out.status.code(), Some(1), "{body}: {all}");
    assert!(all.contains(words), "{body}: expected `{words}` in:\n{all}");
    assert!(all.contains("script.rhai:1:"), "{body}: positioned:\n{all}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{body} took {:?}",
        started.elapsed()
    );
}

#[test]
fn sandbox_limits_end_runaway_scripts_with_a_positioned_error() {
    assert_limit(
        "let s = \"x\"; loop { s += s; }",
        &[],
        "Length of string too large: the script went past a sandbox limit",
    );
    assert_limit(
        "let a = [1]; loop { a += a; }",
        &[],
        "Size of array/BLOB too large",
    );
    assert_limit(
        // Rhai measures a map when it is passed on, not at each insert.
        "let m = #{}; for i in 0..200000 { m[`k${i}`] = i; } m.len();",
        &[],
        "Size of object map too large",
    );
    assert_limit("fn f(x) { f(x) } f(1);", &[], "Stack overflow");
    assert_limit(
        "loop {}",
        &["--max-operations", "100000"],
        "Too many operations",
    );
}

#[test]
fn scripts_that_used_to_abort_the_process_end_as_errors_or_finish() {
    // Each of these aborted the process (stack overflow, a deadlock, an
    // allocation of terabytes) with a deployment and faults in place.
    assert_limit(
        // A chain of closures, each capturing the last: freed by recursion.
        "let f = || 0; for i in 0..20000000 { let g = f; f = || g; }",
        &[],
        "Too many operations",
    );
    assert_limit(
        "let s = \"x\"; for i in 0..22 { s += s; } let t = s; s.replace(\"\", t);",
        &[],
        "Length of string",
    );
    assert_limit(
        "let a = []; for i in 0..200000 { a.push(i); }",
        &[],
        "Size of array/BLOB too large",
    );
    assert_limit(
        "let m = #{}; for i in 0..300 { m = #{m: m}; } print(m.to_json());",
        &[],
        "nested deeper than 256",
    );
    for (body, printed) in [
        // Within the budget, the same chain is built and freed.
        (
            "let f = || 0; for i in 0..100000 { let g = f; f = || g; } print(\"freed\");",
            "freed",
        ),
        // A map that holds itself through a closure: written once.
        (
            "let m = #{n: 1}; m.f = || m; print(m.to_json());",
            "\"n\":1}",
        ),
        // Arrays nested 2,000 deep, compared and interpolated.
        (
            "let a = []; for i in 0..2000 { a = [a]; } let b = a; print(a == b); let s = `${a}`; print(s.len());",
            "true\n4002",
        ),
    ] {
        let (out, all) = run_script(body, &[]);
        assert_eq!(out.status.code(), Some(0), "{body}: {all}");
        assert!(
            all.contains(printed),
            "{body}: expected `{printed}` in:\n{all}"
        );
    }
}

#[test]
fn check_says_it_cannot_follow_an_import_computed_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rhai"), "fn f() { 1 }\n").unwrap();
    std::fs::write(
        dir.path().join("main.rhai"),
        "let name = \"lib\";\nimport name as m;\nprint(m::f());\n",
    )
    .unwrap();
    let out = resilient(dir.path(), &["check", "main.rhai"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("computed at run time"), "{all}");
    assert!(all.contains("main.rhai:2:"), "{all}");
    // It runs, all the same.
    let out = resilient(dir.path(), &["run", "main.rhai"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn imports_nested_too_deep_are_a_positioned_error_in_run_and_in_check() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..600 {
        std::fs::write(
            dir.path().join(format!("m{i}.rhai")),
            format!("import \"m{}\" as m;\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("m600.rhai"), "let x = 1;\n").unwrap();
    for command in ["run", "check"] {
        let out = resilient(dir.path(), &[command, "m0.rhai"]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{command}: {all}");
        assert!(
            all.contains("imports nested deeper than 32 files (m0.rhai → … → m31.rhai)"),
            "{command}: {all}"
        );
        assert!(all.contains("m31.rhai:1:"), "{command}: positioned: {all}");
    }
}

#[test]
fn the_default_operation_budget_stops_an_endless_loop() {
    let started = Instant::now();
    let (out, all) = run_script("let i = 0; loop { i += 1; }", &[]);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("Too many operations"), "{all}");
    eprintln!("endless loop stopped after {:?}", started.elapsed());
}

#[test]
fn a_circular_import_names_the_cycle_in_run_and_in_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.rhai"),
        "import \"b\" as b;\nlet x = 1;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.rhai"),
        "// import \"nothing\" in a comment is not an import\nimport \"a\" as a;\n",
    )
    .unwrap();
    let out = resilient(dir.path(), &["run", "a.rhai"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("circular import: a.rhai → b.rhai → a.rhai"),
        "{all}"
    );
    let out = resilient(dir.path(), &["check", "a.rhai"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("circular import: a.rhai → b.rhai → a.rhai"),
        "{all}"
    );
    assert!(
        all.contains("b.rhai:2:"),
        "at the import that closes it: {all}"
    );
    assert!(
        !all.contains("nothing"),
        "imports in comments are ignored: {all}"
    );
}

#[test]
fn load_options_have_ranges_and_pacing_honours_the_deadline() {
    let mut host = common::host();
    // Just past each bound of each option, from the table the parser reads.
    let past_bounds = resilient::internals::LOAD_OPTIONS.iter().flat_map(|o| {
        [o.min - 0.05, o.max + 1.0].map(|v| {
            (
                format!("#{{{}: {v:?}}}", o.key),
                format!("outside {}", o.range()),
            )
        })
    });
    let others = [
        ("#{rate: 1e-19}", "outside"),
        ("#{rate: 0.0/0.0}", "outside"),
        ("#{requests: -1}", "outside"),
        ("#{rate: \"fast\"}", "must be a number"),
        ("#{speed: 1}", "unknown load option `speed`"),
    ]
    .map(|(o, w)| (o.to_string(), w.to_string()));
    for (opts, words) in past_bounds.chain(others) {
        let e = common::eval_err(&mut host, &format!("load::run({opts})"));
        assert!(e.message.contains(words.as_str()), "{opts}: {e}");
        assert!(e.line.is_some(), "{opts}: positioned");
    }
    common::run(&mut host, "deploy::all();");
    // One request every 40 s per worker, for half a second: it ends on time.
    let started = Instant::now();
    let stats: serde_json::Value = common::from(common::eval(
        &mut host,
        "load::run(#{rate: 0.1, duration_ms: 500})",
    ));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "pacing ignored the deadline: {took:?}"
    );
    assert!(stats["count"].as_u64().unwrap() <= 1, "{stats}");

    // At most eight background loads at once.
    let e = common::eval_err(
        &mut host,
        "let runs = []; for i in 0..9 { runs.push(load::start(#{duration_ms: 5000, rate: 1})); }",
    );
    assert!(e.message.contains("8 loads are already running"), "{e}");
    common::run(&mut host, "for r in runs { load::stop(r); }");
    common::run(
        &mut host,
        "let r = load::start(#{duration_ms: 100}); load::stop(r);",
    );
}

#[test]
fn a_stop_condition_ends_the_scenario_and_its_faults_are_rolled_back() {
    let (out, all) = run_script(
        r#"deploy::all();
let run = load::start(#{concurrency: 2, window_ms: 200, stop_below: 0.9, duration_ms: 60000});
failure::bad_table();
wait_until(|| false, 60000);
"#,
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "a guardrail has its own code: {all}"
    );
    assert!(
        all.contains("stopped: stop condition: success rate"),
        "{all}"
    );
    assert!(
        all.contains(
            "rolled back the faults this run left: table parameter points at a missing table"
        ),
        "{all}"
    );
    assert!(
        all.contains("script.rhai:4:"),
        "stopped where it was: {all}"
    );
}

#[test]
fn a_stop_condition_during_a_foreground_load_is_located_at_the_load() {
    let (out, all) = run_script(
        "deploy::all();\nfailure::bad_table();\nload::run(#{concurrency: 2, window_ms: 200, stop_below: 0.9, duration_ms: 20000});\nui::say(\"after\");\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("script.rhai:3:"), "stopped at the load: {all}");
    assert!(!all.contains("after"), "{all}");
}

#[test]
fn faults_are_rolled_back_after_a_failed_run_unless_kept() {
    let body =
        "deploy::all(); failure::static_response(true); failure::bad_table(); throw \"boom\";";
    let (out, all) = run_script(body, &[]);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("rolled back the faults this run left: failure response static, table parameter points at a missing table"),
        "{all}"
    );
    assert_eq!(all.matches("rolled back").count(), 1, "said once: {all}");
    let (out, all) = run_script(body, &["--keep-faults"]);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("faults left in place (--keep-faults)"),
        "{all}"
    );
    // A run that repairs what it broke has nothing to roll back.
    let (out, all) = run_script(
        "deploy::all(); failure::bad_table(); failure::reset();",
        &[],
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("rolled back"), "{all}");
}

#[test]
fn rollback_really_restores_the_deployment() {
    let mut host = common::host();
    let e = common::eval_err(
        &mut host,
        r#"deploy::all(); failure::bad_table(); failure::static_response(true);
           failure::health_check("deep"); failure::latency(200); throw "boom";"#,
    );
    assert!(e.message.contains("boom"), "{e}");
    let undone = host.session().rollback_faults().unwrap();
    assert_eq!(undone.len(), 4, "{undone:?}");
    let params: serde_json::Value = common::from(common::eval(&mut host, "inspect::parameters()"));
    assert_eq!(params["table"], "resilient-demo-recommendations");
    assert_eq!(params["failure_response"], "none");
    assert_eq!(params["health_check"], "shallow");
    // Latency is gone too: requests are fast again.
    let r: serde_json::Value = common::from(common::eval(&mut host, "inspect::request()"));
    assert_eq!(r["status"], 200, "{r}");
    assert!(r["latency_ms"].as_f64().unwrap() < 150.0, "{r}");
    assert!(host.session().ledger().faults().is_empty());
}

/// A bad release rolled out (shallow checks let it through) is a fault: a
/// run that then fails rolls it back with a refresh to the latest good
/// version, and customers get that version's answers again.
#[test]
fn a_run_that_fails_after_a_bad_release_rolls_it_back() {
    let mut host = common::host();
    let e = common::eval_err(
        &mut host,
        r#"deploy::all();
           let v = deploy::new_version(#{ label: "v2", broken: "error_500" });
           deploy::roll_out(#{ version: v, min_healthy_percentage: 0, warmup_s: 0 });
           deploy::wait_roll_out(3_600_000);
           // EC2 health checks and no warmup: done before its targets serve.
           wait_until(|| inspect::request().status == 500, 300_000);
           throw "boom";"#,
    );
    assert!(e.message.contains("boom"), "{e}");
    let undone = host.session().rollback_faults().unwrap();
    assert!(
        undone.iter().any(|f| f.starts_with("bad release v2")),
        "{undone:?}"
    );
    let end: serde_json::Value =
        common::from(common::eval(&mut host, "deploy::wait_roll_out(3_600_000)"));
    assert_eq!(end["status"], "Successful", "{end}");
    assert_eq!(end["version"], 1, "{end}");
    let r: serde_json::Value = common::from(common::eval(&mut host, "inspect::request()"));
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["version"], "v1", "{r}");
}

/// The library's newer faults are rolled back the same way: throttling, a
/// flapping check, Parameter Store unavailable, a tolerant check, a zone
/// without capacity — each journaled as a fault, each undone.
#[test]
fn the_scenario_library_s_faults_are_rolled_back_too() {
    let mut host = common::host();
    let e = common::eval_err(
        &mut host,
        r#"deploy::all(); let i = inspect::instances()[0];
           failure::throttle(1.0); failure::flap(i.id, 1000, 1000);
           failure::parameter_store_outage(true); failure::health_check("tolerant");
           failure::insufficient_capacity(i.az); throw "boom";"#,
    );
    assert!(e.message.contains("boom"), "{e}");
    let undone = host.session().rollback_faults().unwrap();
    assert_eq!(undone.len(), 5, "{undone:?}");
    assert!(
        undone.iter().any(|f| f.starts_with("no capacity in ")),
        "{undone:?}"
    );
    let params: serde_json::Value = common::from(common::eval(&mut host, "inspect::parameters()"));
    assert_eq!(params["health_check"], "shallow");
    assert_eq!(params["fault"]["throttle_rate"], 0.0, "{params}");
    assert!(params["fault"].get("flap").is_none(), "{params}");
    assert!(
        params["fault"].get("parameter_store_down").is_none(),
        "{params}"
    );
    // The zone has capacity again: an instance lost there is replaced there.
    let replaced_in_zone = common::eval(
        &mut host,
        r#"let i = inspect::instances()[0];
           failure::terminate(i.id);
           wait_until(|| inspect::instances().some(|x| x.id != i.id && x.az == i.az), 600_000);
           inspect::activities().filter(|a| a.status == "Failed").len() == 0"#,
    );
    assert_eq!(
        replaced_in_zone.as_bool().ok(),
        Some(true),
        "no failed launch once rolled back"
    );
    assert!(host.session().ledger().faults().is_empty());
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("talk.rhai"),
        "for i in 0..200000 { ui::say(`line ${i}`); }",
    )
    .unwrap();
    for args in [&["docs"][..], &["plan"], &["run", "talk.rhai"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe as `| head -1` does.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

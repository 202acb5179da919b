//! The command line as a user meets it: the full demo, the examples, script
//! errors with file, line, column and caret, `check`, and failing checks.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn resilient(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--time-scale", "0.05"])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run resilient")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_script(name: &str, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), body).unwrap();
    dir
}

#[test]
fn the_full_demo_runs_unattended_to_exit_0() {
    let out = resilient(&["run", "scripts/full_demo.rhai"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for stage in 1..=7 {
        assert!(
            stdout.contains(&format!("Stage {stage} of 7")),
            "stage {stage} missing"
        );
    }
    assert!(
        stdout.contains("502 from the load balancer"),
        "stage 2 shows the 502"
    );
    assert!(
        stdout.contains("static fallback"),
        "stage 3 shows the fallback"
    );
    assert!(
        stdout.contains("Target.ResponseCodeMismatch"),
        "stage 5 shows the reason"
    );
    assert!(
        stdout.contains("(batch mode)"),
        "prompts say they took their default"
    );
    assert!(stdout.contains("Everything is gone."));
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A part of the demo runs alone to exit 0.
fn part_runs_alone(part: &str) {
    let out = resilient(&["run", part]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{part}\n{stdout}\n{stderr}");
}

#[test]
fn the_deploy_part_runs_alone() {
    part_runs_alone("scripts/deploy.rhai");
}

#[test]
fn the_demo_part_runs_alone() {
    part_runs_alone("scripts/demo.rhai");
}

#[test]
fn the_destroy_part_runs_alone() {
    part_runs_alone("scripts/destroy.rhai");
}

/// An example runs to exit 0 with every check passed. (One test per
/// example, so they run side by side: each mostly waits on cloud time.)
fn example_passes_its_checks(example: &str) {
    let out = resilient(&["run", &format!("examples/{example}.rhai")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{example}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(" passed, 0 failed"),
        "{example} ran its checks:\n{stdout}"
    );
}

#[test]
fn every_example_has_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("examples"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rhai").map(str::to_string))
        .collect();
    found.sort();
    let mut tested = EXAMPLES.to_vec();
    tested.sort();
    assert_eq!(found, tested, "add a test below for each example");
}

/// The examples the tests below run.
const EXAMPLES: [&str; 7] = [
    "az_outage",
    "rolling_reboot",
    "slow_dependency",
    "self_healing_group",
    "process_crash",
    "hung_instance",
    "control_plane",
];

#[test]
fn the_az_outage_example_passes_its_checks() {
    example_passes_its_checks("az_outage");
}

#[test]
fn the_rolling_reboot_example_passes_its_checks() {
    example_passes_its_checks("rolling_reboot");
}

#[test]
fn the_slow_dependency_example_passes_its_checks() {
    example_passes_its_checks("slow_dependency");
}

#[test]
fn the_self_healing_group_example_passes_its_checks() {
    example_passes_its_checks("self_healing_group");
}

#[test]
fn the_process_crash_example_passes_its_checks() {
    example_passes_its_checks("process_crash");
}

#[test]
fn the_hung_instance_example_passes_its_checks() {
    example_passes_its_checks("hung_instance");
}

#[test]
fn the_control_plane_example_passes_its_checks() {
    example_passes_its_checks("control_plane");
}

#[test]
fn a_failed_check_makes_the_run_fail() {
    let dir = temp_script("c.rhai", "check::that(\"one is two\", 1 == 2);\n");
    let out = resilient(&["run", dir.path().join("c.rhai").to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("check failed: one is two"), "{stdout}");
    assert!(stdout.contains("checks: 0 passed, 1 failed"), "{stdout}");
}

#[test]
fn a_syntax_error_shows_file_line_column_line_and_caret() {
    let dir = temp_script("bad.rhai", "let a = 1;\nlet b = (a + ;\n");
    let file = dir.path().join("bad.rhai");
    let out = resilient(&["run", file.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("bad.rhai:2:"), "{stderr}");
    assert!(stderr.contains("let b = (a + ;"), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.trim_end().ends_with('^')),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_runtime_error_in_an_imported_module_points_into_that_module() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/helpers.rhai"),
        "fn boom() {\n    let x = 1;\n    inspect::targets()\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.rhai"),
        "import \"lib/helpers\" as h;\nh::boom();\n",
    )
    .unwrap();
    let out = resilient(&["run", dir.path().join("main.rhai").to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("target group"), "{stderr}");
    assert!(stderr.contains("helpers.rhai:3:14"), "{stderr}");
    assert!(stderr.contains("    inspect::targets()"), "{stderr}");
    assert!(stderr.contains("in call to function `boom`"), "{stderr}");
}

#[test]
fn calling_inspect_before_deploy_is_a_one_line_error() {
    let dir = temp_script("early.rhai", "inspect::request();\n");
    let out = resilient(&["run", dir.path().join("early.rhai").to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with("error: the load balancer") && first.contains("deploy::all()"),
        "{stderr}"
    );
}

#[test]
fn check_reports_every_broken_file_and_missing_import_without_running() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.rhai"),
        "import \"b\" as b;\nimport \"missing\" as m;\ndeploy::all();\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.rhai"), "fn f( {\n").unwrap();
    let out = resilient(&["check", dir.path().join("a.rhai").to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("b.rhai:1:"), "{stderr}");
    assert!(stderr.contains("missing.rhai cannot be read"), "{stderr}");
    assert!(
        stderr.contains("a.rhai:2"),
        "the import line is named: {stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
    assert!(!stdout.contains("Deploy"), "nothing ran");
}

#[test]
fn check_accepts_the_shipped_scripts() {
    let mut args = vec!["check"];
    let scripts = [
        "scripts/full_demo.rhai",
        "scripts/deploy.rhai",
        "scripts/demo.rhai",
        "scripts/destroy.rhai",
        "examples/az_outage.rhai",
        "examples/rolling_reboot.rhai",
        "examples/slow_dependency.rhai",
        "examples/self_healing_group.rhai",
        "examples/process_crash.rhai",
        "examples/hung_instance.rhai",
        "examples/control_plane.rhai",
    ];
    args.extend(scripts);
    let out = resilient(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("11 file(s) compile"));
    assert!(Path::new(ROOT).join("scripts/lib/stages.rhai").exists());
}

#[test]
fn a_missing_file_and_an_unknown_backend_are_clear() {
    let out = resilient(&["run", "no/such/file.rhai"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot read no/such/file.rhai"), "{stderr}");
    let out = resilient(&["run", "scripts/deploy.rhai", "--backend", "gcp"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("unknown backend `gcp`"), "{stderr}");
}

#[test]
fn plan_prints_resources_and_version_and_help_work() {
    let out = resilient(&["plan"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains("resilient-demo-lb") && stdout.contains("about 0"),
        "{stdout}"
    );
    let out = resilient(&["plan", "--backend", "aws"]);
    assert!(text(&out).0.contains("USD per hour on aws"));
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("resilient "));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("run"));
}

#[test]
fn the_aws_backend_fails_in_one_sentence_when_the_endpoint_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(BIN)
        .args([
            "run",
            "scripts/deploy.rhai",
            "--backend",
            "aws",
            "--region",
            "us-east-1",
        ])
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("error: cannot reach http://127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn logs_go_to_stderr_only_when_asked() {
    let dir = temp_script("l.rhai", "deploy::all();\ndestroy::all();\n");
    let script = dir.path().join("l.rhai");
    let quiet = resilient(&["run", script.to_str().unwrap()]);
    let (stdout, stderr) = text(&quiet);
    assert!(quiet.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("DEBUG"), "no logs unless asked: {stderr}");
    assert!(
        !stdout.contains('⠁') && !stdout.contains("elapsed"),
        "no spinner in a pipe"
    );
    let loud = resilient(&["-v", "run", script.to_str().unwrap()]);
    let (stdout, stderr) = text(&loud);
    assert!(loud.status.success(), "{stdout}{stderr}");
    for expected in ["launching", "target health changed", "waiting"] {
        assert!(stderr.contains(expected), "-v logs {expected}: {stderr}");
    }
    assert!(!stdout.contains("DEBUG"), "logs never go to stdout");
}

/// RUST_LOG picks the logs by target and level; a filter that is not one is
/// named in a warning and the run goes on without logs.
#[test]
fn rust_log_picks_the_logs_and_a_wrong_filter_is_named() {
    let dir = temp_script("l.rhai", "deploy::all();\ndestroy::all();\n");
    let script = dir.path().join("l.rhai");
    let run = |filter: &str| {
        Command::new(BIN)
            .args(["run", script.to_str().unwrap(), "--time-scale", "0.05"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .output()
            .expect("run resilient")
    };
    let out = run("resilient=debug");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("launching"),
        "RUST_LOG=resilient=debug logs: {stderr}"
    );
    let out = run("resilient=warn");
    let (_, stderr) = text(&out);
    assert!(!stderr.contains("DEBUG"), "warn and above only: {stderr}");
    let out = run("resilient=chatty");
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "a wrong filter does not stop the run: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("warning: RUST_LOG=\"resilient=chatty\" is not a log filter"),
        "{stderr}"
    );
    assert!(!stderr.contains("DEBUG"), "{stderr}");
}

/// At a terminal (a pseudo-terminal from util-linux's `script`), long waits
/// draw spinners: a background load's shows its progress, window by window;
/// the printed lines stay whole.
#[test]
fn at_a_terminal_waits_draw_spinners_with_progress() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "util-linux `script` is missing on CI"
        );
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return;
    }
    let dir = temp_script(
        "s.rhai",
        "deploy::all();\nlet l = load::start(#{duration_ms: 1500, rate: 50, window_ms: 200});\nload::finish(l);\ndestroy::all();\n",
    );
    let command = format!(
        "{BIN} run {} --time-scale 0.05 --yes",
        dir.path().join("s.rhai").display()
    );
    let out = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "160")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let ticks = ['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];
    assert!(stdout.contains(ticks), "no spinner drawn: {stdout}");
    assert!(
        stdout.contains("load #") && stdout.contains("requests") && stdout.contains("% answered"),
        "the load's spinner shows its progress: {stdout}"
    );
    assert!(
        stdout.contains("✔ launch template"),
        "step lines print whole: {stdout}"
    );
}

#[test]
fn outputs_that_would_overwrite_an_input_or_each_other_are_refused_before_anything_runs() {
    let dir = temp_script("s.rhai", "deploy::all();\n");
    let script = dir.path().join("s.rhai");
    let script = script.to_str().unwrap();
    let other = dir.path().join("out.jsonl");
    let other = other.to_str().unwrap();
    for (args, named) in [
        (vec!["run", script, "--journal", script], "--journal"),
        (vec!["run", script, "--report", script], "--report"),
        (
            vec!["run", script, "--journal", other, "--junit", other],
            "--junit",
        ),
        (vec!["report", script, "-o", script], "--output"),
    ] {
        let out = resilient(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(named) && stderr.contains("same file"),
            "{args:?}: {stderr}"
        );
        assert!(!stdout.contains("deploy"), "nothing ran: {stdout}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s.rhai")).unwrap(),
            "deploy::all();\n",
            "the script is intact"
        );
    }
    let out = resilient(&["run", script, "--report", dir.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    assert!(stdout.is_empty(), "refused before the run: {stdout}");
}

#[test]
fn run_only_options_are_refused_elsewhere() {
    for args in [
        &["repl", "--journal", "j.jsonl"][..],
        &["plan", "--keep-faults"],
        &["check", "scripts/demo.rhai", "--junit", "j.xml"],
        &["--report", "r.html", "run", "scripts/demo.rhai"],
    ] {
        let out = resilient(args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("unexpected argument"), "{args:?}: {stderr}");
    }
}

/// Runs `shell` (which starts the binary as `$BIN`) at a pseudo-terminal
/// with color allowed; returns what reached the terminal, escapes kept.
fn at_a_terminal(dir: &Path, shell: &str) -> String {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", shell])
        .current_dir(dir)
        .env("BIN", BIN)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let mut p = rexpect::session::spawn_with_options(
        cmd,
        rexpect::session::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(false),
    )
    .unwrap();
    p.exp_eof().unwrap()
}

#[test]
fn each_stream_is_colored_only_when_it_is_a_terminal() {
    let dir = temp_script("c.rhai", "ui::heading(\"Heading\");\nthrow \"boom\";\n");
    let esc = '\u{1b}';
    // stdout to a file, stderr at the terminal.
    let shown = at_a_terminal(dir.path(), "\"$BIN\" run c.rhai > out.txt");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert!(out.contains("Heading") && !out.contains(esc), "{out:?}");
    assert!(shown.contains("boom") && shown.contains(esc), "{shown:?}");
    // stderr to a file, stdout at the terminal.
    let shown = at_a_terminal(dir.path(), "\"$BIN\" run c.rhai 2> err.txt");
    let err = std::fs::read_to_string(dir.path().join("err.txt")).unwrap();
    assert!(err.contains("boom") && !err.contains(esc), "{err:?}");
    assert!(
        shown.contains("Heading") && shown.contains(esc),
        "{shown:?}"
    );
    // NO_COLOR: neither.
    let shown = at_a_terminal(dir.path(), "NO_COLOR=1 \"$BIN\" run c.rhai");
    assert!(shown.contains("boom") && !shown.contains(esc), "{shown:?}");
}

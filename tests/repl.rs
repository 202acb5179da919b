//! The REPL, driven with piped input and through a pseudo-terminal.

use rexpect::session::{Options, spawn_with_options};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Pipes `input` into the REPL, keeping history in a scratch file.
fn piped(input: &str) -> (String, String) {
    let history = tempfile::tempdir().unwrap();
    piped_with_history(input, &history.path().join("h.txt"))
}

/// The REPL with piped standard streams, history kept in `history`.
fn spawn_piped(history: &std::path::Path) -> std::process::Child {
    Command::new(BIN)
        .args(["repl", "--time-scale", "0.05"])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env("RESILIENT_HISTORY", history)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Pipes `input` into the REPL with history kept in `history`.
fn piped_with_history(input: impl AsRef<[u8]>, history: &std::path::Path) -> (String, String) {
    let mut child = spawn_piped(history);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_ref())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn piped_multi_line_definitions_persist_across_inputs() {
    let (stdout, stderr) = piped(
        "let x = 20;\nfn double(n) {\n  n * 2\n}\ndouble(x) + 2\nlet m = #{\n  a: 1,\n};\nm.a + x\nlet s = `two\nlines`;\ns.len()\n",
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"42"), "{stdout}\n{stderr}");
    assert!(lines.contains(&"21"), "{stdout}");
    assert!(
        lines.contains(&"9"),
        "backtick strings span lines: {stdout}"
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn piped_errors_are_reported_at_once_with_a_caret_and_the_session_goes_on() {
    let (stdout, stderr) = piped("let y = (1 + ;\nlet z = 5;\nz + undefined_var\nz * 2\n");
    assert!(stderr.contains("<repl>:1:14"), "{stderr}");
    assert!(
        stderr.contains("Variable not found: undefined_var"),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.trim_end().ends_with('^')),
        "{stderr}"
    );
    assert!(stdout.lines().any(|l| l == "10"), "{stdout}");
}

#[test]
fn piped_input_survives_bytes_that_are_not_utf8_and_a_long_pasted_block() {
    let history = tempfile::tempdir().unwrap();
    let mut input = b"let a = 1;\nlet s = \"caf\xff\";\nprint(s.len);\nfn big() {\n".to_vec();
    for i in 0..2000 {
        input.extend(format!("  let x{i} = {i};\n").as_bytes());
    }
    input.extend(b"  x1999\n}\nprint(big() + a);\n");
    let (out, err) = piped_with_history(&input, &history.path().join("h.txt"));
    assert!(
        err.contains("input line 2 is not valid UTF-8"),
        "the bad byte is named: {err}"
    );
    let printed: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(printed, ["4", "2000"], "the session went on: {out}\n{err}");
}

#[test]
fn piped_help_commands_and_suggestions() {
    let (stdout, stderr) = piped(
        ":help\n:help deploy::all\n:help inspect\n:hlep\n:scope\nlet a = 1;\n:scope\n:help nosuch::thing\n",
    );
    assert!(stdout.contains("deploy:: — create the service"), "{stdout}");
    assert!(
        stdout.contains("wait_until"),
        "globals are listed: {stdout}"
    );
    assert!(stdout.contains("deploy::all() -> map"), "{stdout}");
    assert!(
        stdout.contains("Deploys everything"),
        "the doc comment is shown: {stdout}"
    );
    assert!(
        stdout.contains("inspect::targets() -> array"),
        "module help lists its functions"
    );
    assert!(
        stderr.contains("unknown command `:hlep`; did you mean `:help`?"),
        "{stderr}"
    );
    assert!(stdout.contains("no variables yet"), "{stdout}");
    assert!(stdout.contains("let a: i64 = 1"), "{stdout}");
    assert!(
        stdout.contains("no function or module named `nosuch::thing`"),
        "{stdout}"
    );
}

#[test]
fn piped_load_keeps_functions_and_run_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib.rhai");
    std::fs::write(&lib, "fn triple(n) { n * 3 }\nlet loaded = true;\n").unwrap();
    let (stdout, stderr) = piped(&format!(
        ":load {0}\ntriple(5)\nloaded\n:run {0}\n:load\n",
        lib.display()
    ));
    assert!(stdout.lines().any(|l| l == "15"), "{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l == "true"), "{stdout}");
    assert!(stderr.contains(":load needs a file"), "{stderr}");
}

#[test]
fn history_goes_where_the_environment_says() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.txt");
    piped_with_history("let remembered = 1;\n", &file);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("let remembered = 1;"), "{saved}");
}

fn pty() -> rexpect::session::PtySession {
    let history =
        std::env::temp_dir().join(format!("resilient-test-history-{}", std::process::id()));
    let mut cmd = Command::new(BIN);
    cmd.args(["repl", "--time-scale", "0.05"])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("RESILIENT_HISTORY", history);
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    p.exp_string("Ctrl-D to leave").unwrap();
    p
}

#[test]
fn tab_completes_modules_and_functions() {
    let mut p = pty();
    p.send("insp\t").unwrap();
    p.flush().unwrap();
    p.exp_string("inspect::").unwrap();
    p.send("endp\t").unwrap();
    p.flush().unwrap();
    p.exp_string("endpoint(").unwrap();
    p.send(")\r").unwrap();
    p.flush().unwrap();
    p.exp_string("is not deployed").unwrap();
    p.send(":q\r").unwrap();
    p.flush().unwrap();
    p.exp_eof().unwrap();
}

/// Starts `input`, presses Ctrl-C while it runs, and checks that the prompt
/// is back within a second.
fn interrupt_within_a_second(p: &mut rexpect::session::PtySession, input: &str) {
    p.send(&format!("{input}\r")).unwrap();
    p.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let sent = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string("resilient> ").unwrap();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(1), "{input}: took {took:?}");
}

#[test]
fn ctrl_c_stops_a_running_loop_and_a_cloud_call_within_a_second_and_keeps_the_session() {
    let mut p = pty();
    p.send("let keep = 7; deploy::all().endpoint\r").unwrap();
    p.flush().unwrap();
    // The result, quoted: the readiness spinner also names the endpoint.
    p.exp_string("\"http://127.0.0.1:").unwrap();

    // A script loop, then a long cloud call (bounded load for 60 s).
    interrupt_within_a_second(&mut p, "wait_until(|| false, 60000)");
    interrupt_within_a_second(&mut p, "load::run(#{duration_ms: 60000})");

    // Everything is intact: variables, and the deployment.
    p.send("keep * 6\r").unwrap();
    p.flush().unwrap();
    p.exp_string("42").unwrap();
    p.send("inspect::request().status\r").unwrap();
    p.flush().unwrap();
    p.exp_string("200").unwrap();

    // Ctrl-C at the prompt clears the line; Ctrl-D leaves and names what is live.
    p.send("this is not finished").unwrap();
    p.flush().unwrap();
    p.exp_string("this is not finished").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("resilient> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_string("resources still ran on the local cloud")
        .unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn save_writes_the_inputs_that_ran_as_a_script_that_reproduces_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("explored.rhai");
    let journal = dir.path().join("session.jsonl");
    let (stdout, stderr) = piped(&format!(
        ":journal {}\ndeploy::all();\nlet broken = 1 +;\nfailure::bad_table();\nno_such_function();\nlet t = inspect::parameters().table;\nfn twice(x) {{\n  x * 2\n}}\n:save {}\n",
        journal.display(),
        saved.display()
    ));
    assert!(stdout.contains("saved 5 input(s)"), "{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(
        text.starts_with("// Saved from a resilient REPL session"),
        "{text}"
    );
    for kept in [
        "deploy::all();",
        "failure::bad_table();",
        "let t = inspect::parameters().table;",
        "fn twice(x) {",
    ] {
        assert!(text.contains(kept), "{kept} kept:\n{text}");
    }
    for dropped in ["1 +", ":journal", ":save"] {
        assert!(!text.contains(dropped), "{dropped} dropped:\n{text}");
    }
    // A failed input ran up to its error: kept, as a comment that says so.
    assert!(
        text.contains("// failed, not replayed") && text.contains("// no_such_function();"),
        "{text}"
    );
    // Running it reproduces the session's effects.
    let mut script = text.clone();
    script.push_str(
        "check::equal(\"the table parameter is broken\", t, \"resilient-demo-no-such-table\");\ncheck::equal(\"functions came along\", twice(21), 42);\n",
    );
    std::fs::write(&saved, script).unwrap();
    let out = Command::new(BIN)
        .args(["run", saved.to_str().unwrap(), "--time-scale", "0.05"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{out_text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out_text.contains("checks: 2 passed, 0 failed"),
        "{out_text}"
    );
    // The session's journal: a header, the fault, an outcome at the end.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert!(lines.iter().any(|l| l["event"] == "fault"));
    assert_eq!(lines.last().unwrap()["type"], "outcome");
}

#[test]
fn a_guardrail_that_trips_between_inputs_is_announced_and_rolled_back() {
    use std::io::{BufRead, BufReader};
    let history = tempfile::tempdir().unwrap();
    let mut child = spawn_piped(&history.path().join("h.txt"));
    let mut stdin = child.stdin.take().unwrap();
    // The load runs in the background; the fault trips its stop condition
    // while the REPL waits for the next input (stdin stays open).
    stdin
        .write_all(
            b"deploy::all();\nlet l = load::start(#{concurrency: 2, window_ms: 200, stop_below: 0.9, duration_ms: 60000});\nfailure::bad_table();\n",
        )
        .unwrap();
    stdin.flush().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let tripped = line.contains("stopped by a guardrail: stop condition: success rate");
            seen.push(line);
            if tripped {
                break;
            }
        }
    }
    assert!(
        seen.iter().any(|l| l.contains("stopped by a guardrail")),
        "announced without another input: {seen:?}"
    );
    // Rolled back: the table parameter is the real table again.
    stdin
        .write_all(b"print(inspect::parameters().table);\n:quit\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "rolled back the faults this run left: table parameter points at a missing table"
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l == "resilient-demo-recommendations"),
        "{stdout}"
    );
}

#[test]
fn sigterm_while_the_repl_waits_ends_it_with_its_farewell_and_the_faults_rolled_back() {
    signal_ends_the_repl("-TERM", None);
}

#[test]
fn sigterm_and_sighup_while_an_input_runs_stop_it_and_end_the_repl_with_its_farewell() {
    signal_ends_the_repl("-TERM", Some("wait_until(|| false, 600000)"));
    signal_ends_the_repl("-HUP", Some("load::run(#{duration_ms: 60000})"));
}

/// Injects a fault in a piped REPL, then sends `signal` while the REPL
/// waits for input (stdin stays open) or while `running` runs: the REPL
/// ends within seconds with its farewell (the fault rolled back, the
/// journal's outcome 130).
fn signal_ends_the_repl(signal: &str, running: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let mut child = spawn_piped(&dir.path().join("h.txt"));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        ":journal {}\ndeploy::all();\nfailure::bad_table();\nprint(\"injected\");",
        journal.display()
    )
    .unwrap();
    stdin.flush().unwrap();
    // Wait until the inputs ran (the journal records the fault).
    let injected =
        || std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"event\":\"fault\""));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !injected() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(injected(), "the fault was injected");
    if let Some(input) = running {
        writeln!(stdin, "{input}").unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    // A REPL that does not leave is killed after 30 s (and the test fails).
    let pid = child.id().to_string();
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = {
        let pid = pid.clone();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                watch.recv_timeout(Duration::from_secs(30))
            {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        })
    };
    let sent = Instant::now();
    let status = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    let _ = watchdog.join();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "{signal} {running:?}: left in {:?}",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(
        stderr.contains("terminated (SIGTERM or SIGHUP): leaving the REPL"),
        "{stderr}"
    );
    assert!(
        stdout.contains(
            "rolled back the faults this run left: table parameter points at a missing table"
        ),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "outcome", "{last}");
    assert_eq!(last["exit_code"], 130, "{last}");
    assert_eq!(last["reason"], "terminated (SIGTERM or SIGHUP)", "{last}");
}

#[test]
fn a_chain_of_closures_grown_across_inputs_is_dropped_before_it_can_overflow_the_stack() {
    // Each input builds 60,000 more links (120,000 levels): past what the
    // REPL keeps between inputs, so the chain never grows input by input
    // to a depth whose drop overflows the interpreter's stack.
    let grow = "for i in 0..60000 { let g = f; f = || g; }\n";
    let (stdout, stderr) = piped(&format!(
        "let f = || 0;\nlet kept = [1, [2, [3]]];\n{grow}{grow}print(`f: ${{type_of(f)}}`);\nprint(kept[1][1][0]);\n"
    ));
    assert_eq!(
        stderr
            .matches("`f` is dropped: its value nests more than 100000 levels deep")
            .count(),
        1,
        "{stderr}"
    );
    // The next input finds it gone.
    assert!(stderr.contains("Variable not found: f"), "{stderr}");
    assert!(stdout.contains('3'), "{stdout}");
}

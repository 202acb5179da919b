//! Fuzzing, bounded by a number of cases (a few seconds each): the REPL's
//! input gatherer and the script runner, fed random and hostile input, never
//! panic; the gatherer never loses or invents a character; every script
//! error renders with its position.
//!
//! `PROPTEST_CASES` raises the count for a longer run.

mod common;

use proptest::prelude::*;
use resilient::Host;
use resilient::host::{HostOptions, Limits};
use resilient::internals::Gatherer;
use resilient::settings::{Backend, Settings};
use std::cell::RefCell;

/// Pieces of Rhai, valid and broken, plus text that trips lexers.
const FRAGMENTS: &[&str] = &[
    "let x = ",
    "x",
    "1",
    "-",
    "+",
    "*",
    "/",
    "%",
    "0",
    "1e309",
    "9223372036854775807",
    "\"s\"",
    "`b${x}`",
    "`",
    "\"",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "#{",
    "a: 1",
    ",",
    ";",
    "fn f(a) {",
    "f(x)",
    "loop {",
    "break;",
    "while x < 3 {",
    "x += 1;",
    "if x {",
    "} else {",
    "switch x { 1 => 2, _ => 3 }",
    "x.len()",
    "x[0]",
    "x.a",
    "::",
    ".",
    "=>",
    "|| x",
    "import \"m\" as m;",
    "ui::say(x);",
    "inspect::parameters()",
    "check::that(\"c\", true);",
    "throw \"e\";",
    "try {",
    "} catch (e) {",
    "é",
    "😀",
    "\u{0}",
    "\n",
    "\t",
    "// c",
    "/*",
    "*/",
    "return",
    "this",
    "Fn(\"f\")",
    "call(",
    "eval(\"1\")",
    ":help",
    ":scope",
    "true",
    "()",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FRAGMENTS).prop_map(str::to_string),
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(|v| v.into_iter().collect()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..8).prop_map(|v| v.join(" ").replace('\n', " "))
}

fn script() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.join(" "))
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(20_000))]

    #[test]
    fn the_gatherer_never_panics_nor_loses_input(lines in prop::collection::vec(line(), 0..10)) {
        let mut g = Gatherer::default();
        let mut out = String::new();
        let mut expected = String::new();
        for l in &lines {
            if !(g.pending().is_empty() && l.trim().is_empty()) {
                expected.push_str(l);
                expected.push('\n');
            }
            if let Some(input) = g.push(l) {
                prop_assert!(input.ends_with('\n'));
                out.push_str(&input);
            }
        }
        out.push_str(g.pending());
        prop_assert_eq!(out, expected);
    }
}

#[test]
fn the_script_runner_never_panics_and_positions_its_errors() {
    let host = RefCell::new(
        Host::new(HostOptions {
            settings: Settings {
                backend: Backend::Local,
                time_scale: common::TEST_TIME_SCALE,
                ..Settings::default()
            },
            batch: true,
            limits: Limits {
                max_operations: 20_000,
            },
            // Random scripts say random things: nobody needs to read them.
            quiet: true,
            ..Default::default()
        })
        .unwrap(),
    );
    let ran = std::cell::Cell::new((0u32, 0u32));
    let mut runner = proptest::test_runner::TestRunner::new(cases(20_000));
    runner
        .run(&script(), |code| {
            let result = host.borrow_mut().eval(&code, common::INLINE);
            let (n, failed) = ran.get();
            ran.set((n + 1, failed + u32::from(result.is_err())));
            if let Err(e) = result {
                let shown = e.to_string();
                prop_assert!(shown.starts_with("error:"), "{}", shown);
                prop_assert!(
                    e.line.is_some() || e.message.contains("module"),
                    "{}",
                    shown
                );
            }
            Ok(())
        })
        .unwrap();
    let (n, failed) = ran.get();
    eprintln!("script fuzz: {n} scripts, {failed} ended in an error, 0 panics");
}

//! Every number (and every other value) a script passes is checked: each
//! registered script function, found from the engine's own metadata (so a new
//! function is covered without editing this test), is called with wrong
//! types, negative, zero, huge, NaN and infinite numbers, empty and very long
//! strings, and maps of out-of-range options — before anything is deployed
//! and with a deployment. Every call must end in a value or a clean,
//! positioned script error; none may panic.

mod common;

use resilient::Host;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// One callable function: `module::name` (or a global name) and its
/// parameter types as Rhai spells them.
struct Function {
    path: String,
    params: Vec<String>,
}

/// The script API's functions with parameters (our modules and globals, not
/// Rhai's standard library).
fn functions(host: &Host) -> Vec<Function> {
    let json = host.engine().gen_fn_metadata_to_json(false).unwrap();
    let meta: Value = serde_json::from_str(&json).unwrap();
    let params = |f: &Value| -> Vec<String> {
        f["params"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["type"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (module, m) in meta["modules"].as_object().unwrap() {
        for f in m["functions"].as_array().unwrap() {
            out.push(Function {
                path: format!("{module}::{}", f["name"].as_str().unwrap()),
                params: params(f),
            });
        }
    }
    for f in meta["functions"].as_array().unwrap_or(&Vec::new()) {
        out.push(Function {
            path: f["name"].as_str().unwrap().to_string(),
            params: params(f),
        });
    }
    out.retain(|f| !f.params.is_empty());
    out
}

/// Hostile values, as Rhai expressions (`long` is a 100 000-character string
/// defined in the scope).
const VALUES: &[&str] = &[
    "()",
    "-1",
    "0",
    "9223372036854775807",
    "-9223372036854775808",
    "-0.5",
    "1e300",
    "-1e300",
    "1e-19",
    "(0.0/0.0)",
    "(1.0/0.0)",
    "\"\"",
    "long",
    "\"i-\\u0000\\n%ff\"",
    "[]",
    "[(), -1, long]",
    "#{}",
    "true",
];

/// The keys maps are filled with, besides every load option (from the
/// load options' table): every setting name and an unknown key.
const KEYS: &[&str] = &[
    "backend",
    "prefix",
    "time_scale",
    "instances",
    "no_such_key",
];

/// Every key maps are filled with, and for load options the values just
/// outside their range (from the same table the parser reads).
fn keys() -> Vec<(&'static str, Vec<String>)> {
    let load = resilient::internals::LOAD_OPTIONS.iter().map(|o| {
        (
            o.key,
            vec![format!("{:?}", o.min - 0.05), format!("{:?}", o.max + 1.0)],
        )
    });
    load.chain(KEYS.iter().map(|k| (*k, Vec::new()))).collect()
}

/// A plausible value of a declared type, for the other parameters.
fn plausible(ty: &str) -> &'static str {
    match ty {
        t if t.contains("str") || t.contains("String") => "\"i-0\"",
        t if t.contains("i64") || t.contains("int") => "1",
        t if t.contains("f64") || t.contains("float") => "0.5",
        t if t.contains("Map") => "#{}",
        t if t.contains("Array") => "[\"a\"]",
        t if t.contains("bool") => "true",
        t if t.contains("FnPtr") || t.contains("Fn") => "|| true",
        _ => "()",
    }
}

/// Every call to try: each hostile value in each position (the others
/// plausible), the same hostile value everywhere, and for map parameters
/// every key set to every numeric hostile value.
fn calls(f: &Function) -> Vec<String> {
    let mut out = Vec::new();
    let args = |at: usize, v: &str| -> String {
        f.params
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                if i == at {
                    v.to_string()
                } else {
                    plausible(ty).to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for v in VALUES {
        for at in 0..f.params.len() {
            out.push(format!("{}({})", f.path, args(at, v)));
        }
        let same = vec![*v; f.params.len()].join(", ");
        out.push(format!("{}({same})", f.path));
    }
    for (at, ty) in f.params.iter().enumerate() {
        if !ty.contains("Map") {
            continue;
        }
        for (key, past_bounds) in keys() {
            let hostile = VALUES
                .iter()
                .filter(|v| !v.starts_with('[') && **v != "long")
                .map(|v| v.to_string());
            for v in hostile.chain(past_bounds) {
                out.push(format!(
                    "{}({})",
                    f.path,
                    args(at, &format!("#{{{key}: {v}}}"))
                ));
            }
        }
    }
    // A one-parameter function's "same value everywhere" call is the call
    // with that value in its one position: each call once, in order (a
    // repeated `load::run(#{})` alone is five seconds of load).
    let mut seen = std::collections::HashSet::new();
    out.retain(|call| seen.insert(call.clone()));
    out
}

/// Runs every call; returns how many ran and the failures (panics, errors
/// without a position).
fn sweep(host: &mut Host, functions: &[Function]) -> (usize, Vec<String>) {
    common::run(host, "let long = \"x\"; for i in 0..17 { long += long; }");
    let mut count = 0;
    let mut bad = Vec::new();
    for f in functions {
        for call in calls(f) {
            count += 1;
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                host.eval(&format!("{call};"), common::INLINE)
            }));
            match outcome {
                Err(_) => bad.push(format!("{call}: panicked")),
                Ok(Err(e)) if e.line.is_none() || e.message.trim().is_empty() => {
                    bad.push(format!("{call}: error without a position: {e}"))
                }
                Ok(_) => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{call} ran for {:?}: arguments must not make a call run long",
                started.elapsed()
            );
        }
    }
    (count, bad)
}

/// The functions to sweep, checked to cover the API.
fn swept(host: &Host) -> Vec<Function> {
    let functions = functions(host);
    assert!(
        functions.len() >= 20,
        "the metadata lists the API: {}",
        functions.len()
    );
    for name in [
        "load::run",
        "failure::latency",
        "wait_until",
        "deploy::configure",
    ] {
        assert!(functions.iter().any(|f| f.path == name), "{name} is swept");
    }
    functions
}

/// Sweeps every function in `host` and fails on any bad outcome.
fn sweep_all(host: &mut Host, when: &str) {
    let functions = swept(host);
    let (count, bad) = sweep(host, &functions);
    eprintln!(
        "argument sweep {when}: {count} calls over {} functions, {} bad",
        functions.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{when}:\n{}", bad.join("\n"));
}

// Two tests, so the sweeps before and with a deployment run side by side.

#[test]
fn every_function_takes_any_argument_without_panicking_before_a_deploy() {
    sweep_all(&mut common::host(), "before a deploy");
}

#[test]
fn every_function_takes_any_argument_without_panicking_with_a_deployment() {
    let mut host = common::host();
    common::run(&mut host, "deploy::all();");
    // `deploy::configure` and `destroy` calls may change the deployment:
    // the sweep only needs one to exist when it starts.
    sweep_all(&mut host, "with a deployment");
}

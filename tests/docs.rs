//! The script API documents itself: every registered function has a doc
//! comment, and `resilient docs` / `resilient defs` write it out.

use resilient::host::docs::function_docs;
use resilient::{Host, HostOptions};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_resilient");

#[test]
fn every_registered_function_has_a_doc_comment() {
    let host = Host::new(HostOptions::default()).unwrap();
    let docs = function_docs(host.engine());
    let undocumented: Vec<String> = docs
        .iter()
        .filter(|d| d.doc.trim().is_empty())
        .map(|d| d.signature.clone())
        .collect();
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
    for module in resilient::internals::MODULES {
        assert!(
            docs.iter().any(|d| d.module.as_deref() == Some(module)),
            "module {module} has no documented function"
        );
    }
    for name in [
        "deploy::all",
        "inspect::request",
        "inspect::targets",
        "failure::bad_credentials",
        "failure::reset",
        "destroy::all",
        "load::run",
        "check::that",
        "wait_until",
    ] {
        assert!(
            docs.iter().any(|d| d.qualified_name() == name),
            "{name} missing"
        );
    }
}

#[test]
fn docs_writes_markdown_and_json() {
    let out = Command::new(BIN).arg("docs").output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(md.starts_with("# The resilient script API"));
    assert!(md.contains("### `inspect::request() -> map`"), "{md}");
    let out = Command::new(BIN).args(["docs", "--json"]).output().unwrap();
    let json: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json.iter()
            .any(|f| f["name"] == "wait_until" && f["module"].is_null())
    );
}

#[test]
fn defs_writes_one_definition_file_per_module() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("defs")
        .arg(dir.path().join("defs"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for module in resilient::internals::MODULES {
        let file = dir.path().join("defs").join(format!("{module}.d.rhai"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(text.contains("fn "), "{} lacks definitions", file.display());
    }
}

#[test]
fn shell_completions_are_generated() {
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("_resilient"));
}

/// Every source file under `dir` (recursively), as text.
fn sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "rhai") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// `docs/fidelity.md` stays honest: every proof it names exists (a test
/// function, a stage, an example or a file), and its counts match its table.
#[test]
fn fidelity_table_names_only_proofs_that_exist_and_counts_right() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/fidelity.md")).unwrap();
    let mut code = String::new();
    for dir in ["src", "tests"] {
        sources(&root.join(dir), &mut code);
    }
    let rows: Vec<Vec<&str>> = page
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| behaviour"))
        .map(|l| l.split(" | ").collect())
        .collect();
    assert!(rows.len() >= 30, "{} rows", rows.len());
    let mut missing = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), 5, "a row with {} columns: {row:?}", row.len());
        let proof = row[3];
        assert!(
            proof.contains('`') || proof.contains("stage"),
            "no proof named: {row:?}"
        );
        for name in proof.split('`').skip(1).step_by(2) {
            let exists = if name.contains('/') || name.ends_with(".rs") {
                root.join(name).exists()
                    || ["src/cloud/local", "src"]
                        .iter()
                        .any(|d| root.join(d).join(name).exists())
            } else {
                code.contains(&format!("fn {name}("))
            };
            if !exists {
                missing.push(name.to_string());
            }
        }
    }
    assert!(missing.is_empty(), "named but not found: {missing:?}");
    let differ = rows.iter().filter(|r| r[4].starts_with("**yes")).count();
    let counting = page
        .split("## Counting")
        .nth(1)
        .expect("a Counting section");
    assert!(
        counting.contains(&format!("{} rows", rows.len())),
        "the Counting section does not say {} rows",
        rows.len()
    );
    let words = ["no", "one", "2", "3", "4", "5", "6", "7", "8", "9"];
    assert!(
        counting.contains(&format!("; {} differ", words[differ])),
        "the Counting section does not say {differ} differ"
    );
}

#[test]
fn the_readme_lists_every_exit_code_with_its_meaning() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| Code | Meaning |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    let expected: Vec<String> = resilient::Exit::ALL
        .iter()
        .map(|e| format!("| {:<4} | {} |", e.code(), e.meaning()))
        .collect();
    assert_eq!(
        rows, expected,
        "the README's exit-code table is out of step with resilient::Exit"
    );
}

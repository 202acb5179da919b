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
    for module in resilient::api::MODULES {
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
    for module in resilient::api::MODULES {
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

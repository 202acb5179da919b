//! The scenario library: every example is a well-formed scenario that ends
//! in checks; `resilient scenarios` lists them; `resilient new` writes one
//! that runs as it is.

use resilient::verdict::{Outcome, Summary};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn resilient(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
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

/// A new scenario without its header, or without checks, fails here.
#[test]
fn every_example_is_a_well_formed_scenario_that_ends_in_checks() {
    let dir = Path::new(ROOT).join("examples");
    let library = resilient::scenario::find_library(Some(&dir)).unwrap();
    let errors: Vec<String> = library.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "rhai")
        })
        .count();
    assert_eq!(library.scenarios.len(), files);
    assert!(files >= 7, "{files} scenarios");
    for s in &library.scenarios {
        assert!(s.checks > 0, "{} ends in checks", s.name);
        assert!(s.takes.local_s > 0, "{}", s.name);
        assert!(
            s.takes.aws_min.is_none_or(|m| m > 0),
            "{}: say `not on AWS` rather than 0 min",
            s.name
        );
        assert!(
            s.run
                .iter()
                .any(|r| r == &format!("resilient run examples/{}.rhai", s.name)),
            "{}: {:?}",
            s.name,
            s.run
        );
    }
}

#[test]
fn scenarios_lists_the_library_with_every_header_field() {
    let out = resilient(Path::new(ROOT), &["scenarios"]);
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    assert!(listing.contains("scenario(s) in examples"), "{listing}");
    assert!(
        listing.contains("az_outage  A whole Availability Zone lost"),
        "{listing}"
    );
    assert!(
        listing.contains("hypothesis: losing one zone of three"),
        "{listing}"
    );
    assert!(
        listing.contains("resilient run examples/hung_instance.rhai"),
        "{listing}"
    );

    let out = resilient(Path::new(ROOT), &["scenarios", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = json["scenarios"].as_array().unwrap();
    let az = all.iter().find(|s| s["name"] == "az_outage").unwrap();
    for field in ["title", "hypothesis", "fault", "expect", "about", "path"] {
        assert!(
            az[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {az}"
        );
    }
    assert!(az["takes"]["local_s"].as_u64().unwrap() > 0);
    assert!(az["takes"]["aws_min"].as_u64().unwrap() > 0);
    assert!(az["checks"].as_u64().unwrap() >= 4);
    assert_eq!(json["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn scenarios_says_clearly_when_there_is_no_library_or_a_header_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = resilient(dir.path(), &["scenarios"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("no scenario library in examples") && said.contains("--dir"),
        "{said}"
    );
    std::fs::write(
        dir.path().join("broken.rhai"),
        "// Scenario: broken\n//\n// Hypothesis: x\n\ndeploy::all();\n",
    )
    .unwrap();
    let out = resilient(dir.path(), &["scenarios", "--dir", "."]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("broken.rhai:4: expected `// Fault: …`"),
        "{said}"
    );
}

#[test]
fn new_writes_a_scenario_that_runs_as_it_is_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    for bad in ["../escape", "Upper", ""] {
        let out = resilient(path, &["new", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}: {}", text(&out));
        assert!(text(&out).contains("scenario"), "{}", text(&out));
    }
    assert_eq!(
        std::fs::read_dir(path).unwrap().count(),
        0,
        "nothing written"
    );

    let out = resilient(path, &["new", "lost_instance"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("resilient run lost_instance.rhai"));
    let written = std::fs::read_to_string(path.join("lost_instance.rhai")).unwrap();
    std::fs::write(
        path.join("lost_instance.rhai"),
        written.clone() + "// mine\n",
    )
    .unwrap();
    let again = resilient(path, &["new", "lost_instance"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    assert!(
        std::fs::read_to_string(path.join("lost_instance.rhai"))
            .unwrap()
            .ends_with("// mine\n"),
        "left as it is"
    );

    // The new file is part of a library, and runs to a passing verdict.
    let listed = resilient(path, &["scenarios", "--dir", "."]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains("lost_instance  Lost instance"));
    let out = resilient(
        path,
        &[
            "run",
            "lost_instance.rhai",
            "--time-scale",
            "0.05",
            "--summary",
            "s.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3 passed, 0 failed"), "{}", text(&out));
    let summary: Summary =
        serde_json::from_str(&std::fs::read_to_string(path.join("s.json")).unwrap()).unwrap();
    assert_eq!(
        summary.assessment.verdict,
        Outcome::Pass,
        "{:?}",
        summary.assessment.reasons
    );
    assert!(
        summary.assessment.declared,
        "the template declares its objective"
    );

    // With an examples/ directory, it goes there.
    std::fs::create_dir(path.join("examples")).unwrap();
    let out = resilient(path, &["new", "zone-loss"]);
    assert!(out.status.success(), "{}", text(&out));
    let text = std::fs::read_to_string(path.join("examples/zone-loss.rhai")).unwrap();
    assert!(text.contains("//   resilient run examples/zone-loss.rhai"));
}

/// Runs `examples/NAME.rhai` on the local cloud with a summary; asserts
/// every check passed and the verdict is a pass; returns what it printed
/// and its summary.
fn scenario(name: &str) -> (String, Summary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let out = resilient(
        Path::new(ROOT),
        &[
            "run",
            &format!("examples/{name}.rhai"),
            "--time-scale",
            "0.05",
            "--summary",
            summary.to_str().unwrap(),
        ],
    );
    let printed = text(&out);
    assert!(out.status.success(), "{name}:\n{printed}");
    assert!(printed.contains(" passed, 0 failed"), "{name}:\n{printed}");
    let summary: Summary =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        summary.assessment.verdict,
        Outcome::Pass,
        "{name}: {:?}",
        summary.assessment.reasons
    );
    assert!(summary.assessment.declared, "{name} declares its objective");
    assert!(summary.checks.iter().all(|c| c.passed), "{name}");
    (printed, summary)
}

/// The fault of `summary` whose description starts with `what`.
fn fault<'a>(summary: &'a Summary, what: &str) -> &'a resilient::verdict::FaultMeasure {
    summary
        .assessment
        .faults
        .iter()
        .find(|f| f.what.starts_with(what))
        .unwrap_or_else(|| panic!("no fault {what}: {:?}", summary.assessment.faults))
}

#[test]
fn deep_check_fail_open_shows_the_trap_and_the_fix() {
    let (printed, summary) = scenario("deep_check_fail_open");
    assert_eq!(summary.checks.len(), 10, "{printed}");
    // Deep checks: the table outage took every target out and the load
    // balancer failed open; nobody saw an error (the fallback answered).
    let outage = fault(&summary, "1 dependency error rate");
    assert!(outage.failed_open, "{outage:?}");
    assert_eq!(outage.impact.as_ref().map_or(0, |i| i.failed), 0);
    // The tolerant check said why it stayed healthy.
    assert!(
        printed.contains(r#""degraded": true, "dependency": "InternalServerError""#),
        "{printed}"
    );
    // And still took out the instance that alone lost the table.
    assert!(printed.contains("Target.ResponseCodeMismatch"), "{printed}");
}

#[test]
fn flapping_instance_shows_what_the_thresholds_do() {
    let (printed, summary) = scenario("flapping_instance");
    assert_eq!(summary.checks.len(), 6);
    assert!(
        printed.contains("health check answers 503 in its failing spells"),
        "the short spells really fail checks:\n{printed}"
    );
    assert!(
        printed.contains(r#"was seen ["healthy"], 0 changes"#),
        "short spells never take it out:\n{printed}"
    );
    assert!(
        printed.contains(r#"was seen ["healthy", "unhealthy"]"#),
        "long spells do:\n{printed}"
    );
}

#[test]
fn dependency_throttling_costs_answers_unless_the_fallback_answers() {
    let (printed, summary) = scenario("dependency_throttling");
    let throttled = fault(&summary, "0.5 of table reads throttled");
    let failed = throttled.impact.as_ref().map_or(0, |i| i.failed);
    assert!(
        failed > 10,
        "customers paid for the throttling: {throttled:?}"
    );
    let all = fault(&summary, "1 of table reads throttled");
    assert_eq!(all.impact.as_ref().map_or(0, |i| i.failed), 0, "{all:?}");
    assert!(
        printed.contains("ProvisionedThroughputExceededException"),
        "{printed}"
    );
}

#[test]
fn parameter_store_outage_is_ridden_out_and_a_new_server_is_kept_out() {
    let (printed, summary) = scenario("parameter_store_outage");
    let outage = fault(&summary, "Parameter Store unavailable");
    assert_eq!(
        outage.impact.as_ref().map_or(0, |i| i.failed),
        0,
        "{outage:?}"
    );
    assert!(
        printed.contains(
            "unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])"
        ),
        "{printed}"
    );
}

#[test]
fn zone_without_capacity_launches_elsewhere_and_says_why() {
    let (printed, summary) = scenario("zone_without_capacity");
    assert_eq!(summary.checks.len(), 8);
    assert!(
        printed.contains("Status Reason: We currently do not have sufficient t3.micro capacity"),
        "{printed}"
    );
    assert!(
        printed.contains("InsufficientInstanceCapacity"),
        "{printed}"
    );
    // On AWS it stops before deploying anything, and says why.
    let out = resilient(
        Path::new(ROOT),
        &[
            "run",
            "examples/zone_without_capacity.rhai",
            "--backend",
            "aws",
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("runs on the local cloud only"),
        "{}",
        text(&out)
    );
}

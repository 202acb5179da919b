//! The JUnit XML verdict of a run's checks, and the record of one check.

use serde::{Deserialize, Serialize};

/// One steady-state check, with its time: what a `check` event records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckRecord {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The observed value, in words.
    pub detail: String,
    /// When it was checked (ms since the session started).
    pub t_ms: u64,
}

/// The checks as JUnit XML: one test case per check (name, time), a failure
/// with the value and the bound for each that failed. A run that did not end
/// by itself (a script error, a stop condition, an interruption, a crash,
/// cleanup left incomplete) adds one more case, `the run`, with an `<error>`
/// that says why, so CI counts it even when every check held.
pub fn junit(suite: &str, checks: &[CheckRecord], elapsed_ms: u64, error: Option<&str>) -> String {
    let failures = checks.iter().filter(|c| !c.passed).count();
    let errors = usize::from(error.is_some());
    let tests = checks.len() + errors;
    let seconds = elapsed_ms as f64 / 1000.0;
    let suite = escape(suite);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">\n  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">\n",
    );
    let mut previous = 0;
    for c in checks {
        let time = c.t_ms.saturating_sub(previous) as f64 / 1000.0;
        previous = c.t_ms;
        xml.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{suite}\" time=\"{time:.3}\"",
            escape(&c.name),
        ));
        if c.passed {
            xml.push_str("/>\n");
        } else {
            xml.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                escape(&c.detail),
                escape(&c.detail)
            ));
        }
    }
    if let Some(why) = error {
        let time = elapsed_ms.saturating_sub(previous) as f64 / 1000.0;
        let why = escape(why);
        xml.push_str(&format!(
            "    <testcase name=\"the run\" classname=\"{suite}\" time=\"{time:.3}\">\n      <error message=\"{why}\">{why}</error>\n    </testcase>\n"
        ));
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Escapes text for XML content and attributes (and drops characters XML 1.0
/// cannot hold).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_counts_failures_and_escapes() {
        let checks = vec![
            CheckRecord {
                name: "a < b & \"c\"".into(),
                passed: true,
                detail: "held".into(),
                t_ms: 5,
            },
            CheckRecord {
                name: "rate".into(),
                passed: false,
                detail: "0.5 (at least 0.9)\u{1}".into(),
                t_ms: 12,
            },
        ];
        let xml = junit("s", &checks, 20, None);
        assert!(
            xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
            "{xml}"
        );
        assert!(xml.contains("a &lt; b &amp; &quot;c&quot;"), "{xml}");
        assert!(
            xml.contains("<failure message=\"0.5 (at least 0.9)\">"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'));
    }

    #[test]
    fn a_run_that_did_not_end_by_itself_is_an_error_case() {
        let checks = vec![CheckRecord {
            name: "served".into(),
            passed: true,
            detail: "held".into(),
            t_ms: 5,
        }];
        let xml = junit("s", &checks, 20, Some("stopped: success rate 0.5 < 0.9"));
        assert!(
            xml.contains("tests=\"2\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"the run\" classname=\"s\" time=\"0.015\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<error message=\"stopped: success rate 0.5 &lt; 0.9\">"),
            "{xml}"
        );
    }
}

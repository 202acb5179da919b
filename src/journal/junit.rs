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
/// with the value and the bound for each that failed.
pub fn junit(suite: &str, checks: &[CheckRecord], elapsed_ms: u64) -> String {
    let failures = checks.iter().filter(|c| !c.passed).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n",
        checks.len(),
        elapsed_ms as f64 / 1000.0,
        escape(suite),
        checks.len(),
        elapsed_ms as f64 / 1000.0,
    );
    let mut previous = 0;
    for c in checks {
        let time = c.t_ms.saturating_sub(previous) as f64 / 1000.0;
        previous = c.t_ms;
        xml.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{time:.3}\"",
            escape(&c.name),
            escape(suite)
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
        let xml = junit("s", &checks, 20);
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("a &lt; b &amp; &quot;c&quot;"), "{xml}");
        assert!(
            xml.contains("<failure message=\"0.5 (at least 0.9)\">"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'));
    }
}

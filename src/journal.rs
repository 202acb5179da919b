//! The journal of a run (JSON Lines, one object per line, flushed per line
//! so a killed process leaves a journal whose every line parses), and the
//! JUnit XML verdict of its checks.
//!
//! Schema (version [`SCHEMA`]), every line an object with a `type`:
//!
//! - `header` (first line): `schema`, `tool`, `version`, `backend`, `prefix`,
//!   `settings` (`time_scale`, `instances`, `region`, `endpoint_url`),
//!   `script`, `started_at` (RFC 3339, UTC).
//! - `event`: `t_ms` (ms since the run started), `event` (the kind) and the
//!   kind's fields — see [`crate::events::EventKind`].
//! - `outcome` (last line, when the run ends): `exit_code`, `checks`
//!   (`passed`, `failed`), `still_deployed` (`[{kind, name}]`).

use crate::api::CheckRecord;
use crate::cloud::Resource;
use crate::events::{Event, Sink};
use crate::settings::Settings;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// The journal schema's version.
pub const SCHEMA: u32 = 1;

/// The first line.
#[derive(Debug, Serialize)]
struct Header<'a> {
    r#type: &'static str,
    schema: u32,
    tool: &'static str,
    version: &'static str,
    backend: &'static str,
    prefix: &'a str,
    settings: serde_json::Value,
    script: Option<&'a str>,
    started_at: String,
}

/// A journal being written.
pub struct Journal {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl Journal {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, settings: &Settings, script: Option<&str>) -> std::io::Result<Self> {
        let file = std::fs::File::create(path)?;
        let journal = Journal {
            file: Mutex::new(std::io::BufWriter::new(file)),
        };
        let started_at = now_rfc3339();
        journal.line(&Header {
            r#type: "header",
            schema: SCHEMA,
            tool: "resilient",
            version: env!("CARGO_PKG_VERSION"),
            backend: settings.backend.as_str(),
            prefix: &settings.prefix,
            settings: serde_json::json!({
                "time_scale": settings.time_scale,
                "instances": settings.instances,
                "region": settings.aws.region,
                "endpoint_url": settings.aws.endpoint_url,
            }),
            script,
            started_at,
        });
        Ok(journal)
    }

    /// Writes the last line: how the run ended.
    pub fn finish(&self, exit_code: u8, checks: &[CheckRecord], still_deployed: &[Resource]) {
        let failed = checks.iter().filter(|c| !c.passed).count();
        self.line(&serde_json::json!({
            "type": "outcome",
            "exit_code": exit_code,
            "checks": {"passed": checks.len() - failed, "failed": failed},
            "still_deployed": still_deployed,
        }));
    }

    /// Writes one line and flushes it (a line never stays half in a buffer).
    fn line(&self, value: &impl Serialize) {
        let Ok(mut text) = serde_json::to_string(value) else {
            return;
        };
        text.push('\n');
        let mut file = crate::sync::lock(&self.file);
        let _ = file.write_all(text.as_bytes()).and_then(|()| file.flush());
    }
}

impl Sink for Journal {
    fn event(&self, event: &Event) {
        #[derive(Serialize)]
        struct Line<'a> {
            r#type: &'static str,
            #[serde(flatten)]
            event: &'a Event,
        }
        self.line(&Line {
            r#type: "event",
            event,
        });
    }

    fn wants_state(&self) -> bool {
        true
    }
}

/// Now, in RFC 3339 (UTC), as journals and saved sessions stamp themselves.
pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
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

//! The report's page around the timeline: title, the answer first (what
//! the checks say, in a sentence and a table), then the timeline, resources,
//! settings and narrative, and the style sheet.

use super::esc;
use crate::events::EventKind;
use crate::journal::{Header, RunOutcome};
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}\
.ok{color:#1a7f37}.ko{color:#c62828}.frame{fill:none;stroke:#bbb}\
.rate{fill:none;stroke:#1a7f37;stroke-width:2}.p50{fill:none;stroke:#1565c0;stroke-width:1.5}.p99{fill:none;stroke:#ef6c00;stroke-width:1.5}\
.rate-t,.rate-d{fill:#1a7f37}.p50-t,.p50-d{fill:#1565c0}.p99-t,.p99-d{fill:#ef6c00}\
.band{font-size:11px;fill:#333}.bandbg{fill:#f2f4f8}.leader{stroke:#999;stroke-width:0.7}.grid{stroke:#e3e3e3;stroke-width:0.7}.tick{stroke:#888}\
.badge rect{fill:#fff;stroke:#c62828}.badge text{fill:#b71c1c;font-weight:bold}.markers{columns:2;font-size:13px;color:#333}\
.answer{font-size:16px;font-weight:bold}.below{fill:#ffcdd2;opacity:0.8}.floor{stroke:#b71c1c;stroke-dasharray:5 3}.floor-t{fill:#b71c1c}.missed{fill:#ffe0b2;opacity:0.8}.objective{stroke:#2e7d32;stroke-width:1.5;stroke-dasharray:2 3}.objective-t{fill:#2e7d32}.lane{font-size:11px;fill:#333}.legend{font-size:11px;fill:#555}.mark{font-size:10px;fill:#b71c1c}\
.marker{stroke:#c62828;stroke-dasharray:4 3}\
.s-good{fill:#66bb6a}.s-bad{fill:#e53935}.s-start{fill:#90caf9}.s-leaving{fill:#ffb74d}.s-idle{fill:#bdbdbd}.s-other{fill:#ce93d8}\
.i0{fill:#42a5f5}.i1{fill:#ab47bc}.i2{fill:#26a69a}.i3{fill:#ffa726}.i4{fill:#8d6e63}.i5{fill:#78909c}\
pre{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;padding:8px}";

/// The most lines of narrative a report shows (a script that talks in a
/// loop would otherwise make a report as long as its journal).
const MAX_NARRATIVE_LINES: usize = 2_000;
/// The most checks a report lists (the failed first); the sentence above
/// them counts them all.
const MAX_CHECK_ROWS: usize = 1_000;

pub(super) fn page(
    header: &Header,
    outcome: Option<&RunOutcome>,
    assessment: &crate::verdict::Assessment,
    baseline: Option<&crate::verdict::compare::Comparison>,
    events: &[(u64, &EventKind)],
    svg: &str,
) -> String {
    let mut html = String::new();
    let script = header.script.as_deref().unwrap_or("(REPL session)");
    let ending = match outcome {
        Some(o) => match &o.reason {
            Some(why) => format!("exit code {}: {why}", o.exit_code),
            None => format!("exit code {}", o.exit_code),
        },
        None => "the run did not finish (no outcome line: killed or still running)".into(),
    };
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>resilient: {}</title><style>{STYLE}</style></head><body>\n<h1>resilient: {}</h1>\n<p>{} backend, prefix <code>{}</code>, started {}; {}.</p>\n",
        esc(script),
        esc(script),
        esc(header.backend.as_str()),
        esc(&header.prefix),
        esc(&header.started_at),
        esc(&ending)
    );
    let checks: Vec<(u64, &str, bool, &str)> = events
        .iter()
        .filter_map(|(t, e)| match e {
            EventKind::Check {
                name,
                passed,
                detail,
            } => Some((*t, name.as_str(), *passed, detail.as_str())),
            _ => None,
        })
        .collect();
    super::verdict::verdict(&mut html, assessment);
    if let Some(c) = baseline {
        super::verdict::baseline(&mut html, c);
    }
    answer(&mut html, &checks);
    html.push_str("<h2>Timeline</h2>\n<p>Shaded bands are stages, named above the chart; numbered markers are faults and actions, listed under it; lanes show each target's health and each instance's lifecycle (hover for the reason). Times are seconds since the run started.</p>\n");
    html.push_str(svg);
    html.push_str(
        "<h2>Resources</h2>\n<table><tr><th>created</th><th>deleted</th></tr><tr><td><ul>",
    );
    for (_, e) in events {
        if let EventKind::Step { what, .. } = e {
            let _ = write!(html, "<li>{}</li>", esc(what));
        }
    }
    html.push_str("</ul></td><td><ul>");
    for (_, e) in events {
        if let EventKind::Deleted { kind, name } = e {
            let _ = write!(html, "<li>{} {}</li>", esc(kind.as_str()), esc(name));
        }
    }
    html.push_str("</ul></td></tr></table>\n");
    if let Some(left) = outcome.map(|o| &o.still_deployed).filter(|l| !l.is_empty()) {
        let _ = writeln!(
            html,
            "<p class=\"ko\">Still deployed at the end: {} resources.</p>",
            left.len()
        );
    }
    let _ = write!(
        html,
        "<h2>Settings</h2>\n<pre>{}</pre>\n<h2>Narrative</h2>\n<pre>",
        esc(&serde_json::to_string_pretty(&header.settings).unwrap_or_default())
    );
    let mut written = 0;
    for (t, e) in events {
        let line = match e {
            EventKind::Heading { text } => format!("\n== {text}"),
            EventKind::Text { text, .. } => text.clone(),
            EventKind::Fault {
                what, change: true, ..
            } => format!("[change] {what}"),
            EventKind::Fault { what, .. } => format!("[fault] {what}"),
            EventKind::Refresh {
                status,
                percentage_complete,
                instances_to_update,
                reason,
                ..
            } => format!(
                "[instance refresh] {status}, {percentage_complete} % complete, {instances_to_update} to update{}",
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            _ => continue,
        };
        written += 1;
        if written > MAX_NARRATIVE_LINES {
            continue;
        }
        let _ = writeln!(html, "{:>7.1} s  {}", *t as f64 / 1000.0, esc(&line));
    }
    if written > MAX_NARRATIVE_LINES {
        let _ = writeln!(
            html,
            "… and {} more lines: the journal holds them all.",
            written - MAX_NARRATIVE_LINES
        );
    }
    html.push_str("</pre>\n</body></html>\n");
    html
}

/// The checks' answer, right under the verdict: one sentence saying whether
/// the run's checks held (naming those that did not), then the checks.
fn answer(html: &mut String, checks: &[(u64, &str, bool, &str)]) {
    let failed: Vec<&str> = checks.iter().filter(|c| !c.2).map(|c| c.1).collect();
    let sentence = if checks.is_empty() {
        "<p class=\"answer\">No checks: this run asserts nothing.</p>".to_string()
    } else if failed.is_empty() {
        format!(
            "<p class=\"answer ok\">✔ Every check held: {} of {}.</p>",
            checks.len(),
            checks.len()
        )
    } else {
        format!(
            "<p class=\"answer ko\">✘ {} of {} checks failed: {}.</p>",
            failed.len(),
            checks.len(),
            esc(&failed.join("; "))
        )
    };
    let _ = writeln!(html, "<h2>Checks</h2>\n{sentence}");
    if checks.is_empty() {
        return;
    }
    // When every check held the table is folded away under its sentence.
    let _ = writeln!(
        html,
        "<details{}><summary>The {} checks</summary>",
        if failed.is_empty() { "" } else { " open" },
        checks.len()
    );
    html.push_str("<table><tr><th></th><th>check</th><th>value</th><th>at</th></tr>\n");
    // In order; when there are too many to list, the failed first.
    let mut shown: Vec<&(u64, &str, bool, &str)> = checks.iter().collect();
    if shown.len() > MAX_CHECK_ROWS {
        shown.sort_by_key(|c| c.2);
        shown.truncate(MAX_CHECK_ROWS);
    }
    for (t, name, passed, detail) in shown {
        let _ = writeln!(
            html,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{:.1} s</td></tr>",
            if *passed { "ok" } else { "ko" },
            if *passed { "✔" } else { "✘" },
            esc(name),
            esc(detail),
            *t as f64 / 1000.0
        );
    }
    html.push_str("</table>\n");
    if checks.len() > MAX_CHECK_ROWS {
        let _ = writeln!(
            html,
            "<p>… and {} more checks: the journal holds them all.</p>",
            checks.len() - MAX_CHECK_ROWS
        );
    }
    html.push_str("</details>\n");
}

//! The verdict at the top of the report: pass, fail or inconclusive with
//! its reasons, the objective, and every fault measured beside what the
//! health-check settings predict — the same assessment `resilient summary`
//! writes, read from the same journal.

use super::esc;
use crate::verdict::{Assessment, FaultMeasure, Outcome};
use std::fmt::Write;

/// Seconds, one decimal, from cloud milliseconds.
fn s(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Writes the verdict section.
pub(super) fn verdict(html: &mut String, a: &Assessment) {
    let (class, word) = match a.verdict {
        Outcome::Pass => ("ok", "✔ Pass"),
        Outcome::Fail => ("ko", "✘ Fail"),
        Outcome::Inconclusive => ("", "? Inconclusive"),
    };
    let _ = writeln!(
        html,
        "<h2>Verdict</h2>\n<p class=\"answer {class}\" id=\"verdict\">{word}</p>"
    );
    if !a.reasons.is_empty() {
        html.push_str("<ul>");
        for r in &a.reasons {
            let _ = write!(html, "<li>{}</li>", esc(r));
        }
        html.push_str("</ul>\n");
    }
    let _ = writeln!(
        html,
        "<p>Objective{}: {} of {} windows of load below it.</p>",
        if a.declared {
            " (declared by the script)"
        } else {
            " (the default: the script declared none)"
        },
        a.windows.missed,
        a.windows.total
    );
    if a.faults.is_empty() {
        return;
    }
    html.push_str("<table id=\"faults\"><tr><th>#</th><th>fault</th><th>at</th><th>detected</th><th>the settings allow</th><th>customers</th><th>recovered</th><th>replaced</th><th>failed open</th><th>hypothesis</th></tr>\n");
    for (i, f) in a.faults.iter().enumerate() {
        let _ = writeln!(html, "{}", row(i + 1, f));
    }
    html.push_str("</table>\n<p>Times are cloud seconds after the fault (on the local cloud, scaled back by the time scale).</p>\n");
}

/// One fault's row.
fn row(n: usize, f: &FaultMeasure) -> String {
    let dash = || "–".to_string();
    let detected = f
        .detect
        .as_ref()
        .map_or_else(dash, |d| format!("{} ({})", s(d.after_ms), esc(&d.by)));
    let allowed = f.detect_predicted.as_ref().map_or_else(dash, |p| {
        format!("{}–{} ({})", s(p.after_ms), s(p.within_ms), esc(&p.rule))
    });
    let customers = f
        .impact
        .as_ref()
        .map_or_else(dash, |i| format!("{} of {} failed", i.failed, i.requests));
    let recovered = f.recover_ms.map_or_else(dash, s);
    let replaced = f.replace.as_ref().map_or_else(dash, |r| {
        r.healthy_ms.map_or_else(
            || format!("{} launched, never healthy", esc(&r.instance)),
            |h| format!("{} ({})", s(h), esc(&r.instance)),
        )
    });
    format!(
        "<tr><td>{n}</td><td>{}</td><td>{}</td><td>{detected}</td><td>{allowed}</td><td>{customers}</td><td>{recovered}</td><td>{replaced}</td><td>{}</td><td>{}</td></tr>",
        esc(&f.what),
        s(f.at_ms),
        if f.failed_open { "yes" } else { "no" },
        esc(&f.hypothesis.outcome.to_string())
    )
}

/// Writes the comparison with a baseline: the verdicts, then every figure
/// side by side with its change, the regressions marked first.
pub(super) fn baseline(html: &mut String, c: &crate::verdict::compare::Comparison) {
    let count = c.rows.iter().filter(|r| r.regression).count();
    let (class, sentence) = if c.regressed() {
        (
            "ko",
            format!("✘ Worse than the baseline: {count} regression(s)"),
        )
    } else {
        ("ok", "✔ No regression against the baseline".to_string())
    };
    let _ = writeln!(
        html,
        "<h2>Against the baseline</h2>\n<p class=\"answer {class}\" id=\"baseline\">{sentence}</p>\n<p>Verdict: {} in the baseline, {} now.</p>",
        c.verdicts.0, c.verdicts.1
    );
    let number = |v: Option<f64>| {
        v.map_or("–".to_string(), |v| {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        })
    };
    html.push_str("<table><tr><th>scope</th><th>figure</th><th>baseline</th><th>this run</th><th>change</th><th></th></tr>\n");
    let mut rows: Vec<&crate::verdict::compare::Row> = c.rows.iter().collect();
    rows.sort_by_key(|r| !r.regression);
    for r in rows {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&r.scope),
            esc(&r.figure),
            number(r.base),
            number(r.new),
            number(r.change),
            if r.regression { "ko" } else { "ok" },
            if r.regression { "regression" } else { "" }
        );
    }
    html.push_str("</table>\n");
    for u in &c.unmatched {
        let _ = writeln!(html, "<p>{}</p>", esc(u));
    }
}

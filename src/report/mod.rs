//! The report of a run: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched) made from a journal, so it can be made after the
//! fact and after a crash. On one time axis: what customers saw (success rate,
//! p50/p99 latency, requests per instance), the faults and actions as
//! markers, the stages as bands, one lane per target and per instance; below,
//! the checks, the resources deleted, the settings and the narrative.

mod page;
mod points;

use crate::cloud::states::Tone;
use page::page;
use points::Point;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The journal has no header line.
    #[error("not a resilient journal: its first line is not a header")]
    NoHeader,
    /// A line is not JSON (a journal cut mid-line loses at most its last line).
    #[error("line {line} of the journal is not JSON: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
}

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const PLOT: f64 = WIDTH - LEFT - RIGHT;

/// A lane: (start, state, title) changes of one target or instance.
type Lane = Vec<(u64, String, String)>;

/// Makes the report from a journal's text (the last line may be cut off by a
/// crash: it is ignored when it does not parse).
pub fn render(journal: &str) -> Result<String, ReportError> {
    let lines: Vec<&str> = journal.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut parsed = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(l) {
            Ok(v) => parsed.push(v),
            Err(_) if i + 1 == lines.len() && i > 0 => {}
            Err(e) => {
                return Err(ReportError::BadLine {
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    let header = parsed
        .first()
        .filter(|h| h["type"] == "header")
        .cloned()
        .ok_or(ReportError::NoHeader)?;
    let outcome = parsed
        .iter()
        .rev()
        .find(|l| l["type"] == "outcome")
        .cloned();
    let events: Vec<&Value> = parsed.iter().filter(|l| l["type"] == "event").collect();
    let t = |e: &Value| e["t_ms"].as_u64().unwrap_or(0);
    let end = events.iter().map(|e| t(e)).max().unwrap_or(0).max(1);
    let x = |ms: f64| LEFT + ms / end as f64 * PLOT;

    let points = points::customers(&events);

    // Lanes: each change of each target and instance.
    let mut targets: BTreeMap<String, Lane> = BTreeMap::new();
    let mut instances: BTreeMap<String, Lane> = BTreeMap::new();
    for e in &events {
        let id = e["id"].as_str().unwrap_or_default().to_string();
        let state = e["state"].as_str().unwrap_or_default().to_string();
        if e["event"] == "target" {
            let reason = e["reason"].as_str().unwrap_or("");
            let title = format!("{id}: {state} {reason}");
            targets.entry(id).or_default().push((t(e), state, title));
        } else if e["event"] == "instance" {
            let title = format!(
                "{id} ({}): {state}, {}",
                e["az"].as_str().unwrap_or(""),
                e["health"].as_str().unwrap_or("")
            );
            instances.entry(id).or_default().push((t(e), state, title));
        }
    }

    let mut svg = String::new();
    let chart_h = 150.0;
    let stack_h = 90.0;
    let lane_h = 16.0;
    let lanes = targets.len() + instances.len();
    let height =
        40.0 + chart_h + 30.0 + stack_h + 30.0 + (lanes as f64 + 2.0) * (lane_h + 4.0) + 20.0;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="timeline">"#
    );
    // Stage bands, alternately shaded, with their names.
    let headings: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["event"] == "heading")
        .map(|e| (t(e), e["text"].as_str().unwrap_or("").to_string()))
        .collect();
    for (i, (start, text)) in headings.iter().enumerate() {
        let stop = headings.get(i + 1).map_or(end, |h| h.0);
        let (x0, x1) = (x(*start as f64), x(stop as f64));
        if i % 2 == 0 {
            let _ = write!(
                svg,
                r##"<rect x="{x0:.1}" y="20" width="{:.1}" height="{:.1}" fill="#f2f4f8"><title>{}</title></rect>"##,
                (x1 - x0).max(0.5),
                height - 20.0,
                esc(text)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="14" class="band">{}</text>"##,
            x0 + 2.0,
            esc(&short(text, ((x1 - x0) / 6.0) as usize))
        );
    }
    // Customers: success rate (0..1) and latency (0..max p99).
    let top = 40.0;
    axis(&mut svg, top, chart_h, "success rate / latency");
    let max_p99 = points.iter().map(|p| p.p99).fold(1.0, f64::max);
    let line = |f: &dyn Fn(&Point) -> f64, max: f64| -> String {
        points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(p.t_ms),
                    top + chart_h - f(p) / max * chart_h
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !points.is_empty() {
        let rate = |p: &Point| if p.count > 0.0 { p.ok / p.count } else { 1.0 };
        let _ = write!(
            svg,
            r#"<polyline class="p99" points="{}"/><polyline class="p50" points="{}"/><polyline class="rate" points="{}"/>"#,
            line(&|p| p.p99, max_p99),
            line(&|p| p.p50, max_p99),
            line(&rate, 1.0)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="legend"><tspan class="rate-t">success rate (0–100 %)</tspan>  <tspan class="p50-t">p50</tspan> / <tspan class="p99-t">p99 latency (0–{:.0} ms)</tspan></text>"#,
        LEFT,
        top + chart_h + 16.0,
        max_p99
    );
    // Requests per instance, stacked per window.
    let stack_top = top + chart_h + 30.0;
    axis(&mut svg, stack_top, stack_h, "requests per instance");
    let all_instances: Vec<String> = {
        let mut v: Vec<String> = points
            .iter()
            .flat_map(|p| p.instances.keys().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let max_count = points.iter().map(|p| p.count).fold(1.0, f64::max);
    let bar_w = (PLOT / points.len().max(1) as f64).max(1.0);
    for p in &points {
        let mut y = stack_top + stack_h;
        for (k, id) in all_instances.iter().enumerate() {
            let n = p.instances.get(id).copied().unwrap_or(0.0);
            if n <= 0.0 {
                continue;
            }
            let h = n / max_count * stack_h;
            y -= h;
            let x0 = x(p.t_ms);
            let w = bar_w.min(LEFT + PLOT - x0).max(0.5);
            let _ = write!(
                svg,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" class="i{}"><title>{}: {n}</title></rect>"#,
                k % 6,
                esc(id)
            );
        }
    }
    // Lanes.
    let mut y = stack_top + stack_h + 30.0;
    for (label, group) in [("target", &targets), ("instance", &instances)] {
        for (id, changes) in group {
            let _ = write!(
                svg,
                r#"<text x="4" y="{:.1}" class="lane">{label} {}</text>"#,
                y + 12.0,
                esc(id)
            );
            for (i, (start, state, title)) in changes.iter().enumerate() {
                let stop = changes.get(i + 1).map_or(end, |c| c.0);
                if Tone::of_word(state) == Some(Tone::Gone) {
                    continue;
                }
                let (x0, x1) = (x(*start as f64), x(stop as f64));
                let _ = write!(
                    svg,
                    r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{lane_h}" class="s-{}"><title>{}</title></rect>"#,
                    (x1 - x0).max(1.0),
                    css_state(state),
                    esc(title)
                );
            }
            y += lane_h + 4.0;
        }
    }
    // Faults and actions: labelled markers across everything.
    for e in events
        .iter()
        .filter(|e| e["event"] == "fault" || e["event"] == "reset" || e["event"] == "rollback")
    {
        let what = match e["event"].as_str() {
            Some("fault") => e["what"].as_str().unwrap_or("").to_string(),
            Some("reset") => "reset".to_string(),
            _ => "rollback".to_string(),
        };
        let mx = x(t(e) as f64);
        let _ = write!(
            svg,
            r#"<line x1="{mx:.1}" y1="{top}" x2="{mx:.1}" y2="{:.1}" class="marker"><title>{}</title></line><text x="{:.1}" y="{:.1}" class="mark" transform="rotate(-90 {:.1} {:.1})">{}</text>"#,
            height - 10.0,
            esc(&what),
            mx - 2.0,
            top + chart_h - 4.0,
            mx - 2.0,
            top + chart_h - 4.0,
            esc(&short(&what, 40))
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{:.1}" class="legend">0 s</text><text x="{:.1}" y="{:.1}" class="legend" text-anchor="end">{:.1} s</text></svg>"#,
        height - 2.0,
        WIDTH - RIGHT,
        height - 2.0,
        end as f64 / 1000.0
    );

    Ok(page(&header, outcome.as_ref(), &events, &svg))
}

fn axis(svg: &mut String, top: f64, h: f64, label: &str) {
    let _ = write!(
        svg,
        r#"<rect x="{LEFT}" y="{top}" width="{PLOT}" height="{h}" class="frame"/><text x="4" y="{:.1}" class="lane">{}</text>"#,
        top + h / 2.0,
        esc(label)
    );
}

fn css_state(state: &str) -> &'static str {
    match Tone::of_word(state) {
        Some(Tone::Good) => "good",
        Some(Tone::Bad) => "bad",
        Some(Tone::Starting) => "start",
        Some(Tone::Leaving) => "leaving",
        Some(Tone::Idle) => "idle",
        Some(Tone::Gone) | None => "other",
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max.max(4) {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max.max(4) - 1).collect::<String>())
    }
}

/// Escapes text for HTML and SVG.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

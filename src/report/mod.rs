//! The report of a run: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched) made from a journal, so it can be made after the
//! fact and after a crash. On one time axis: what customers saw (success rate,
//! p50/p99 latency, requests per instance), the faults and actions as
//! markers, the stages as bands, one lane per target and per instance; below,
//! the checks, the resources deleted, the settings and the narrative.

mod page;

use page::page;
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

/// The most points a chart draws; longer runs are averaged down to it.
const MAX_POINTS: usize = 600;
const WIDTH: f64 = 1100.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const PLOT: f64 = WIDTH - LEFT - RIGHT;

/// One window of what customers saw, at run time `t_ms`.
#[derive(Debug, Clone, Default)]
struct Point {
    t_ms: f64,
    count: f64,
    ok: f64,
    p50: f64,
    p99: f64,
    instances: BTreeMap<String, f64>,
}

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

    // What customers saw, per window, on the run's clock: from each finished
    // load's statistics, and for a load the run never finished (killed,
    // interrupted), from the windows it reported while it ran.
    let mut points = Vec::new();
    let finished: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "load")
        .filter_map(|e| e["load"].as_u64())
        .collect();
    for e in events.iter().filter(|e| e["event"] == "load") {
        let stats = &e["stats"];
        let start = t(e) as f64 - stats["duration_ms"].as_f64().unwrap_or(0.0);
        for w in stats["windows"].as_array().into_iter().flatten() {
            points.push(point(start + w["start_ms"].as_f64().unwrap_or(0.0), w));
        }
    }
    for e in events.iter().filter(|e| e["event"] == "load_window") {
        if !e["load"].as_u64().is_some_and(|id| finished.contains(&id)) {
            let start = e["start_ms"].as_f64().unwrap_or(0.0);
            points.push(point(start, &e["window"]));
        }
    }
    // Without a load, the script's own requests, one point per second.
    if points.is_empty() {
        let mut seconds: BTreeMap<u64, (Point, Vec<f64>)> = BTreeMap::new();
        for e in events.iter().filter(|e| e["event"] == "request") {
            let s = t(e) / 1000;
            let (p, latencies) = seconds.entry(s).or_default();
            p.t_ms = (s * 1000) as f64;
            p.count += 1.0;
            let status = e["status"].as_i64().unwrap_or(0);
            p.ok += f64::from(u8::from((200..300).contains(&status)));
            if let Some(i) = e["instance"].as_str() {
                *p.instances.entry(i.to_string()).or_insert(0.0) += 1.0;
            }
            latencies.push(e["latency_ms"].as_f64().unwrap_or(0.0));
        }
        for (_, (mut p, mut latencies)) in seconds {
            latencies.sort_by(f64::total_cmp);
            p.p50 = crate::loadgen::percentile(&latencies, 0.5);
            p.p99 = crate::loadgen::percentile(&latencies, 0.99);
            points.push(p);
        }
    }
    points.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    let points = downsample(points);

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
                if state == "gone" || state == "terminated" {
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

/// A chart point from one load window (`count`, `ok`, `p50_ms`, `p99_ms`,
/// `instances`) starting at `t_ms` on the run's clock.
fn point(t_ms: f64, w: &Value) -> Point {
    Point {
        t_ms,
        count: w["count"].as_f64().unwrap_or(0.0),
        ok: w["ok"].as_f64().unwrap_or(0.0),
        p50: w["p50_ms"].as_f64().unwrap_or(0.0),
        p99: w["p99_ms"].as_f64().unwrap_or(0.0),
        instances: w["instances"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Averages points down to at most [`MAX_POINTS`] (weighted by requests).
fn downsample(points: Vec<Point>) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let per = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(per)
        .map(|chunk| {
            let count: f64 = chunk.iter().map(|p| p.count).sum();
            let weight = |f: &dyn Fn(&Point) -> f64| {
                if count > 0.0 {
                    chunk.iter().map(|p| f(p) * p.count).sum::<f64>() / count
                } else {
                    0.0
                }
            };
            let mut instances = BTreeMap::new();
            for p in chunk {
                for (k, v) in &p.instances {
                    *instances.entry(k.clone()).or_insert(0.0) += v / chunk.len() as f64;
                }
            }
            Point {
                t_ms: chunk[0].t_ms,
                count: count / chunk.len() as f64,
                ok: chunk.iter().map(|p| p.ok).sum::<f64>() / chunk.len() as f64,
                p50: weight(&|p| p.p50),
                p99: chunk.iter().map(|p| p.p99).fold(0.0, f64::max),
                instances,
            }
        })
        .collect()
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
    match state {
        "healthy" | "running" => "good",
        "unhealthy" => "bad",
        "initial" | "pending" => "start",
        "draining" | "shutting-down" | "stopping" => "leaving",
        "unused" | "unavailable" => "idle",
        _ => "other",
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

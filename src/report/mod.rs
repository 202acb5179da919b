//! The report of a run: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched) made from a journal, so it can be made after the
//! fact and after a crash. On one time axis: what customers saw (success rate,
//! p50/p99 latency, requests per instance), the faults and actions as
//! markers, the stages as bands, one lane per target and per instance; below,
//! the checks, the resources deleted, the settings and the narrative.

mod page;
mod points;

use crate::cloud::TargetReason;
use crate::cloud::states::{Seen, Tone};
use crate::events::EventKind;
use crate::journal::Run;
use page::page;
use points::Point;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const PLOT: f64 = WIDTH - LEFT - RIGHT;

/// A lane: (start, how the state reads, title) changes of one target or
/// instance.
type Lane = Vec<(u64, Option<Tone>, String)>;

/// Makes the report of a run from its journal ([`crate::journal::read`]);
/// event kinds of a newer version are left out.
pub fn render(run: &Run) -> String {
    let events: Vec<(u64, &EventKind)> = run.known().collect();
    let end = run.end_ms().max(1);
    let x = |ms: f64| LEFT + ms / end as f64 * PLOT;

    let points = points::customers(&events);

    // Lanes: each change of each target and instance.
    let mut targets: BTreeMap<String, Lane> = BTreeMap::new();
    let mut instances: BTreeMap<String, Lane> = BTreeMap::new();
    for (t, e) in &events {
        match e {
            EventKind::Target { id, state, reason } => {
                let reason = reason.as_ref().map_or("", TargetReason::as_str);
                let title = format!("{id}: {state} {reason}");
                let tone = match state {
                    Seen::Now(state) => Tone::of_target(state),
                    Seen::Gone => Some(Tone::Gone),
                };
                let lane = targets.entry(id.clone()).or_default();
                lane.push((*t, tone, title));
            }
            EventKind::Instance {
                id,
                az,
                state,
                health,
            } => {
                let health = health.map_or("", |h| h.as_str());
                let title = format!("{id} ({az}): {state}, {health}");
                let tone = match state {
                    Seen::Now(state) => Tone::of_instance(state),
                    Seen::Gone => Some(Tone::Gone),
                };
                let lane = instances.entry(id.clone()).or_default();
                lane.push((*t, tone, title));
            }
            _ => {}
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
    let headings: Vec<(u64, &str)> = events
        .iter()
        .filter_map(|(t, e)| match e {
            EventKind::Heading { text } => Some((*t, text.as_str())),
            _ => None,
        })
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
        let _ = write!(
            svg,
            r#"<polyline class="p99" points="{}"/><polyline class="p50" points="{}"/><polyline class="rate" points="{}"/>"#,
            line(&|p| p.p99, max_p99),
            line(&|p| p.p50, max_p99),
            line(&Point::success_rate, 1.0)
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
        let mut v: Vec<String> = points.iter().flat_map(|p| p.instances().cloned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let max_count = points.iter().map(Point::requests).fold(1.0, f64::max);
    let bar_w = (PLOT / points.len().max(1) as f64).max(1.0);
    for p in &points {
        let mut y = stack_top + stack_h;
        for (k, id) in all_instances.iter().enumerate() {
            let n = p.served_by(id);
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
            for (i, (start, tone, title)) in changes.iter().enumerate() {
                let stop = changes.get(i + 1).map_or(end, |c| c.0);
                if *tone == Some(Tone::Gone) {
                    continue;
                }
                let (x0, x1) = (x(*start as f64), x(stop as f64));
                let _ = write!(
                    svg,
                    r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{lane_h}" class="s-{}"><title>{}</title></rect>"#,
                    (x1 - x0).max(1.0),
                    css_state(*tone),
                    esc(title)
                );
            }
            y += lane_h + 4.0;
        }
    }
    // Faults and actions: labelled markers across everything.
    for (t, e) in &events {
        let what = match e {
            EventKind::Fault { what } => what.as_str(),
            EventKind::Reset => "reset",
            EventKind::Rollback { .. } => "rollback",
            _ => continue,
        };
        let mx = x(*t as f64);
        let _ = write!(
            svg,
            r#"<line x1="{mx:.1}" y1="{top}" x2="{mx:.1}" y2="{:.1}" class="marker"><title>{}</title></line><text x="{:.1}" y="{:.1}" class="mark" transform="rotate(-90 {:.1} {:.1})">{}</text>"#,
            height - 10.0,
            esc(what),
            mx - 2.0,
            top + chart_h - 4.0,
            mx - 2.0,
            top + chart_h - 4.0,
            esc(&short(what, 40))
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

    page(&run.header, run.outcome.as_ref(), &events, &svg)
}

fn axis(svg: &mut String, top: f64, h: f64, label: &str) {
    let _ = write!(
        svg,
        r#"<rect x="{LEFT}" y="{top}" width="{PLOT}" height="{h}" class="frame"/><text x="4" y="{:.1}" class="lane">{}</text>"#,
        top + h / 2.0,
        esc(label)
    );
}

fn css_state(tone: Option<Tone>) -> &'static str {
    match tone {
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

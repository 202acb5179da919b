//! The report of a run: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched) made from a journal, so it can be made after the
//! fact and after a crash. On one time axis: what customers saw (success rate,
//! p50/p99 latency, requests per instance), the faults and actions as
//! markers, the stages as bands, one lane per target and per instance; below,
//! the checks, the resources deleted, the settings and the narrative.

mod layout;
mod page;
mod points;
mod verdict;

use crate::cloud::TargetReason;
use crate::cloud::states::{Seen, Tone};
use crate::events::EventKind;
use crate::journal::Run;
use layout::{Label, text_width};
use page::page;
use points::Point;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const PLOT: f64 = WIDTH - LEFT - RIGHT;
/// The chart's text size, in px.
const FONT: f64 = 11.0;
/// The markers' numbers' size, in px.
const BADGE_FONT: f64 = 10.0;
/// The height of a row of stage names or swatches.
const ROW: f64 = 14.0;
/// The height of a row of marker badges.
const BADGE_ROW: f64 = 18.0;
/// The narrowest a window is drawn, in px: a burst of requests that took
/// a few ms of a long run stays visible.
const MIN_SPAN: f64 = 5.0;
/// The side of a legend's colour swatch.
const SWATCH: f64 = 10.0;

/// A lane: (start, how the state reads, title) changes of one target or
/// instance.
type Lane = Vec<(u64, Option<Tone>, String)>;

/// Makes the report of a run from its journal ([`crate::journal::read`]);
/// event kinds of a newer version are left out.
pub fn render(run: &Run) -> String {
    render_against(run, None)
}

/// The report of a run compared with a baseline (`run --baseline`, `report
/// --baseline`): the comparison's figures under the verdict.
pub fn render_against(run: &Run, baseline: Option<&crate::verdict::compare::Comparison>) -> String {
    let events: Vec<(u64, &EventKind)> = run.known().collect();
    let end = run.end_ms().max(1);
    let x = |ms: f64| LEFT + ms / end as f64 * PLOT;

    let points = points::customers(&events);
    let assessment = crate::verdict::assess(run);
    // The objective the script declared (the default measures faults but is
    // not the script's, so it is not drawn).
    let objective = assessment.declared.then_some(&assessment.objective);

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

    let headings: Vec<(u64, &str)> = events
        .iter()
        .filter_map(|(t, e)| match e {
            EventKind::Heading { text } => Some((*t, text.as_str())),
            _ => None,
        })
        .collect();
    let markers = markers(&events);

    // Above the charts: the stages' names, then the markers' numbers, each
    // on as many rows as keep them apart.
    let stage_labels: Vec<String> = headings.iter().map(|(_, text)| stage_name(text)).collect();
    let stage_boxes: Vec<Label> = headings
        .iter()
        .zip(&stage_labels)
        .map(|((t, _), text)| {
            let (anchor, width) = (x(*t as f64), text_width(text, FONT));
            Label {
                anchor,
                left: (anchor + 2.0).min(WIDTH - RIGHT - width),
                width,
            }
        })
        .collect();
    let (stage_rows, stage_row_count) = layout::rows(&stage_boxes);
    let bands_top = stage_row_count as f64 * ROW + 6.0;
    let badge_boxes: Vec<Label> = markers
        .iter()
        .enumerate()
        .map(|(i, (t, _))| {
            let (anchor, width) = (x(*t as f64), badge_width(i + 1));
            Label {
                anchor,
                left: anchor - width / 2.0,
                width,
            }
        })
        .collect();
    let (badge_rows, badge_row_count) = layout::rows(&badge_boxes);
    let top = bands_top + badge_row_count as f64 * BADGE_ROW + 8.0;

    let chart_h = 150.0;
    let stack_h = 90.0;
    let lane_h = 16.0;
    let stack_top = top + chart_h + 30.0;
    let all_instances: Vec<String> = {
        let mut v: Vec<String> = points.iter().flat_map(|p| p.instances().cloned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let swatches: Vec<(String, String)> = all_instances
        .iter()
        .enumerate()
        .map(|(k, id)| (format!("i{}", k % 6), id.clone()))
        .collect();
    let swatch_rows = flow(&swatches).1;
    let lanes_top = stack_top + stack_h + 10.0 + swatch_rows as f64 * ROW + 10.0;
    let lanes = targets.len() + instances.len();
    let lanes_end = lanes_top + lanes as f64 * (lane_h + 4.0);
    let height = lanes_end + 30.0 + flow(&tone_legend()).1 as f64 * ROW + 10.0;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="timeline">"#
    );
    // Stage bands, alternately shaded; their names above, with a leader
    // line down to where the stage starts.
    for (i, ((start, text), (&row, label))) in headings
        .iter()
        .zip(stage_rows.iter().zip(&stage_boxes))
        .enumerate()
    {
        let stop = headings.get(i + 1).map_or(end, |h| h.0);
        let (x0, x1) = (x(*start as f64), x(stop as f64));
        if i % 2 == 0 {
            let _ = write!(
                svg,
                r##"<rect x="{x0:.1}" y="{bands_top:.1}" width="{:.1}" height="{:.1}" class="bandbg"><title>{}</title></rect>"##,
                (x1 - x0).max(0.5),
                lanes_end - bands_top,
                esc(text)
            );
        }
        let baseline = (row as f64 + 1.0) * ROW;
        let _ = write!(
            svg,
            r##"<line x1="{x0:.1}" y1="{:.1}" x2="{x0:.1}" y2="{bands_top:.1}" class="leader"/><text x="{:.1}" y="{baseline:.1}" font-size="{FONT}" class="band">{}<title>{}</title></text>"##,
            baseline - FONT + 1.0,
            label.left,
            esc(&stage_labels[i]),
            esc(text)
        );
    }
    // The time axis's grid.
    let ticks = layout::ticks(end);
    for t in &ticks {
        let gx = x(*t as f64);
        let _ = write!(
            svg,
            r#"<line x1="{gx:.1}" y1="{top:.1}" x2="{gx:.1}" y2="{lanes_end:.1}" class="grid"/>"#
        );
    }
    // Customers: success rate (0..1) and latency (0..max p99).
    axis(&mut svg, top, chart_h, "success rate / latency");
    let max_p99 = points.iter().map(|p| p.p99).fold(1.0, f64::max);
    // A window shaded over the success chart, with what it showed.
    let shade = |svg: &mut String, p: &Point, class: &str, why: String| {
        let x0 = x(p.t_ms);
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{chart_h}" class="{class}"><title>{:.1} s: {:.1} % answered, {}</title></rect>"#,
            (x(p.end_ms) - x0).max(MIN_SPAN).min(LEFT + PLOT - x0),
            p.t_ms / 1000.0,
            p.success_rate() * 100.0,
            esc(&why)
        );
    };
    // Windows below their floor (the load's stop condition) shaded, and the
    // floor drawn over the windows it applies to.
    for p in points.iter().filter(|p| p.below_floor()) {
        let floor = p.floor.unwrap_or_default() * 100.0;
        shade(&mut svg, p, "below", format!("below {floor:.1} %"));
    }
    // Windows that missed the declared objective (and are not already shaded
    // as below the stop condition), and the objective drawn across the chart.
    if let Some(o) = objective {
        for p in points.iter().filter(|p| !p.below_floor() && !p.meets(o)) {
            let why = format!("p99 {:.0} ms: misses the objective", p.p99);
            shade(&mut svg, p, "missed", why);
        }
        let oy = top + chart_h - o.success_rate * chart_h;
        let _ = write!(
            svg,
            r#"<line x1="{LEFT:.1}" y1="{oy:.1}" x2="{:.1}" y2="{oy:.1}" class="objective"><title>the objective: {}</title></line>"#,
            LEFT + PLOT,
            esc(&o.describe())
        );
    }
    for p in &points {
        if let Some(floor) = p.floor {
            let fy = top + chart_h - floor * chart_h;
            let _ = write!(
                svg,
                r#"<line x1="{:.1}" y1="{fy:.1}" x2="{:.1}" y2="{fy:.1}" class="floor"/>"#,
                x(p.t_ms),
                x(p.end_ms).max(x(p.t_ms) + MIN_SPAN)
            );
        }
    }
    // Each window a step over the time it spans; a gap where no load ran.
    let steps = |class: &str, f: &dyn Fn(&Point) -> f64, max: f64| -> String {
        let mut out = String::new();
        for run in contiguous(&points) {
            let vertices: Vec<String> = run
                .iter()
                .flat_map(|p| {
                    let y = top + chart_h - f(p) / max * chart_h;
                    [
                        format!("{:.1},{y:.1}", x(p.t_ms)),
                        format!("{:.1},{y:.1}", x(p.end_ms).max(x(p.t_ms) + MIN_SPAN)),
                    ]
                })
                .collect();
            let _ = write!(
                out,
                r#"<polyline class="{class}" points="{}"/>"#,
                vertices.join(" ")
            );
            // A lone window (a short burst of requests) also gets a dot.
            if let [p] = run {
                let _ = write!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" class="{class}-d"/>"#,
                    x(p.t_ms) + MIN_SPAN / 2.0,
                    top + chart_h - f(p) / max * chart_h
                );
            }
        }
        out
    };
    svg.push_str(&steps("p99", &|p| p.p99, max_p99));
    svg.push_str(&steps("p50", &|p| p.p50, max_p99));
    svg.push_str(&steps("rate", &Point::success_rate, 1.0));
    let mut floors = String::new();
    if let Some(o) = objective {
        let _ = write!(
            floors,
            r#"  <tspan class="objective-t">dotted: the objective ({} %); amber: windows that missed it</tspan>"#,
            o.success_rate * 100.0
        );
    }
    if points.iter().any(|p| p.floor.is_some()) {
        floors.push_str(
            r#"  <tspan class="floor-t">dashed: the stop condition; red: windows below it</tspan>"#,
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="{FONT}" class="legend"><tspan class="rate-t">success rate (0–100 %)</tspan>  <tspan class="p50-t">p50</tspan> / <tspan class="p99-t">p99 latency (0–{:.0} ms)</tspan>{floors}</text>"#,
        LEFT,
        top + chart_h + 16.0,
        max_p99
    );
    // Requests per instance, stacked per window, with a colour per instance.
    axis(&mut svg, stack_top, stack_h, "requests per instance");
    let max_count = points.iter().map(Point::requests).fold(1.0, f64::max);
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
            let w = (x(p.end_ms) - x0)
                .max(MIN_SPAN)
                .min(LEFT + PLOT - x0)
                .max(1.0);
            let _ = write!(
                svg,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" class="i{}"><title>{}: {n}</title></rect>"#,
                k % 6,
                esc(id)
            );
        }
    }
    draw_flow(&mut svg, &swatches, stack_top + stack_h + 10.0);
    // Lanes.
    let mut y = lanes_top;
    for (label, group) in [("target", &targets), ("instance", &instances)] {
        for (id, changes) in group {
            let _ = write!(
                svg,
                r#"<text x="4" y="{:.1}" font-size="{FONT}" class="lane">{label} {}</text>"#,
                y + 12.0,
                esc(id)
            );
            // Thinned like the charts: a change that would not show (it
            // ends within the pixel already drawn) is not drawn, so a lane
            // holds about one rectangle per pixel at most, whatever the
            // journal's length.
            let mut drawn_to = f64::NEG_INFINITY;
            for (i, (start, tone, title)) in changes.iter().enumerate() {
                let stop = changes.get(i + 1).map_or(end, |c| c.0);
                if *tone == Some(Tone::Gone) {
                    continue;
                }
                let (x0, x1) = (x(*start as f64).max(drawn_to), x(stop as f64));
                let last = i + 1 == changes.len();
                if x1 < drawn_to + 1.0 && !last {
                    continue;
                }
                drawn_to = x1.max(x0 + 1.0);
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
    // Faults and actions: numbered badges (listed below the chart) and a
    // dashed line across everything.
    for (i, ((t, what), (&row, label))) in markers
        .iter()
        .zip(badge_rows.iter().zip(&badge_boxes))
        .enumerate()
    {
        let mx = x(*t as f64);
        let by = bands_top + row as f64 * BADGE_ROW + 2.0;
        let _ = write!(
            svg,
            r#"<line x1="{mx:.1}" y1="{:.1}" x2="{mx:.1}" y2="{lanes_end:.1}" class="marker"/><g class="badge"><title>{} s: {}</title><rect x="{:.1}" y="{by:.1}" width="{:.1}" height="{:.1}" rx="7"/><text x="{mx:.1}" y="{:.1}" font-size="{BADGE_FONT}" text-anchor="middle">{}</text></g>"#,
            by + BADGE_ROW - 4.0,
            seconds(*t),
            esc(what),
            label.left,
            label.width,
            BADGE_ROW - 4.0,
            by + BADGE_ROW - 8.0,
            i + 1
        );
    }
    // The time axis: ticks in seconds under the lanes.
    let step = ticks.get(1).copied().unwrap_or(1000);
    for t in &ticks {
        let tx = x(*t as f64);
        let _ = write!(
            svg,
            r#"<line x1="{tx:.1}" y1="{lanes_end:.1}" x2="{tx:.1}" y2="{:.1}" class="tick"/><text x="{tx:.1}" y="{:.1}" font-size="{FONT}" class="legend" text-anchor="middle">{}</text>"#,
            lanes_end + 5.0,
            lanes_end + 17.0,
            layout::tick_label(*t, step)
        );
    }
    draw_flow(&mut svg, &tone_legend(), lanes_end + 30.0);
    svg.push_str("</svg>");
    svg.push_str(&marker_list(&markers));

    page(
        &run.header,
        run.outcome.as_ref(),
        &assessment,
        baseline,
        &events,
        &svg,
    )
}

/// The points in runs without a gap: a new run starts where a point begins
/// more than a millisecond after the one before it ended.
fn contiguous(points: &[Point]) -> Vec<&[Point]> {
    let mut runs = Vec::new();
    let mut from = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].t_ms > points[i - 1].end_ms + 1.0 {
            runs.push(&points[from..i]);
            from = i;
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// The faults and actions the chart marks, in order: (time, what).
fn markers(events: &[(u64, &EventKind)]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter_map(|(t, e)| {
            let what = match e {
                EventKind::Fault { what, .. } => what.clone(),
                EventKind::Reset => "reset".into(),
                EventKind::Rollback { faults, .. } => format!("rollback of {}", faults.join(", ")),
                _ => return None,
            };
            Some((*t, what))
        })
        .collect()
}

/// A stage's name as the chart writes it: "Stage 2 of 8: a broken
/// dependency" becomes "2: a broken dependency"; at most 40 characters.
fn stage_name(heading: &str) -> String {
    let numbered = heading
        .strip_prefix("Stage ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(n, name)| Some((n.split(" of ").next()?, name)))
        .filter(|(n, _)| n.parse::<u32>().is_ok());
    match numbered {
        Some((n, name)) => short(&format!("{n}: {name}"), 40),
        None => short(heading, 40),
    }
}

/// The list under the chart that names each numbered marker.
fn marker_list(markers: &[(u64, String)]) -> String {
    if markers.is_empty() {
        return String::new();
    }
    let mut html = String::from("\n<ol class=\"markers\">");
    for (t, what) in markers {
        let _ = write!(html, "<li><b>{} s</b> {}</li>", seconds(*t), esc(what));
    }
    html.push_str("</ol>\n");
    html
}

/// Run time in seconds, one decimal.
fn seconds(ms: u64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

/// The width of marker `n`'s badge.
fn badge_width(n: usize) -> f64 {
    (text_width(&n.to_string(), BADGE_FONT) + 8.0).max(16.0)
}

/// The lanes' colours and what they mean: (CSS class, words).
fn tone_legend() -> Vec<(String, String)> {
    [
        (Some(Tone::Good), "healthy / running"),
        (Some(Tone::Bad), "unhealthy"),
        (Some(Tone::Starting), "initial / pending"),
        (Some(Tone::Leaving), "draining / shutting down"),
        (Some(Tone::Idle), "unused / stopped"),
        (None, "other"),
    ]
    .into_iter()
    .map(|(tone, words)| (format!("s-{}", css_state(tone)), words.to_string()))
    .collect()
}

/// Lays swatches (CSS class, words) out left to right from [`LEFT`],
/// wrapping at the right edge: each one's (x, row), and how many rows.
fn flow(swatches: &[(String, String)]) -> (Vec<(f64, usize)>, usize) {
    let mut at = Vec::with_capacity(swatches.len());
    let (mut x, mut row) = (LEFT, 0);
    for (_, words) in swatches {
        let w = SWATCH + 4.0 + text_width(words, FONT) + 20.0;
        if x + w > WIDTH - RIGHT && x > LEFT {
            x = LEFT;
            row += 1;
        }
        at.push((x, row));
        x += w;
    }
    (at, if swatches.is_empty() { 0 } else { row + 1 })
}

/// Draws swatches (see [`flow`]) from `top`.
fn draw_flow(svg: &mut String, swatches: &[(String, String)], top: f64) {
    for ((class, words), (x, row)) in swatches.iter().zip(flow(swatches).0) {
        let y = top + row as f64 * ROW;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{SWATCH}" height="{SWATCH}" class="{class}"/><text x="{:.1}" y="{:.1}" font-size="{FONT}" class="legend">{}</text>"#,
            y + 2.0,
            x + SWATCH + 4.0,
            y + 11.0,
            esc(words)
        );
    }
}

fn axis(svg: &mut String, top: f64, h: f64, label: &str) {
    let _ = write!(
        svg,
        r#"<rect x="{LEFT}" y="{top}" width="{PLOT}" height="{h}" class="frame"/><text x="4" y="{:.1}" font-size="{FONT}" class="lane">{}</text>"#,
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

#[cfg(test)]
mod tests;

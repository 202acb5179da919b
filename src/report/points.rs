//! The chart's points: what customers saw, window by window.

use serde_json::Value;
use std::collections::BTreeMap;

/// The most points a chart draws; longer runs are averaged down to it.
const MAX_POINTS: usize = 600;

/// One window of what customers saw, at run time `t_ms`.
#[derive(Debug, Clone, Default)]
pub(super) struct Point {
    pub(super) t_ms: f64,
    pub(super) count: f64,
    pub(super) ok: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) instances: BTreeMap<String, f64>,
}

/// What customers saw, per window, on the run's clock: from each finished
/// load's statistics; for a load the run never finished (killed,
/// interrupted), from the windows it reported while it ran; without any
/// load, from the script's own requests, one point per second. At most
/// [`MAX_POINTS`].
pub(super) fn customers(events: &[&Value]) -> Vec<Point> {
    let t = |e: &Value| e["t_ms"].as_u64().unwrap_or(0);
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
    downsample(points)
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

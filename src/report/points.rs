//! The chart's points: what customers saw, window by window.

use crate::events::EventKind;
use crate::loadgen::{Window, Windows, success_rate};
use std::collections::BTreeMap;
use std::time::Duration;

/// The most points a chart draws; longer runs are averaged down to it.
const MAX_POINTS: usize = 600;

/// What customers saw in one or more windows (more than one once averaged
/// down), from run time `t_ms` to `end_ms`.
#[derive(Debug, Clone)]
pub(super) struct Point {
    pub(super) t_ms: f64,
    /// When its last window ended (or its load stopped, if sooner).
    pub(super) end_ms: f64,
    /// The least success rate its windows had to show: its load's stop
    /// condition (the objective a script declares is drawn apart).
    pub(super) floor: Option<f64>,
    /// How many windows the point stands for.
    windows: u64,
    /// Requests sent in them.
    count: u64,
    /// Requests answered 2xx.
    ok: u64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    /// Answers per serving instance.
    instances: BTreeMap<String, u64>,
}

impl Point {
    /// A point from one load window from `t_ms` to `end_ms` on the run's clock.
    fn of(t_ms: f64, end_ms: f64, w: &Window) -> Self {
        Point {
            t_ms,
            end_ms: end_ms.max(t_ms),
            floor: None,
            windows: 1,
            count: w.count,
            ok: w.ok,
            p50: w.p50_ms,
            p99: w.p99_ms,
            instances: w.instances.clone(),
        }
    }

    /// Requests per window.
    pub(super) fn requests(&self) -> f64 {
        self.count as f64 / self.windows as f64
    }

    /// The share of its requests answered 2xx.
    pub(super) fn success_rate(&self) -> f64 {
        success_rate(self.ok, self.count)
    }

    /// Whether it fell below its floor (a point without requests never does).
    pub(super) fn below_floor(&self) -> bool {
        self.count > 0 && self.floor.is_some_and(|f| self.success_rate() < f)
    }

    /// Whether it meets the objective (a point without requests does: no
    /// customer was let down).
    pub(super) fn meets(&self, o: &crate::verdict::Objective) -> bool {
        self.count == 0
            || (self.success_rate() >= o.success_rate && o.p99_ms.is_none_or(|max| self.p99 <= max))
    }

    /// Requests per window that `instance` served.
    pub(super) fn served_by(&self, instance: &str) -> f64 {
        self.instances.get(instance).copied().unwrap_or(0) as f64 / self.windows as f64
    }

    /// The instances that served its requests.
    pub(super) fn instances(&self) -> impl Iterator<Item = &String> {
        self.instances.keys()
    }
}

/// What customers saw, per window, on the run's clock: from each finished
/// load's statistics; for a load the run never finished (killed,
/// interrupted), from the windows it reported while it ran; without any
/// load, from the script's own requests, one point per second. At most
/// [`MAX_POINTS`].
pub(super) fn customers(events: &[(u64, &EventKind)]) -> Vec<Point> {
    let mut points = Vec::new();
    let finished: Vec<u64> = events
        .iter()
        .filter_map(|(_, e)| match e {
            EventKind::Load { load, .. } => Some(*load),
            _ => None,
        })
        .collect();
    // A window ends where the next one of its load starts, or where its
    // load stopped (a finished load), or when it was reported (a live one).
    let mut live: BTreeMap<u64, Vec<(u64, &Window, u64)>> = BTreeMap::new();
    for (t, e) in events {
        match e {
            EventKind::Load { stats, .. } => {
                let start = *t as f64 - stats.duration_ms;
                for (i, w) in stats.windows.iter().enumerate() {
                    let end = stats
                        .windows
                        .get(i + 1)
                        .map_or(*t as f64, |next| start + next.start_ms as f64);
                    let mut point = Point::of(start + w.start_ms as f64, end, w);
                    point.floor = stats.stop_below;
                    points.push(point);
                }
            }
            EventKind::LoadWindow {
                load,
                start_ms,
                window,
            } if !finished.contains(load) => {
                live.entry(*load).or_default().push((*start_ms, window, *t));
            }
            _ => {}
        }
    }
    for windows in live.values() {
        for (i, (start, w, reported)) in windows.iter().enumerate() {
            let end = windows
                .get(i + 1)
                .map_or(*reported, |next| next.0.min(*reported));
            points.push(Point::of(*start as f64, end as f64, w));
        }
    }
    // Without a load, the script's own requests, one point per second.
    if points.is_empty() {
        let mut seconds = Windows::new(Duration::from_secs(1));
        for (t, e) in events {
            if let EventKind::Request {
                status,
                latency_ms,
                instance,
                ..
            } = e
            {
                let status = u16::try_from(*status).unwrap_or(0);
                seconds.add(
                    Duration::from_millis(*t),
                    status,
                    *latency_ms,
                    instance.as_deref(),
                );
            }
        }
        for w in seconds.into_windows() {
            let start = w.start_ms as f64;
            points.push(Point::of(start, start + 1000.0, &w));
        }
    }
    points.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    downsample(points)
}

/// Averages points down to at most [`MAX_POINTS`]: requests add up, p50 is
/// weighted by requests, p99 is the worst.
fn downsample(points: Vec<Point>) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let per = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(per)
        .map(|chunk| {
            let count: u64 = chunk.iter().map(|p| p.count).sum();
            let p50 = if count > 0 {
                chunk.iter().map(|p| p.p50 * p.count as f64).sum::<f64>() / count as f64
            } else {
                0.0
            };
            let mut instances = BTreeMap::new();
            for p in chunk {
                for (k, v) in &p.instances {
                    *instances.entry(k.clone()).or_insert(0) += v;
                }
            }
            Point {
                t_ms: chunk[0].t_ms,
                end_ms: chunk.iter().map(|p| p.end_ms).fold(0.0, f64::max),
                floor: chunk.iter().filter_map(|p| p.floor).reduce(f64::max),
                windows: chunk.iter().map(|p| p.windows).sum(),
                count,
                ok: chunk.iter().map(|p| p.ok).sum(),
                p50,
                p99: chunk.iter().map(|p| p.p99).fold(0.0, f64::max),
                instances,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: u64, count: u64, ok: u64, p50_ms: f64) -> Window {
        Window {
            start_ms,
            count,
            ok,
            p50_ms,
            p99_ms: p50_ms * 2.0,
            instances: BTreeMap::from([("i-a".to_string(), count)]),
        }
    }

    #[test]
    fn averaging_down_adds_requests_up_and_keeps_the_success_rate_rule() {
        let points: Vec<Point> = (0..1200)
            .map(|i| {
                Point::of(
                    i as f64,
                    i as f64 + 1.0,
                    &window(i, 10, if i % 2 == 0 { 10 } else { 0 }, 4.0),
                )
            })
            .collect();
        let down = downsample(points);
        assert_eq!(down.len(), MAX_POINTS);
        assert_eq!(down[0].requests(), 10.0, "per window, as before");
        assert_eq!(down[0].success_rate(), 0.5);
        assert_eq!(down[0].served_by("i-a"), 10.0);
        assert_eq!((down[0].p50, down[0].p99), (4.0, 8.0));
        assert_eq!((down[0].t_ms, down[0].end_ms), (0.0, 2.0), "two windows");
        let idle = Point::of(0.0, 1.0, &window(0, 0, 0, 0.0));
        assert_eq!(idle.success_rate(), 1.0, "nothing sent is no failure");
    }

    #[test]
    fn without_a_load_the_scripts_requests_make_one_point_per_second() {
        let request = |status, instance: &str| EventKind::Request {
            status,
            latency_ms: 3.0,
            instance: Some(instance.to_string()),
            fallback: false,
        };
        let (a, b, c) = (request(200, "i-a"), request(502, "i-b"), request(0, "i-a"));
        let events = vec![(100, &a), (900, &b), (2500, &c)];
        let points = customers(&events);
        let seen: Vec<(f64, f64, f64, f64)> = points
            .iter()
            .map(|p| (p.t_ms, p.end_ms, p.requests(), p.success_rate()))
            .collect();
        assert_eq!(
            seen,
            vec![(0.0, 1000.0, 2.0, 0.5), (2000.0, 3000.0, 1.0, 0.0)]
        );
    }
}

#[cfg(test)]
mod spans {
    use super::*;
    use crate::loadgen::LoadStats;

    /// A window with `count` requests, all answered, from `start_ms`.
    fn window(start_ms: u64, count: u64) -> Window {
        Window {
            start_ms,
            count,
            ok: count,
            ..Window::default()
        }
    }

    #[test]
    fn a_window_spans_until_the_next_or_until_its_load_stopped() {
        // A load of 2.5 s that ended at 10 s: windows at 7.5, 8.5, 9.5 s.
        let load = EventKind::Load {
            load: 1,
            stats: LoadStats {
                duration_ms: 2500.0,
                windows: vec![window(0, 5), window(1000, 5), window(2000, 2)],
                stop_below: Some(0.5),
                ..LoadStats::default()
            },
        };
        // A live load killed after two windows, reported at 1.1 and 2.05 s.
        let (a, b) = (window(0, 3), window(1000, 3));
        let live = |start_ms, window: &Window| EventKind::LoadWindow {
            load: 2,
            start_ms,
            window: window.clone(),
        };
        let (wa, wb) = (live(100, &a), live(1100, &b));
        let events = vec![(1100, &wa), (2050, &wb), (10_000, &load)];
        let points = customers(&events);
        let spans: Vec<(f64, f64)> = points.iter().map(|p| (p.t_ms, p.end_ms)).collect();
        let floors: Vec<Option<f64>> = points.iter().map(|p| p.floor).collect();
        assert_eq!(floors, [None, None, Some(0.5), Some(0.5), Some(0.5)]);
        assert_eq!(
            spans,
            vec![
                (100.0, 1100.0),
                (1100.0, 2050.0),
                (7500.0, 8500.0),
                (8500.0, 9500.0),
                (9500.0, 10_000.0)
            ]
        );
    }
}

#[cfg(test)]
mod floors {
    use super::*;

    #[test]
    fn a_window_is_below_its_floor_only_with_requests_under_it() {
        let w = |count, ok| Window {
            count,
            ok,
            ..Window::default()
        };
        let at = |floor, window: Window| Point {
            floor,
            ..Point::of(0.0, 1.0, &window)
        };
        assert!(at(Some(0.9), w(10, 8)).below_floor());
        assert!(
            !at(Some(0.8), w(10, 8)).below_floor(),
            "at the floor is not below"
        );
        assert!(!at(None, w(10, 0)).below_floor(), "no floor, nothing below");
        assert!(
            !at(Some(0.9), w(0, 0)).below_floor(),
            "no request, no failure"
        );
    }
}

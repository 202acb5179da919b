//! The one windowing rule: a load's time is cut into windows of a fixed
//! width from its start, and a request counts in the window it was *sent*
//! in. A load's statistics, its live windows, its stop condition and the
//! report's per-second points of a script's own requests all count through
//! [`Windows`].

use super::measure::{is_success, percentile};
use super::stats::Outcome;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// What customers saw in one window of a load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
pub struct Window {
    /// When the window starts, from the start of the load.
    pub start_ms: u64,
    /// Requests sent in it.
    pub count: u64,
    /// Requests answered 2xx.
    pub ok: u64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Answers per serving instance.
    pub instances: BTreeMap<String, u64>,
}

impl Window {
    /// The share of the window's requests answered 2xx.
    pub fn success_rate(&self) -> f64 {
        super::measure::success_rate(self.ok, self.count)
    }
}

/// Requests counted into windows of one width.
#[derive(Debug, Clone)]
pub struct Windows {
    width_ms: u64,
    tallies: BTreeMap<u64, Tally>,
}

/// What one window holds so far.
#[derive(Debug, Clone, Default)]
struct Tally {
    count: u64,
    ok: u64,
    latencies_ms: Vec<f64>,
    instances: BTreeMap<String, u64>,
}

impl Windows {
    /// No requests yet, in windows of `width` (at least 1 ms).
    pub fn new(width: Duration) -> Self {
        Windows {
            width_ms: u64::try_from(width.as_millis()).unwrap_or(u64::MAX).max(1),
            tallies: BTreeMap::new(),
        }
    }

    /// The windows' width in milliseconds.
    pub fn width_ms(&self) -> u64 {
        self.width_ms
    }

    /// The window a request sent at `at` (from the start) falls in.
    pub fn index(&self, at: Duration) -> u64 {
        u64::try_from(at.as_millis() / u128::from(self.width_ms)).unwrap_or(u64::MAX)
    }

    /// Counts one request: sent at `at`, answered `status` (0: no answer)
    /// after `latency_ms`, served by `instance` when known.
    pub fn add(&mut self, at: Duration, status: u16, latency_ms: f64, instance: Option<&str>) {
        let tally = self.tallies.entry(self.index(at)).or_default();
        tally.count += 1;
        tally.ok += u64::from(is_success(status));
        tally.latencies_ms.push(latency_ms);
        if let Some(i) = instance {
            match tally.instances.get_mut(i) {
                Some(n) => *n += 1,
                None => {
                    tally.instances.insert(i.to_string(), 1);
                }
            }
        }
    }

    /// Counts one outcome of a load.
    pub fn add_outcome(&mut self, o: &Outcome) {
        self.add(
            o.at,
            o.status,
            o.latency.as_secs_f64() * 1000.0,
            o.instance.as_deref(),
        );
    }

    /// `(index, requests, answered 2xx)` of every window a request fell in,
    /// in order.
    pub fn counts(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.tallies.iter().map(|(&i, t)| (i, t.count, t.ok))
    }

    /// Takes the windows before index `upto` out, leaving the later ones.
    pub fn take_before(&mut self, upto: u64) -> Windows {
        let later = self.tallies.split_off(&upto);
        Windows {
            width_ms: self.width_ms,
            tallies: std::mem::replace(&mut self.tallies, later),
        }
    }

    /// What customers saw in each window a request fell in, in order.
    pub fn into_windows(self) -> Vec<Window> {
        let width_ms = self.width_ms;
        self.tallies
            .into_iter()
            .map(|(i, mut t)| {
                t.latencies_ms.sort_by(f64::total_cmp);
                Window {
                    start_ms: i.saturating_mul(width_ms),
                    count: t.count,
                    ok: t.ok,
                    p50_ms: percentile(&t.latencies_ms, 0.50),
                    p99_ms: percentile(&t.latencies_ms, 0.99),
                    instances: t.instances,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_in_the_window_it_was_sent_in() {
        let mut w = Windows::new(Duration::from_millis(100));
        for (at, status) in [(0, 200), (99, 502), (100, 200), (350, 0)] {
            w.add(Duration::from_millis(at), status, 1.0, Some("i-1"));
        }
        assert_eq!(
            w.counts().collect::<Vec<_>>(),
            vec![(0, 2, 1), (1, 1, 1), (3, 1, 0)]
        );
        let windows = w.into_windows();
        let starts: Vec<u64> = windows.iter().map(|w| w.start_ms).collect();
        assert_eq!(starts, vec![0, 100, 300], "empty windows are left out");
        assert_eq!(windows[0].success_rate(), 0.5);
        assert_eq!(windows[0].instances["i-1"], 2);
    }

    #[test]
    fn windows_keep_their_latency_percentiles() {
        let mut w = Windows::new(Duration::from_secs(1));
        for ms in (1..=100).rev() {
            w.add(Duration::from_millis(ms), 200, ms as f64, None);
        }
        let windows = w.into_windows();
        assert_eq!((windows[0].p50_ms, windows[0].p99_ms), (50.0, 99.0));
        assert!(windows[0].instances.is_empty());
    }

    #[test]
    fn taking_earlier_windows_leaves_the_later_ones() {
        let mut w = Windows::new(Duration::ZERO);
        assert_eq!(w.width_ms(), 1, "at least 1 ms wide");
        for at in [0, 1, 2, 5] {
            w.add(Duration::from_millis(at), 200, 1.0, None);
        }
        let early = w.take_before(2);
        assert_eq!(early.counts().map(|c| c.0).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(w.counts().map(|c| c.0).collect::<Vec<_>>(), vec![2, 5]);
    }
}

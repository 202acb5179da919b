//! What customers saw: outcomes of single requests summed up into counts,
//! codes, latency percentiles, instances and per-window figures.

use super::measure::{is_success, percentile, success_rate};
use super::windows::{Window, Windows};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was sent, from the start of the load.
    pub at: Duration,
    /// HTTP status, 0 when there was no HTTP response.
    pub status: u16,
    /// How long it took.
    pub latency: Duration,
    /// The instance that served it, when the body names one.
    pub instance: Option<String>,
    /// Whether it was the static fallback.
    pub fallback: bool,
    /// The release that answered (`Metadata.Version`), when the body names one.
    pub version: Option<String>,
}

/// What customers saw.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
pub struct LoadStats {
    /// Requests sent.
    pub count: u64,
    /// Requests answered 2xx.
    pub ok: u64,
    /// `ok / count` (1.0 when nothing was sent).
    pub success_rate: f64,
    /// Lowest success rate over any full window.
    pub min_window_success_rate: f64,
    /// Answers per status code ("0" = no HTTP response).
    pub codes: BTreeMap<String, u64>,
    /// Answers per serving instance.
    pub instances: BTreeMap<String, u64>,
    /// Answers per release that answered (`Metadata.Version`); empty when
    /// no answer named one.
    #[serde(default)]
    pub versions: BTreeMap<String, u64>,
    /// Answers that were the static fallback.
    pub fallback: u64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile latency.
    pub p90_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
    /// Wall time of the load.
    pub duration_ms: f64,
    /// Requests per second achieved.
    pub rps: f64,
    /// Why a stop condition ended the load early, if one did.
    pub stopped_by: Option<String>,
    /// The stop condition's least success rate of a window, when the load
    /// had one (the report shades the windows below it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_below: Option<f64>,
    /// What customers saw in each window, in order (for timelines).
    pub windows: Vec<Window>,
}

/// Summarizes outcomes (`elapsed`: the load's wall time; `window`: the
/// width of its windows).
pub fn summarize(outcomes: &[Outcome], elapsed: Duration, window: Duration) -> LoadStats {
    let mut stats = LoadStats {
        count: outcomes.len() as u64,
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        ..LoadStats::default()
    };
    let mut latencies: Vec<f64> = Vec::with_capacity(outcomes.len());
    let mut windows = Windows::new(window);
    for o in outcomes {
        windows.add_outcome(o);
        stats.ok += u64::from(is_success(o.status));
        stats.fallback += u64::from(o.fallback);
        *stats.codes.entry(o.status.to_string()).or_default() += 1;
        if let Some(i) = &o.instance {
            *stats.instances.entry(i.clone()).or_default() += 1;
        }
        if let Some(v) = &o.version {
            *stats.versions.entry(v.clone()).or_default() += 1;
        }
        latencies.push(o.latency.as_secs_f64() * 1000.0);
    }
    stats.success_rate = success_rate(stats.ok, stats.count);
    // The last window is usually cut short; judge only full windows when there are some.
    let full = windows.index(elapsed);
    stats.min_window_success_rate = windows
        .counts()
        .filter(|(i, _, _)| full == 0 || *i < full)
        .map(|(_, n, ok)| success_rate(ok, n))
        .fold(1.0, f64::min);
    latencies.sort_by(f64::total_cmp);
    stats.p50_ms = percentile(&latencies, 0.50);
    stats.p90_ms = percentile(&latencies, 0.90);
    stats.p99_ms = percentile(&latencies, 0.99);
    stats.windows = windows.into_windows();
    stats.max_ms = latencies.last().copied().unwrap_or(0.0);
    if elapsed > Duration::ZERO {
        stats.rps = stats.count as f64 / elapsed.as_secs_f64();
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(at_ms: u64, status: u16, ms: u64) -> Outcome {
        Outcome {
            at: Duration::from_millis(at_ms),
            status,
            latency: Duration::from_millis(ms),
            instance: Some(format!("i-{}", (at_ms / 10) % 2)),
            version: None,
            fallback: false,
        }
    }

    #[test]
    fn percentiles_codes_and_windows() {
        let mut outcomes: Vec<Outcome> = (0..100).map(|i| o(i * 10, 200, i + 1)).collect();
        outcomes.push(o(1500, 502, 1));
        outcomes.push(o(1600, 0, 1));
        let s = summarize(
            &outcomes,
            Duration::from_millis(2000),
            Duration::from_secs(1),
        );
        assert_eq!(s.count, 102);
        assert_eq!(s.ok, 100);
        assert_eq!(s.codes["502"], 1);
        assert_eq!(s.codes["0"], 1);
        assert_eq!(
            s.p50_ms, 49.0,
            "51st of 102 sorted latencies (three are 1 ms)"
        );
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        // window 1 (1000..2000 ms) has 2 failures out of 2
        assert_eq!(s.min_window_success_rate, 0.0);
        assert_eq!(s.instances.len(), 2);
        // Per window: the first second holds the 100 successes.
        assert_eq!(s.windows.len(), 2);
        assert_eq!(
            (s.windows[0].start_ms, s.windows[0].count, s.windows[0].ok),
            (0, 100, 100)
        );
        assert_eq!(
            (s.windows[1].start_ms, s.windows[1].count, s.windows[1].ok),
            (1000, 2, 0)
        );
        assert_eq!(s.windows[0].p99_ms, 99.0);
        assert_eq!(s.windows[0].instances.values().sum::<u64>(), 100);
    }

    #[test]
    fn nothing_sent_is_not_a_failure() {
        let s = summarize(&[], Duration::from_millis(10), Duration::from_secs(1));
        assert_eq!((s.count, s.success_rate), (0, 1.0));
    }
}

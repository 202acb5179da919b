//! A bounded load generator: what customers saw during a phase — success rate,
//! status codes, latency percentiles, which instances served them.

use crate::http::HttpClient;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The longest a load may run.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// The most concurrent workers a load may use.
pub const MAX_CONCURRENCY: usize = 256;
/// The fewest requests a window needs before a stop condition judges it.
pub const STOP_MIN_REQUESTS: u64 = 5;

/// A stop condition (like an AWS FIS stop condition): the load ends, and
/// `on_trip` is told why, once the success rate of a full window falls below
/// `below`.
#[derive(Clone)]
pub struct StopCondition {
    /// The lowest acceptable success rate of a window (0.0 to 1.0).
    pub below: f64,
    /// Called once, with the reason, when the condition trips.
    pub on_trip: std::sync::Arc<dyn Fn(String) + Send + Sync>,
}

impl std::fmt::Debug for StopCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopCondition")
            .field("below", &self.below)
            .finish()
    }
}

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Stop after this long (capped at [`MAX_DURATION`]).
    pub duration: Duration,
    /// Concurrent workers, each sending one request at a time.
    pub concurrency: usize,
    /// Stop after this many requests in all, if set.
    pub max_requests: Option<u64>,
    /// Requests per second over all workers, if set (else as fast as possible).
    pub rate: Option<f64>,
    /// Width of the windows the success rate is also reported over.
    pub window: Duration,
    /// How long one request may take before it counts as failed.
    pub timeout: Duration,
    /// End the load (and tell someone) when a window's success rate falls too low.
    pub stop: Option<StopCondition>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            duration: Duration::from_secs(5),
            concurrency: 4,
            max_requests: None,
            rate: None,
            window: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            stop: None,
        }
    }
}

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
}

/// What customers saw.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
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
    /// What customers saw in each window, in order (for timelines).
    pub windows: Vec<Window>,
}

/// What customers saw in one window of a load.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
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

/// Sends load at `url` until the duration, the request budget or `stop` ends it.
pub async fn run(
    client: HttpClient,
    url: String,
    opts: LoadOptions,
    stop: CancellationToken,
) -> LoadStats {
    let started = Instant::now();
    let duration = opts.duration.min(MAX_DURATION);
    let deadline = started + duration;
    let workers = opts.concurrency.clamp(1, MAX_CONCURRENCY);
    let budget = opts
        .max_requests
        .map(|m| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(m)));
    // Each worker sends one request every `pace`; a rate too low for the
    // duration simply sends nothing more before the deadline.
    let pace = opts
        .rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| Duration::try_from_secs_f64(workers as f64 / r).unwrap_or(MAX_DURATION));
    let windows = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<u128, (u64, u64)>::new()));
    let tripped = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let window_ms = opts.window.as_millis().max(1);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let client = client.clone();
        let url = url.clone();
        let stop = stop.clone();
        let budget = budget.clone();
        let timeout = opts.timeout;
        let windows = windows.clone();
        let stop_condition = opts.stop.clone();
        let tripped = tripped.clone();
        set.spawn(async move {
            let mut out = Vec::new();
            let mut next =
                started + pace.map_or(Duration::ZERO, |p| p.mul_f64(w as f64 / workers as f64));
            loop {
                if let Some(p) = pace {
                    if next >= deadline {
                        break;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(next.into()) => {}
                        _ = stop.cancelled() => break,
                    }
                    next += p;
                }
                if Instant::now() >= deadline || stop.is_cancelled() {
                    break;
                }
                if let Some(b) = &budget
                    && b.fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    )
                    .is_err()
                {
                    break;
                }
                let at = started.elapsed();
                let sent = Instant::now();
                let outcome = tokio::select! {
                    r = client.get(&url, timeout) => r,
                    _ = stop.cancelled() => break,
                };
                let o = match outcome {
                    Ok(resp) => {
                        let (instance, fallback) = served_by(&resp.body);
                        Outcome {
                            at,
                            status: resp.status,
                            latency: resp.latency,
                            instance,
                            fallback,
                        }
                    }
                    Err(_) => Outcome {
                        at,
                        status: 0,
                        latency: sent.elapsed(),
                        instance: None,
                        fallback: false,
                    },
                };
                if let Some(condition) = &stop_condition {
                    let ok = (200..300).contains(&o.status);
                    let now_window = started.elapsed().as_millis() / window_ms;
                    let verdict = judge(
                        &windows,
                        o.at.as_millis() / window_ms,
                        ok,
                        now_window,
                        condition.below,
                        window_ms,
                    );
                    if let Some(reason) = verdict {
                        let mut t = tripped.lock().unwrap_or_else(|p| p.into_inner());
                        if t.is_none() {
                            *t = Some(reason.clone());
                            (condition.on_trip)(reason);
                        }
                        stop.cancel();
                    }
                }
                out.push(o);
            }
            out
        });
    }
    let outcomes: Vec<Outcome> = set.join_all().await.into_iter().flatten().collect();
    let mut stats = summarize(&outcomes, started.elapsed(), opts.window);
    stats.stopped_by = tripped.lock().unwrap_or_else(|p| p.into_inner()).take();
    stats
}

/// Counts one outcome into its window and judges every window that has
/// ended: the reason to stop when one fell below `below`.
fn judge(
    windows: &std::sync::Mutex<BTreeMap<u128, (u64, u64)>>,
    window: u128,
    ok: bool,
    now_window: u128,
    below: f64,
    window_ms: u128,
) -> Option<String> {
    let mut w = windows.lock().unwrap_or_else(|p| p.into_inner());
    let entry = w.entry(window).or_default();
    entry.0 += 1;
    entry.1 += u64::from(ok);
    // Windows before the current one are complete.
    let (&i, &(n, good)) = w
        .range(..now_window)
        .filter(|(_, (n, _))| *n >= STOP_MIN_REQUESTS)
        .find(|(_, (n, good))| (*good as f64 / *n as f64) < below)?;
    let rate = good as f64 / n as f64;
    Some(format!(
        "stop condition: success rate {rate:.2} < {below} in the window {:.1}–{:.1} s of the load ({good} of {n} requests succeeded)",
        (i * window_ms) as f64 / 1000.0,
        ((i + 1) * window_ms) as f64 / 1000.0
    ))
}

/// Reads the serving instance and the fallback mark from a service answer.
pub fn served_by(body: &[u8]) -> (Option<String>, bool) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => served_by_json(&v),
        Err(_) => (None, false),
    }
}

/// Reads the serving instance and the fallback mark from a decoded answer.
pub fn served_by_json(v: &serde_json::Value) -> (Option<String>, bool) {
    (
        v["Metadata"]["InstanceId"].as_str().map(str::to_string),
        v["Fallback"].as_bool().unwrap_or(false),
    )
}

/// The `p` quantile (nearest rank) of sorted values; 0 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        0.0
    } else {
        sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
    }
}

/// Summarizes outcomes.
pub fn summarize(outcomes: &[Outcome], elapsed: Duration, window: Duration) -> LoadStats {
    let mut stats = LoadStats {
        count: outcomes.len() as u64,
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        ..LoadStats::default()
    };
    let mut latencies: Vec<f64> = Vec::with_capacity(outcomes.len());
    let window_ms = window.as_millis().max(1);
    let mut windows: BTreeMap<u128, (u64, u64)> = BTreeMap::new();
    let mut detail: BTreeMap<u128, (Vec<f64>, BTreeMap<String, u64>)> = BTreeMap::new();
    for o in outcomes {
        let d = detail.entry(o.at.as_millis() / window_ms).or_default();
        d.0.push(o.latency.as_secs_f64() * 1000.0);
        if let Some(i) = &o.instance {
            *d.1.entry(i.clone()).or_default() += 1;
        }
        let ok = (200..300).contains(&o.status);
        stats.ok += u64::from(ok);
        stats.fallback += u64::from(o.fallback);
        *stats.codes.entry(o.status.to_string()).or_default() += 1;
        if let Some(i) = &o.instance {
            *stats.instances.entry(i.clone()).or_default() += 1;
        }
        latencies.push(o.latency.as_secs_f64() * 1000.0);
        let w = windows.entry(o.at.as_millis() / window_ms).or_default();
        w.0 += 1;
        w.1 += u64::from(ok);
    }
    let rate = |ok: u64, n: u64| if n == 0 { 1.0 } else { ok as f64 / n as f64 };
    stats.success_rate = rate(stats.ok, stats.count);
    // The last window is usually cut short; judge only full windows when there are some.
    let full = elapsed.as_millis() / window_ms;
    stats.min_window_success_rate = windows
        .iter()
        .filter(|(i, _)| full == 0 || **i < full)
        .map(|(_, (n, ok))| rate(*ok, *n))
        .fold(1.0, f64::min);
    latencies.sort_by(f64::total_cmp);
    stats.p50_ms = percentile(&latencies, 0.50);
    stats.p90_ms = percentile(&latencies, 0.90);
    stats.p99_ms = percentile(&latencies, 0.99);
    stats.windows = detail
        .into_iter()
        .map(|(i, (mut lat, instances))| {
            lat.sort_by(f64::total_cmp);
            let (count, ok) = windows.get(&i).copied().unwrap_or_default();
            Window {
                start_ms: (i * window_ms) as u64,
                count,
                ok,
                p50_ms: percentile(&lat, 0.50),
                p99_ms: percentile(&lat, 0.99),
                instances,
            }
        })
        .collect();
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

    #[tokio::test]
    async fn any_rate_ends_at_the_deadline_without_panicking() {
        // Nothing listens on port 1: every request fails fast.
        for rate in [1e-19, 0.01, f64::NAN, f64::INFINITY, 1e300] {
            let opts = LoadOptions {
                duration: Duration::from_millis(300),
                rate: Some(rate),
                timeout: Duration::from_millis(100),
                ..LoadOptions::default()
            };
            let started = Instant::now();
            let stats = run(
                HttpClient::new(2),
                "http://127.0.0.1:1/".into(),
                opts,
                CancellationToken::new(),
            )
            .await;
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "rate {rate}: {:?}",
                started.elapsed()
            );
            assert_eq!(stats.ok, 0);
        }
    }

    #[test]
    fn nothing_sent_is_not_a_failure() {
        let s = summarize(&[], Duration::from_millis(10), Duration::from_secs(1));
        assert_eq!((s.count, s.success_rate), (0, 1.0));
    }

    #[test]
    fn reads_instance_and_fallback_from_the_body() {
        let body = br#"{"Fallback":true,"Metadata":{"InstanceId":"i-9"}}"#;
        assert_eq!(served_by(body), (Some("i-9".into()), true));
        assert_eq!(served_by(b"<html>"), (None, false));
    }
}

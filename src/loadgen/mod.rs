//! A bounded load generator: what customers saw during a phase — success rate,
//! status codes, latency percentiles, which instances served them.

mod live;
mod measure;
mod stats;
mod windows;

pub use live::WindowSink;
pub use measure::{is_success, percentile, success_rate};
pub use stats::{LoadStats, Outcome, summarize};
pub use windows::{Window, Windows};

use crate::http::HttpClient;
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
#[derive(Clone)]
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
    /// Told each window's figures once the window is over, while the load runs.
    pub on_window: Option<WindowSink>,
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
            on_window: None,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("duration", &self.duration)
            .field("concurrency", &self.concurrency)
            .field("max_requests", &self.max_requests)
            .field("rate", &self.rate)
            .field("window", &self.window)
            .field("timeout", &self.timeout)
            .field("stop", &self.stop)
            .field("on_window", &self.on_window.is_some())
            .finish()
    }
}

/// Sends load at `url` until the duration, the request budget or `stop` ends it.
pub async fn run(
    client: HttpClient,
    url: String,
    opts: LoadOptions,
    stop: CancellationToken,
) -> LoadStats {
    let started = Instant::now();
    let stop_below = opts.stop.as_ref().map(|c| c.below);
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
    let windows = std::sync::Arc::new(std::sync::Mutex::new(Windows::new(opts.window)));
    let tripped = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let live = opts
        .on_window
        .clone()
        .map(|sink| std::sync::Arc::new(live::Live::new(opts.window, sink)));
    let live_done = CancellationToken::new();
    let reporter = live
        .clone()
        .map(|l| tokio::spawn(l.report(started, live_done.clone())));
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
        let live = live.clone();
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
                            version: version_of(&resp.body),
                        }
                    }
                    Err(_) => Outcome {
                        at,
                        status: 0,
                        latency: sent.elapsed(),
                        instance: None,
                        fallback: false,
                        version: None,
                    },
                };
                if let Some(condition) = &stop_condition {
                    let verdict = judge(&windows, &o, started.elapsed(), condition.below);
                    if let Some(reason) = verdict {
                        let mut t = crate::sync::lock(&tripped);
                        if t.is_none() {
                            *t = Some(reason.clone());
                            (condition.on_trip)(reason);
                        }
                        stop.cancel();
                    }
                }
                if let Some(live) = &live {
                    live.record(&o);
                }
                out.push(o);
            }
            out
        });
    }
    let outcomes: Vec<Outcome> = set.join_all().await.into_iter().flatten().collect();
    live_done.cancel();
    if let Some(reporter) = reporter {
        let _ = reporter.await;
    }
    let mut stats = summarize(&outcomes, started.elapsed(), opts.window);
    stats.stopped_by = crate::sync::lock(&tripped).take();
    stats.stop_below = stop_below;
    stats
}

/// Counts one outcome into its window and judges every window that has
/// ended by `now` (from the load's start): the reason to stop when one fell
/// below `below`.
fn judge(
    windows: &std::sync::Mutex<Windows>,
    o: &Outcome,
    now: Duration,
    below: f64,
) -> Option<String> {
    let mut w = crate::sync::lock(windows);
    w.add_outcome(o);
    // Windows before the current one are complete.
    let now_window = w.index(now);
    let (i, n, good) = w
        .counts()
        .take_while(|(i, _, _)| *i < now_window)
        .filter(|(_, n, _)| *n >= STOP_MIN_REQUESTS)
        .find(|(_, n, good)| success_rate(*good, *n) < below)?;
    let rate = success_rate(good, n);
    let width_ms = w.width_ms();
    Some(format!(
        "stop condition: success rate {rate:.2} < {below} in the window {:.1}–{:.1} s of the load ({good} of {n} requests succeeded)",
        (i * width_ms) as f64 / 1000.0,
        ((i + 1) * width_ms) as f64 / 1000.0
    ))
}

/// Reads the serving instance and the fallback mark from a service answer.
pub fn served_by(body: &[u8]) -> (Option<String>, bool) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => served_by_json(&v),
        Err(_) => (None, false),
    }
}

/// The release that answered (`Metadata.Version`), when the body names one.
pub fn version_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["Metadata"]["Version"].as_str().map(str::to_string))
}

/// Reads the serving instance and the fallback mark from a decoded answer.
pub fn served_by_json(v: &serde_json::Value) -> (Option<String>, bool) {
    (
        v["Metadata"]["InstanceId"].as_str().map(str::to_string),
        v["Fallback"].as_bool().unwrap_or(false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_stop_condition_judges_only_ended_windows_with_enough_requests() {
        let windows = std::sync::Mutex::new(Windows::new(Duration::from_millis(100)));
        let outcome = |at_ms: u64, status: u16| Outcome {
            at: Duration::from_millis(at_ms),
            status,
            latency: Duration::from_millis(1),
            instance: None,
            version: None,
            fallback: false,
        };
        let now = |ms: u64| Duration::from_millis(ms);
        // Window 0: 4 failures — too few requests to judge.
        for at in 0..4 {
            assert_eq!(judge(&windows, &outcome(at, 502), now(150), 0.9), None);
        }
        // Window 1: 5 failures, judged only once it has ended.
        for at in 100..104 {
            assert_eq!(judge(&windows, &outcome(at, 0), now(150), 0.9), None);
        }
        assert_eq!(judge(&windows, &outcome(104, 0), now(199), 0.9), None);
        let reason = judge(&windows, &outcome(200, 200), now(200), 0.9).unwrap();
        assert_eq!(
            reason,
            "stop condition: success rate 0.00 < 0.9 in the window 0.1–0.2 s of the load (0 of 5 requests succeeded)"
        );
    }

    #[test]
    fn reads_instance_and_fallback_from_the_body() {
        let body = br#"{"Fallback":true,"Metadata":{"InstanceId":"i-9"}}"#;
        assert_eq!(served_by(body), (Some("i-9".into()), true));
        assert_eq!(served_by(b"<html>"), (None, false));
    }
}

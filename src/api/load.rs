//! `load::` — bounded load through the load balancer, in the foreground or
//! beside a script's actions, reporting what customers saw.

use crate::api::{fail, lift, session, to_script};
use crate::loadgen::{self, LoadOptions, LoadStats};
use rhai::plugin::*;
use rhai::{Engine, Map};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A load running in the background; `load::stop(run)` ends it and returns stats.
#[derive(Clone)]
pub struct LoadRun {
    stop: CancellationToken,
    handle: Arc<Mutex<Option<JoinHandle<LoadStats>>>>,
}

/// Registers the `LoadRun` type.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<LoadRun>("LoadRun");
}

/// Reads load options from a script map: `duration_ms`, `concurrency`,
/// `requests`, `rate`, `window_ms`, `timeout_ms`.
pub fn options(map: &Map) -> Result<LoadOptions, String> {
    let mut o = LoadOptions::default();
    for (key, value) in map {
        let num = || {
            value
                .as_int()
                .map(|i| i as f64)
                .or_else(|_| value.as_float())
                .ok()
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| format!("load option `{key}` must be a non-negative number"))
        };
        match key.as_str() {
            "duration_ms" => o.duration = Duration::from_millis(num()? as u64),
            "concurrency" => o.concurrency = (num()? as usize).max(1),
            "requests" => o.max_requests = Some(num()? as u64),
            "rate" => o.rate = Some(num()?),
            "window_ms" => o.window = Duration::from_millis((num()? as u64).max(1)),
            "timeout_ms" => o.timeout = Duration::from_millis((num()? as u64).max(1)),
            other => {
                return Err(format!(
                    "unknown load option `{other}` (known: duration_ms, concurrency, requests, rate, window_ms, timeout_ms)"
                ));
            }
        }
    }
    if o.duration > loadgen::MAX_DURATION {
        return Err(format!(
            "load duration is capped at {} s",
            loadgen::MAX_DURATION.as_secs()
        ));
    }
    Ok(o)
}

#[export_module]
pub mod api {
    use super::*;

    /// Sends load through the load balancer and returns what customers saw:
    /// `#{count, ok, success_rate, min_window_success_rate, codes, instances,
    /// fallback, p50_ms, p90_ms, p99_ms, max_ms, duration_ms, rps}`.
    /// Options (all optional): `duration_ms` (5000), `concurrency` (4),
    /// `requests` (stop after this many), `rate` (requests per second),
    /// `window_ms` (1000), `timeout_ms` (10000).
    #[rhai_fn(return_raw, volatile)]
    pub fn run(ctx: NativeCallContext, opts: Map) -> Result<Dynamic, Box<EvalAltResult>> {
        let r = start_load(&ctx, opts)?;
        stop_inner(&ctx, r, false)
    }

    /// Starts load in the background (same options as `load::run`) and returns
    /// a handle for `load::stop`. It ends by itself after `duration_ms`.
    #[rhai_fn(return_raw, volatile)]
    pub fn start(ctx: NativeCallContext, opts: Map) -> Result<LoadRun, Box<EvalAltResult>> {
        start_load(&ctx, opts)
    }

    /// Stops a background load now and returns its stats (see `load::run`).
    #[rhai_fn(return_raw, volatile)]
    pub fn stop(ctx: NativeCallContext, run: LoadRun) -> Result<Dynamic, Box<EvalAltResult>> {
        stop_inner(&ctx, run, true)
    }

    /// Waits for a background load to finish by itself and returns its stats.
    #[rhai_fn(return_raw, volatile)]
    pub fn finish(ctx: NativeCallContext, run: LoadRun) -> Result<Dynamic, Box<EvalAltResult>> {
        stop_inner(&ctx, run, false)
    }
}

fn stop_inner(
    ctx: &NativeCallContext,
    run: LoadRun,
    now: bool,
) -> Result<Dynamic, Box<EvalAltResult>> {
    if now {
        run.stop.cancel();
    }
    let handle = run
        .handle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| fail(ctx, "this load was already stopped"))?;
    let s = session(ctx)?;
    let stopper = run.stop.clone();
    let stats = s.block_on(async move {
        let guard = stopper.drop_guard();
        let stats = handle
            .await
            .map_err(|e| crate::Error::cloud("run", "load generator", e));
        drop(guard);
        stats
    });
    run.stop.cancel();
    to_script(ctx, &lift(ctx, stats)?)
}

fn start_load(ctx: &NativeCallContext, opts: Map) -> Result<LoadRun, Box<EvalAltResult>> {
    let o = options(&opts).map_err(|e| fail(ctx, e))?;
    let s = session(ctx)?;
    let cloud = lift(ctx, s.cloud())?;
    let endpoint = lift(ctx, s.block_on(async move { cloud.endpoint().await }))?;
    let stop = CancellationToken::new();
    let handle = s.runtime().spawn(loadgen::run(
        s.http(),
        format!("{endpoint}/"),
        o,
        stop.clone(),
    ));
    Ok(LoadRun {
        stop,
        handle: Arc::new(Mutex::new(Some(handle))),
    })
}

//! `load::` — bounded load through the load balancer, in the foreground or
//! beside a script's actions, reporting what customers saw.

use crate::api::{fail, lift, session, to_script};
use crate::events::EventKind;
use crate::loadgen::{self, LoadOptions, LoadStats};
use rhai::plugin::*;
use rhai::{Engine, Map};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A load running in the background; `load::stop(run)` ends it and returns stats.
#[derive(Clone)]
pub struct LoadRun {
    id: u64,
    stop: CancellationToken,
    handle: Arc<Mutex<Option<JoinHandle<LoadStats>>>>,
}

/// Numbers loads in the process (events name them by it).
static NEXT_LOAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Registers the `LoadRun` type.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<LoadRun>("LoadRun");
}

/// The most background loads (`load::start`) that may run at once.
pub const MAX_BACKGROUND_LOADS: usize = 8;

/// One load option: its name, its range, and what it sets.
struct Opt {
    key: &'static str,
    min: f64,
    max: f64,
    set: fn(&mut LoadOptions, f64),
}

/// Every load option with its documented range (inclusive).
const OPTIONS: [Opt; 7] = [
    Opt {
        key: "duration_ms",
        min: 0.0,
        max: 600_000.0,
        set: |o, v| o.duration = Duration::from_millis(v as u64),
    },
    Opt {
        key: "concurrency",
        min: 1.0,
        max: 256.0,
        set: |o, v| o.concurrency = v as usize,
    },
    Opt {
        key: "requests",
        min: 1.0,
        max: 10_000_000.0,
        set: |o, v| o.max_requests = Some(v as u64),
    },
    Opt {
        key: "rate",
        min: 0.1,
        max: 100_000.0,
        set: |o, v| o.rate = Some(v),
    },
    Opt {
        key: "window_ms",
        min: 100.0,
        max: 60_000.0,
        set: |o, v| o.window = Duration::from_millis(v as u64),
    },
    Opt {
        key: "timeout_ms",
        min: 1.0,
        max: 60_000.0,
        set: |o, v| o.timeout = Duration::from_millis(v as u64),
    },
    // Read separately (it needs the session); listed for its range.
    Opt {
        key: "stop_below",
        min: 0.0,
        max: 1.0,
        set: |_, _| {},
    },
];

/// Reads load options from a script map (see `load::run` for the keys and
/// their ranges); returns them and the stop condition's threshold, if any.
pub fn options(map: &Map) -> Result<(LoadOptions, Option<f64>), String> {
    let mut o = LoadOptions::default();
    let mut stop_below = None;
    for (key, value) in map {
        let Some(opt) = OPTIONS.iter().find(|opt| opt.key == key.as_str()) else {
            let known: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
            return Err(format!(
                "unknown load option `{key}` (known: {})",
                known.join(", ")
            ));
        };
        let v = value
            .as_int()
            .map(|i| i as f64)
            .or_else(|_| value.as_float())
            .map_err(|_| {
                format!(
                    "load option `{key}` must be a number, not {}",
                    value.type_name()
                )
            })?;
        if !(opt.min..=opt.max).contains(&v) {
            return Err(format!(
                "load option `{key}` is {v}, outside {}..={}",
                opt.min, opt.max
            ));
        }
        if opt.key == "stop_below" {
            stop_below = Some(v);
        } else {
            (opt.set)(&mut o, v);
        }
    }
    Ok((o, stop_below))
}

#[export_module]
pub mod api {
    use super::*;

    /// Sends load through the load balancer and returns what customers saw:
    /// `#{count, ok, success_rate, min_window_success_rate, codes, instances,
    /// fallback, p50_ms, p90_ms, p99_ms, max_ms, duration_ms, rps, stopped_by}`.
    /// Options (all optional, default and range): `duration_ms` (5000,
    /// 0..=600000), `concurrency` (4, 1..=256), `requests` (stop after this
    /// many, 1..=10000000), `rate` (requests per second over all workers,
    /// 0.1..=100000; default as fast as possible), `window_ms` (1000,
    /// 100..=60000), `timeout_ms` (10000, 1..=60000), `stop_below` (a stop
    /// condition, 0.0..=1.0: when a full window of at least 5 requests has a
    /// lower success rate, the load ends and the scenario is stopped, its
    /// faults rolled back).
    #[rhai_fn(return_raw, volatile)]
    pub fn run(ctx: NativeCallContext, opts: Map) -> Result<Dynamic, Box<EvalAltResult>> {
        let r = start_load(&ctx, opts)?;
        stop_inner(&ctx, r, false)
    }

    /// Starts load in the background (same options as `load::run`, including
    /// the `stop_below` stop condition) and returns a handle for `load::stop`.
    /// It ends by itself after `duration_ms`. At most 8 run at once.
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
    let stats = lift(ctx, stats)?;
    let shown = to_script(ctx, &stats);
    s.publish(EventKind::Load {
        load: run.id,
        stats,
    });
    shown
}

fn start_load(ctx: &NativeCallContext, opts: Map) -> Result<LoadRun, Box<EvalAltResult>> {
    let (mut o, stop_below) = options(&opts).map_err(|e| fail(ctx, e))?;
    let s = session(ctx)?;
    let cloud = lift(ctx, s.cloud())?;
    let endpoint = lift(ctx, s.block_on(async move { cloud.endpoint().await }))?;
    if let Some(below) = stop_below {
        let stopping = Arc::downgrade(&s);
        o.stop = Some(loadgen::StopCondition {
            below,
            on_trip: Arc::new(move |reason| {
                if let Some(s) = stopping.upgrade() {
                    s.interrupt().stop(reason);
                }
            }),
        });
    }
    let running = s.loads();
    let claimed = running.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
        (n < MAX_BACKGROUND_LOADS).then_some(n + 1)
    });
    if claimed.is_err() {
        return Err(fail(
            ctx,
            format!(
                "{MAX_BACKGROUND_LOADS} loads are already running: stop one with load::stop first"
            ),
        ));
    }
    let id = NEXT_LOAD.fetch_add(1, Ordering::SeqCst);
    let what = format!("load #{id} through the load balancer");
    let t0 = s.bus().now_ms();
    let publisher = Arc::downgrade(&s);
    let (label, sent) = (what.clone(), Arc::new(std::sync::atomic::AtomicU64::new(0)));
    o.on_window = Some(Arc::new(move |w: loadgen::Window| {
        let Some(s) = publisher.upgrade() else { return };
        let total = sent.fetch_add(w.count, Ordering::SeqCst) + w.count;
        s.publish(EventKind::WaitProgress {
            what: label.clone(),
            state: format!(
                "{total} requests, {:.1} % answered 2xx at {:.1} s, p99 {:.0} ms",
                w.success_rate() * 100.0,
                w.start_ms as f64 / 1000.0,
                w.p99_ms
            ),
        });
        s.publish(EventKind::LoadWindow {
            load: id,
            start_ms: t0 + w.start_ms,
            window: w,
        });
    }));
    s.publish(EventKind::WaitStart { what: what.clone() });
    let ending = Arc::downgrade(&s);
    let stop = CancellationToken::new();
    let load = loadgen::run(s.http(), format!("{endpoint}/"), o, stop.clone());
    let handle = s.runtime().spawn(async move {
        let started = std::time::Instant::now();
        let stats = load.await;
        running.fetch_sub(1, Ordering::SeqCst);
        if let Some(s) = ending.upgrade() {
            s.publish(EventKind::WaitEnd {
                what,
                ok: stats.stopped_by.is_none(),
                ms: started.elapsed().as_millis() as u64,
            });
        }
        stats
    });
    Ok(LoadRun {
        id,
        stop,
        handle: Arc::new(Mutex::new(Some(handle))),
    })
}

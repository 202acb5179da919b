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
pub(crate) struct LoadRun {
    id: u64,
    stop: CancellationToken,
    handle: Arc<Mutex<Option<JoinHandle<LoadStats>>>>,
}

/// Numbers loads in the process (events name them by it).
static NEXT_LOAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Registers the `LoadRun` type.
pub(crate) fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<LoadRun>("LoadRun");
}

/// The most background loads (`load::start`) that may run at once.
pub(crate) const MAX_BACKGROUND_LOADS: usize = 8;

/// One load option: its name, what it means, its default, its range
/// (inclusive) and what it sets. [`OPTIONS`] is the one place these live:
/// the parser reads it, `load::run`'s doc comment is checked against
/// [`describe_options`], and the argument sweep tests its bounds.
#[derive(Debug)]
pub struct LoadOption {
    /// The key in the script's map.
    pub key: &'static str,
    /// What it means.
    pub about: &'static str,
    /// Its default, as the docs say it.
    pub default: &'static str,
    /// The smallest value allowed.
    pub min: f64,
    /// The largest value allowed.
    pub max: f64,
    set: fn(&mut LoadOptions, f64),
}

impl LoadOption {
    /// Its range as the docs and the errors write it, e.g. `1..=256`.
    pub fn range(&self) -> String {
        format!("{}..={}", self.min, self.max)
    }
}

/// Every load option with its range (inclusive).
pub const OPTIONS: [LoadOption; 7] = [
    LoadOption {
        key: "duration_ms",
        about: "how long the load runs",
        default: "5000",
        min: 0.0,
        max: 600_000.0,
        set: |o, v| o.duration = Duration::from_millis(v as u64),
    },
    LoadOption {
        key: "concurrency",
        about: "workers, each with one request at a time",
        default: "4",
        min: 1.0,
        max: 256.0,
        set: |o, v| o.concurrency = v as usize,
    },
    LoadOption {
        key: "requests",
        about: "stop after this many",
        default: "no limit",
        min: 1.0,
        max: 10_000_000.0,
        set: |o, v| o.max_requests = Some(v as u64),
    },
    LoadOption {
        key: "rate",
        about: "requests per second over all workers",
        default: "as fast as possible",
        min: 0.1,
        max: 100_000.0,
        set: |o, v| o.rate = Some(v),
    },
    LoadOption {
        key: "window_ms",
        about: "the width of the success-rate windows",
        default: "the objective's (`slo`), else 1000",
        min: 100.0,
        max: 60_000.0,
        set: |o, v| o.window = Duration::from_millis(v as u64),
    },
    LoadOption {
        key: "timeout_ms",
        about: "how long one request may take",
        default: "10000",
        min: 1.0,
        max: 60_000.0,
        set: |o, v| o.timeout = Duration::from_millis(v as u64),
    },
    // Read separately (it needs the session); listed for its range.
    LoadOption {
        key: "stop_below",
        about: "a stop condition, see below",
        default: "none",
        min: 0.0,
        max: 1.0,
        set: |_, _| {},
    },
];

/// The options as `load::run`'s doc comment lists them: `` `key` (what it
/// means; default D, MIN..=MAX) ``, separated by commas.
#[cfg(test)]
pub(crate) fn describe_options() -> String {
    OPTIONS
        .iter()
        .map(|o| {
            format!(
                "`{}` ({}; default {}, {})",
                o.key,
                o.about,
                o.default,
                o.range()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads load options from a script map (see [`OPTIONS`] for the keys and
/// their ranges); returns them and the stop condition's threshold, if any.
pub(crate) fn options(map: &Map) -> Result<(LoadOptions, Option<f64>), String> {
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
                "load option `{key}` is {v}, outside {}",
                opt.range()
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
    /// versions, fallback, p50_ms, p90_ms, p99_ms, max_ms, duration_ms, rps, stopped_by}`.
    /// Options, all optional: `duration_ms` (how long the load runs;
    /// default 5000, 0..=600000), `concurrency` (workers, each with one
    /// request at a time; default 4, 1..=256), `requests` (stop after this
    /// many; default no limit, 1..=10000000), `rate` (requests per second
    /// over all workers; default as fast as possible, 0.1..=100000),
    /// `window_ms` (the width of the success-rate windows; default the
    /// objective's (`slo`), else 1000, 100..=60000), `timeout_ms` (how long one request may take; default
    /// 10000, 1..=60000), `stop_below` (a stop condition, see below; default
    /// none, 0..=1). The stop condition: when a full window of at least 5
    /// requests has a success rate below `stop_below`, the load ends and the
    /// scenario is stopped, its faults rolled back.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn run(ctx: NativeCallContext, opts: Map) -> Result<Dynamic, Box<EvalAltResult>> {
        let r = start_load(&ctx, opts)?;
        let stats = stop_inner(&ctx, r, false)?;
        halted_here(&ctx)?;
        Ok(stats)
    }

    /// Starts load in the background (same options as `load::run`, including
    /// the `stop_below` stop condition) and returns a handle for `load::stop`.
    /// It ends by itself after `duration_ms`. At most 8 run at once.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn start(ctx: NativeCallContext, opts: Map) -> Result<LoadRun, Box<EvalAltResult>> {
        start_load(&ctx, opts)
    }

    /// Stops a background load now and returns its stats (see `load::run`).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn stop(
        ctx: NativeCallContext,
        run: LoadRun,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        stop_inner(&ctx, run, true)
    }

    /// Waits for a background load to finish by itself and returns its stats.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn finish(
        ctx: NativeCallContext,
        run: LoadRun,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let stats = stop_inner(&ctx, run, false)?;
        halted_here(&ctx)?;
        Ok(stats)
    }
}

/// A stop condition that tripped while the script waited on a load ends
/// the script at that call (its stats are journaled first), not at the next
/// statement.
fn halted_here(ctx: &NativeCallContext) -> Result<(), Box<EvalAltResult>> {
    match session(ctx)?.interrupt().stop_reason() {
        Some(reason) => lift(ctx, Err(crate::Error::Stopped(reason))),
        None => Ok(()),
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
    let handle = crate::sync::lock(&run.handle)
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
    if let Some(objective) = s.objective()
        && !opts.contains_key("window_ms")
    {
        o.window = Duration::from_millis(objective.window_ms);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `load::run`'s doc comment lists the options exactly as the table has them.
    #[test]
    fn the_docs_list_the_options_of_the_table() {
        let mut engine = Engine::new();
        engine.register_static_module("load", rhai::exported_module!(api).into());
        let docs = crate::host::docs::function_docs(&engine);
        let run = docs
            .iter()
            .find(|d| d.qualified_name() == "load::run")
            .expect("load::run is documented");
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let listed = flat(&describe_options());
        assert!(
            flat(&run.doc).contains(&listed),
            "load::run's doc comment must list, as the table says:\n{listed}\n\nit says:\n{}",
            run.doc
        );
    }

    #[test]
    fn each_bound_is_inside_and_just_past_it_is_not() {
        for opt in &OPTIONS {
            for v in [opt.min, opt.max] {
                let map: Map = [(opt.key.into(), v.into())].into_iter().collect();
                assert!(options(&map).is_ok(), "{} = {v}", opt.key);
            }
            for v in [opt.min - 0.05, opt.max + 1.0] {
                let map: Map = [(opt.key.into(), v.into())].into_iter().collect();
                let e = options(&map).unwrap_err();
                assert!(e.contains(&opt.range()), "{} = {v}: {e}", opt.key);
            }
        }
    }
}

//! `slo(#{…})` — the service-level objective a script declares once: what
//! every window of every load must show. It is recorded in the journal, so
//! the run's verdict (`resilient summary`) judges every window and every
//! fault by it, also after the fact.

use rhai::plugin::*;

#[export_module]
pub mod api {
    use crate::api::{fail, session};
    use crate::verdict::Objective;
    use rhai::Map;

    /// Declares the service-level objective every window of every load is
    /// judged on, and returns it (declare it once; a second call replaces
    /// it for the whole run's verdict). Options, all optional: `success_rate` (the
    /// least share of a window's requests answered 2xx; default 0.99,
    /// 0..=1), `p99_ms` (the most a window's p99 latency may be; default
    /// unbounded, 1..=600000), `window_ms` (the windows' width, the default
    /// of later loads' `window_ms`; default 1000, 100..=60000),
    /// `recover_windows` (windows in a row meeting it that make the service
    /// recovered; default 3, 1..=1000), `recover_within_ms` (each fault's
    /// hypothesis: recovered within this much cloud time of the fault;
    /// default before the run ends, 0..=86400000). A hypothesis records a
    /// verdict and never stops the run; a load's `stop_below` is the
    /// guardrail that stops it.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn slo(ctx: NativeCallContext, options: Map) -> Result<Map, Box<EvalAltResult>> {
        let mut numbers = Vec::with_capacity(options.len());
        for (key, value) in &options {
            let v = value
                .as_int()
                .map(|i| i as f64)
                .or_else(|_| value.as_float())
                .map_err(|_| {
                    fail(
                        &ctx,
                        format!(
                            "slo: option `{key}` must be a number, not {}",
                            value.type_name()
                        ),
                    )
                })?;
            numbers.push((key.as_str(), v));
        }
        let objective =
            Objective::from_options(numbers).map_err(|e| fail(&ctx, format!("slo: {e}")))?;
        let s = session(&ctx)?;
        s.set_objective(objective.clone());
        s.publish(crate::events::EventKind::Objective {
            objective: objective.clone(),
        });
        let shown = crate::api::to_script(&ctx, &objective)?;
        Ok(shown.try_cast::<Map>().unwrap_or_default())
    }
}

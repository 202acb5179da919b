//! `check::` — steady-state assertions. Each one is recorded for the run's
//! verdict: a failed check makes `resilient run` exit non-zero.

use rhai::plugin::*;

#[export_module]
pub mod api {
    use super::record;
    use crate::api::session;
    use rhai::Map;

    /// Records that `condition` holds; prints ✔ or ✘ with `name`. Returns `condition`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn that(
        ctx: NativeCallContext,
        name: &str,
        condition: bool,
    ) -> Result<bool, Box<EvalAltResult>> {
        record(
            &ctx,
            name,
            condition,
            if condition { "held" } else { "did not hold" },
        )
    }

    /// Records that `value >= minimum` (a NaN value fails the check; a NaN
    /// minimum is an error). Returns whether it held.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn at_least(
        ctx: NativeCallContext,
        name: &str,
        value: f64,
        minimum: f64,
    ) -> Result<bool, Box<EvalAltResult>> {
        if minimum.is_nan() {
            return Err(crate::api::fail(
                &ctx,
                "check::at_least: the minimum is NaN",
            ));
        }
        let ok = value >= minimum;
        record(&ctx, name, ok, &format!("{value} (at least {minimum})"))
    }

    /// Records that `value <= maximum` (a NaN value fails the check; a NaN
    /// maximum is an error). Returns whether it held.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn at_most(
        ctx: NativeCallContext,
        name: &str,
        value: f64,
        maximum: f64,
    ) -> Result<bool, Box<EvalAltResult>> {
        if maximum.is_nan() {
            return Err(crate::api::fail(&ctx, "check::at_most: the maximum is NaN"));
        }
        let ok = value <= maximum;
        record(&ctx, name, ok, &format!("{value} (at most {maximum})"))
    }

    /// Records that two values are equal. Returns whether they were.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn equal(
        ctx: NativeCallContext,
        name: &str,
        actual: Dynamic,
        expected: Dynamic,
    ) -> Result<bool, Box<EvalAltResult>> {
        let (a, e) = (actual.to_string(), expected.to_string());
        let ok = a == e && actual.type_name() == expected.type_name();
        record(&ctx, name, ok, &format!("{a} (expected {e})"))
    }

    /// The checks so far: `#{passed, failed}`.
    #[rhai_fn(return_raw)]
    pub(crate) fn summary(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let checks = session(&ctx)?.checks().all();
        let passed = checks.iter().filter(|c| c.passed).count() as i64;
        let mut m = Map::new();
        m.insert("passed".into(), passed.into());
        m.insert("failed".into(), (checks.len() as i64 - passed).into());
        Ok(m)
    }
}

fn record(
    ctx: &NativeCallContext,
    name: &str,
    passed: bool,
    detail: &str,
) -> Result<bool, Box<EvalAltResult>> {
    let s = crate::api::session(ctx)?;
    s.publish(crate::events::EventKind::Check {
        name: name.to_string(),
        passed,
        detail: detail.to_string(),
    });
    s.checks().record(crate::api::CheckRecord {
        name: name.to_string(),
        passed,
        detail: detail.to_string(),
        t_ms: s.bus().now_ms(),
    });
    Ok(passed)
}

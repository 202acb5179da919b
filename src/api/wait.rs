//! `wait_until`: wait for observable state instead of sleeping a fixed time.

use rhai::plugin::*;

/// How often a condition is polled.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest `wait_until` may wait: a day.
pub const MAX_TIMEOUT_MS: i64 = 86_400_000;

#[export_module]
pub mod api {
    use super::MAX_TIMEOUT_MS;
    use crate::api::{fail, session};
    use rhai::FnPtr;
    use std::time::{Duration, Instant};

    /// Calls `condition` every 100 ms until it returns something other than
    /// `false` or `()`, and returns that value; fails after `timeout_ms`
    /// (0 to 86400000, a day).
    ///
    /// ```rhai
    /// wait_until(|| inspect::targets().all(|t| t.state == "healthy"), 30_000);
    /// ```
    #[rhai_fn(return_raw, volatile)]
    pub fn wait_until(
        ctx: NativeCallContext,
        condition: FnPtr,
        timeout_ms: i64,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        if !(0..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(fail(
                &ctx,
                format!("wait_until: timeout {timeout_ms} ms is outside 0..={MAX_TIMEOUT_MS}"),
            ));
        }
        let timeout = Duration::from_millis(timeout_ms as u64);
        let started = Instant::now();
        let line = ctx.call_position().line().unwrap_or(0);
        let waiting = crate::events::Waiting::start(s.bus(), format!("wait_until (line {line})"));
        loop {
            let value: Dynamic = match condition.call_within_context(&ctx, ()) {
                Ok(v) => v,
                Err(e) => {
                    waiting.end(false);
                    return Err(e);
                }
            };
            let done = match value.as_bool() {
                Ok(b) => b,
                Err(_) => !value.is_unit(),
            };
            if done {
                waiting.end(true);
                return Ok(value);
            }
            if started.elapsed() >= timeout {
                waiting.end(false);
                return Err(fail(
                    &ctx,
                    crate::Error::Timeout {
                        what: "the condition given to wait_until".into(),
                        waited_ms: timeout.as_millis() as u64,
                    },
                ));
            }
            if let Err(e) = s.sleep(super::POLL) {
                waiting.end(false);
                return Err(fail(&ctx, e));
            }
        }
    }

    /// `wait_until(condition, 30_000)`: waits up to 30 s.
    #[rhai_fn(name = "wait_until", return_raw, volatile)]
    pub fn wait_until_default(
        ctx: NativeCallContext,
        condition: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        wait_until(ctx, condition, 30_000)
    }
}

//! `wait_until`: wait for observable state instead of sleeping a fixed time.

use rhai::plugin::*;

/// The longest `wait_until` may wait: a day.
pub(crate) const MAX_TIMEOUT_MS: i64 = 86_400_000;

#[export_module]
pub mod api {
    use super::MAX_TIMEOUT_MS;
    use crate::api::{fail, lift, session};
    use rhai::FnPtr;
    use std::time::{Duration, Instant};

    /// Calls `condition` until it returns something other than `false` or
    /// `()`, and returns that value; fails after `timeout_ms` (0 to
    /// 86400000, a day) of cloud time: size it for AWS (a replacement
    /// instance takes minutes there); the local cloud runs it scaled by its
    /// time scale (at the default 0.05, 600000 ms of cloud time is 30 s).
    /// It looks every 100 ms on the local cloud and every second on AWS,
    /// whose API quotas are shared by the whole account.
    ///
    /// ```rhai
    /// wait_until(|| inspect::targets().all(|t| t.state == "healthy"), 30_000);
    /// ```
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn wait_until(
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
        let timeout = s.settings().wall(Duration::from_millis(timeout_ms as u64));
        // How often to look is the cloud's to say (on AWS, less often);
        // before a deploy there is no cloud to ask: the local pace.
        let poll = s
            .cloud_if_created()
            .map_or(crate::cloud::local::POLL_INTERVAL, |c| c.poll_interval());
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
                        what: format!(
                            "the condition given to wait_until ({timeout_ms} ms of cloud time)"
                        ),
                        waited_ms: timeout.as_millis() as u64,
                    },
                ));
            }
            // Only Ctrl-C or a stop condition ends a sleep early: a halt.
            if let Err(e) = lift(&ctx, s.sleep(poll)) {
                waiting.end(false);
                return Err(e);
            }
        }
    }

    /// `wait_until(condition, 30_000)`: waits up to 30 s of cloud time.
    #[rhai_fn(name = "wait_until", return_raw, volatile)]
    pub(crate) fn wait_until_default(
        ctx: NativeCallContext,
        condition: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        wait_until(ctx, condition, 30_000)
    }
}

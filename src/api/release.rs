//! The script functions of releases and rolling updates, in the `deploy::`
//! namespace beside the deploy's own (`deploy::new_version`,
//! `deploy::roll_out`, `deploy::wait_roll_out`, `deploy::cancel_roll_out`,
//! `deploy::roll_back`); the work they share is in [`super::rollout`].

use rhai::plugin::*;

#[export_module]
pub(crate) mod api {
    use crate::api::{fail, lift, session, with_cloud};
    use rhai::{Array, Map};
    use std::time::Duration;

    /// Creates a new launch template version, a release the group runs once
    /// it is rolled out (`deploy::roll_out`), and returns its number (the
    /// deploy's version is 1). Options, all optional: `label` (what its
    /// answers carry in `Metadata.Version`; default `v<number>`; 1 to 32
    /// letters, digits, `.`, `_` or `-`), `broken` (how the release is
    /// broken: `"none"` (default), `"deep_check"` (its deep health check
    /// answers 503), `"error_500"` (requests answer 500 and the deep check
    /// 503; a shallow check passes), `"crash_at_boot"` (the server never
    /// starts), `"slow_start"` (it starts 120 s late)). On AWS the version's
    /// user data tells the server its label and break.
    ///
    /// ```rhai
    /// let v2 = deploy::new_version(#{ label: "v2" });
    /// ```
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn new_version(
        ctx: NativeCallContext,
        opts: Map,
    ) -> Result<i64, Box<EvalAltResult>> {
        let number = with_cloud(&ctx, |c| async move {
            let next = c.versions().await?.all.len() as u32 + 1;
            let release = crate::api::rollout::release(&opts, next)?;
            c.create_version(&release).await
        })?;
        Ok(i64::from(number))
    }

    /// Starts a rolling update: an instance refresh replaces every instance
    /// of the group with ones of the new version, in batches, as EC2 Auto
    /// Scaling's `StartInstanceRefresh` does; returns the refresh's id at
    /// once (`deploy::wait_roll_out` waits for its end, `inspect::roll_out`
    /// shows it). Options, all optional: `version` (default the latest),
    /// `min_healthy_percentage` (of the desired capacity that must stay
    /// healthy; default 90, 0..=100; 100 without a maximum replaces one at a
    /// time), `max_healthy_percentage` (how far above the desired capacity
    /// the group may grow, launching new instances before it terminates old
    /// ones; default none, 100..=200, at most 100 above the minimum),
    /// `warmup_s` (cloud seconds a new healthy instance warms up before the
    /// next batch; default 300, 0..=3600), `checkpoints` (percentages at
    /// which it pauses, ascending), `checkpoint_delay_s` (the pause;
    /// default 3600), `auto_rollback` (go back to the previous version when
    /// the refresh fails; default false). A new instance must pass the
    /// group's health checks: with `failure::group_health_check("ELB", …)`
    /// that is the load balancer's. Rolling out a broken version is a fault:
    /// a run that ends badly rolls it back.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn roll_out(
        ctx: NativeCallContext,
        opts: Map,
    ) -> Result<String, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let (version, prefs) = lift(&ctx, crate::api::rollout::preferences(&opts))?;
        let cloud = lift(&ctx, s.cloud())?;
        let versions = lift(&ctx, s.block_on(cloud.versions()))?;
        let number = version.unwrap_or_else(|| versions.all.last().map_or(1, |v| v.number));
        if let Some(what) = crate::api::rollout::fault(number, versions.release(number)) {
            s.ledger().record(what.clone());
            s.publish(crate::events::EventKind::Fault {
                what,
                undo: crate::events::Undo::rollback(),
                change: false,
            });
        }
        let id = lift(&ctx, s.block_on(cloud.start_refresh(number, &prefs)))?;
        s.set_refresh_started(&id);
        // On AWS a refresh may not be listed at once: the previous one
        // would be shown instead.
        if let Ok(Some(r)) = s.block_on(cloud.refresh())
            && r.id == id
        {
            s.publish(crate::api::rollout::event(&r));
        }
        Ok(id)
    }

    /// Waits until the instance refresh ends (`Successful`, `Failed`,
    /// `Cancelled`, `RollbackSuccessful`, …), at most `timeout_ms` of cloud
    /// time (size it for AWS: each batch takes minutes there; the local
    /// cloud scales it). Looks at the refresh and the targets at every poll
    /// and returns `inspect::roll_out()`'s map plus what it saw:
    /// `min_healthy_targets` (the fewest healthy targets), `max_instances`
    /// (the most instances the group had), `max_percentage_complete` (the
    /// highest before any rollback) and `statuses` (every status in order).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn wait_roll_out(
        ctx: NativeCallContext,
        timeout_ms: i64,
    ) -> Result<Map, Box<EvalAltResult>> {
        if !(0..=crate::api::wait::MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(fail(
                &ctx,
                format!(
                    "deploy::wait_roll_out: timeout {timeout_ms} ms is outside 0..={}",
                    crate::api::wait::MAX_TIMEOUT_MS
                ),
            ));
        }
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let timeout = s.settings().wall(Duration::from_millis(timeout_ms as u64));
        let seen = lift(
            &ctx,
            s.block_on(crate::api::rollout::watch(
                cloud.as_ref(),
                timeout,
                s.bus(),
                s.refresh_started(),
            )),
        )?;
        let mut m = crate::api::rollout::view_map(&seen.end);
        m.insert(
            "min_healthy_targets".into(),
            (seen.min_healthy_targets as i64).into(),
        );
        m.insert("max_instances".into(), (seen.max_instances as i64).into());
        m.insert(
            "max_percentage_complete".into(),
            i64::from(seen.max_percentage).into(),
        );
        m.insert(
            "statuses".into(),
            seen.statuses
                .into_iter()
                .map(Dynamic::from)
                .collect::<Array>()
                .into(),
        );
        Ok(m)
    }

    /// Cancels the instance refresh in progress (`CancelInstanceRefresh`):
    /// instances replaced so far stay. Returns its id; an error when none
    /// is in progress (`ActiveInstanceRefreshNotFound`).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn cancel_roll_out(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.cancel_refresh().await })
    }

    /// Rolls the instance refresh in progress back to the previous version
    /// (`RollbackInstanceRefresh`). Returns its id; an error when none is in
    /// progress (`ActiveInstanceRefreshNotFound`).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn roll_back(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.rollback_refresh().await })
    }
}

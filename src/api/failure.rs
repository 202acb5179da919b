//! `failure::` — break the service in realistic ways, and repair it.
//!
//! Every fault a script injects is recorded in the session; a run that fails,
//! is interrupted, stopped by a stop condition, or ends without
//! `failure::reset()` has them rolled back (see
//! [`revert_all`](crate::session::rollback::revert_all)).
//!
//! Instances read the parameters at most once per
//! [`Cloud::parameter_max_age`], so every parameter change made here returns
//! only once it has reached every instance: a script's next request sees it.

use crate::cloud::Cloud;
use crate::error::Result;
use rhai::plugin::*;

/// Sets one parameter, and returns once every instance uses the new value.
async fn set(c: &dyn Cloud, parameter: crate::cloud::Parameter, value: &str) -> Result<()> {
    c.set_parameter(parameter, value).await?;
    crate::cloud::parameters_settled(c).await;
    Ok(())
}

/// Runs a fault-injecting call, recording the fault first (so even a call
/// that fails half-way is rolled back).
fn inject<F, Fut>(ctx: &NativeCallContext, what: String, f: F) -> Result<(), Box<EvalAltResult>>
where
    F: FnOnce(std::sync::Arc<dyn Cloud>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    record(ctx, what, false, f)
}

/// Runs a call that changes the service's settings (a fallback, a
/// health-check mode): recorded and rolled back as a fault is, but journaled
/// as a change, which the verdict does not measure as a fault.
fn change<F, Fut>(ctx: &NativeCallContext, what: String, f: F) -> Result<(), Box<EvalAltResult>>
where
    F: FnOnce(std::sync::Arc<dyn Cloud>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    record(ctx, what, true, f)
}

fn record<F, Fut>(
    ctx: &NativeCallContext,
    what: String,
    change: bool,
    f: F,
) -> Result<(), Box<EvalAltResult>>
where
    F: FnOnce(std::sync::Arc<dyn Cloud>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let s = crate::api::session(ctx)?;
    s.ledger().record(what.clone());
    s.publish(crate::events::EventKind::Fault {
        what,
        undo: crate::events::Undo::rollback(),
        change,
    });
    crate::api::with_cloud(ctx, f)
}

#[export_module]
pub mod api {
    use super::{change, inject, set, set_fault};
    use crate::api::{fail, session, with_cloud};
    use crate::cloud::Parameter;
    use crate::service::defaults;

    /// Points the table parameter at a table that does not exist: every read of
    /// the dependency fails.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn bad_table(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        inject(
            &ctx,
            "table parameter points at a missing table".into(),
            |c| async move {
                let wrong = format!("{}-no-such-table", c.names().prefix);
                set(c.as_ref(), Parameter::Table, &wrong).await
            },
        )
    }

    /// Points the table parameter back at the real table.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn restore_table(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move {
            let table = c.names().table.clone();
            set(c.as_ref(), Parameter::Table, &table).await
        })
    }

    /// `true`: when the table cannot be read, answer 200 with a static fallback
    /// recommendation; `false`: fail the request (the load balancer answers 502).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn static_response(
        ctx: NativeCallContext,
        on: bool,
    ) -> Result<(), Box<EvalAltResult>> {
        let value = if on {
            "static"
        } else {
            defaults::FAILURE_RESPONSE
        };
        change(&ctx, format!("failure response {value}"), |c| async move {
            set(c.as_ref(), Parameter::FailureResponse, value).await
        })
    }

    /// `"deep"`: instances report healthy only if they can read the table;
    /// `"shallow"`: always healthy; `"tolerant"`: a deep check that
    /// tolerates an outage of the shared dependency — unhealthy only when
    /// the instance itself may not read the table (access denied, failing
    /// credentials), healthy and `degraded` when the table fails for
    /// everyone (missing, throttled, erroring), so the load balancer keeps
    /// routing and the static fallback answers.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn health_check(
        ctx: NativeCallContext,
        kind: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let kind = kind.to_ascii_lowercase();
        if !["deep", "shallow", "tolerant"].contains(&kind.as_str()) {
            return Err(fail(
                &ctx,
                format!(
                    "failure::health_check: expected \"deep\", \"shallow\" or \"tolerant\", got \"{kind}\""
                ),
            ));
        }
        change(&ctx, format!("{kind} health checks"), |c| async move {
            set(c.as_ref(), Parameter::HealthCheck, &kind).await
        })
    }

    /// Gives the instance the bad-credentials profile (may read the parameters
    /// but not the table) and reboots it so it picks the credentials up.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn bad_credentials(
        ctx: NativeCallContext,
        instance_id: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let id = instance_id.to_string();
        inject(&ctx, format!("bad credentials on {id}"), |c| async move {
            let profile = c.names().bc_profile.clone();
            c.replace_instance_profile(&id, &profile).await?;
            c.reboot_instance(&id).await
        })
    }

    /// Reboots the instance: its server is down for a while, then comes back.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn reboot(
        ctx: NativeCallContext,
        instance_id: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let id = instance_id.to_string();
        session(&ctx)?.publish(crate::events::EventKind::Fault {
            what: format!("reboot {id}"),
            undo: crate::events::Undo::NOTHING.into(),
            change: false,
        });
        with_cloud(&ctx, |c| async move { c.reboot_instance(&id).await })
    }

    /// Terminates the instance without lowering the group's desired capacity:
    /// the group launches a replacement.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn terminate(
        ctx: NativeCallContext,
        instance_id: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let id = instance_id.to_string();
        session(&ctx)?.publish(crate::events::EventKind::Fault {
            what: format!("terminate {id}"),
            undo: crate::events::Undo::NOTHING.into(),
            change: false,
        });
        with_cloud(
            &ctx,
            |c| async move { c.terminate_instance(&id, false).await },
        )
    }

    /// Takes a whole Availability Zone out: its instances become unreachable and
    /// the group launches replacements in the other zones.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn az_outage(ctx: NativeCallContext, az: &str) -> Result<(), Box<EvalAltResult>> {
        let az = az.to_string();
        inject(&ctx, format!("zone {az} out"), |c| async move {
            c.az_outage(&az).await
        })
    }

    /// Crashes the service process on one instance, once: it drops the
    /// request it is answering and its supervisor (systemd `Restart=always`
    /// on AWS) starts it again after 2 s. Unlike a reboot the instance stays
    /// up, and the process is back before the load balancer may notice.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn crash(
        ctx: NativeCallContext,
        instance_id: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let id = instance_id.to_string();
        session(&ctx)?.publish(crate::events::EventKind::Fault {
            what: format!("the service on {id} crashes"),
            undo: crate::events::Undo::NOTHING.into(),
            change: false,
        });
        with_cloud(&ctx, |c| async move {
            super::member(c.as_ref(), &id).await?;
            let token = format!("{:016x}", fastrand::u64(..));
            super::change_faults(c.as_ref(), |f| {
                f.crash.insert(id, token);
            })
            .await
        })
    }

    /// Makes the service on one instance hang: it keeps its port open and
    /// accepts connections but never answers, so health checks time out
    /// (`Target.Timeout`) and requests wait for the load balancer's timeout
    /// (504). `failure::reset()` ends it, and requests still waiting are
    /// then answered.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn hang(
        ctx: NativeCallContext,
        instance_id: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let id = instance_id.to_string();
        inject(&ctx, format!("the service on {id} hangs"), |c| async move {
            super::member(c.as_ref(), &id).await?;
            super::change_faults(c.as_ref(), |f| {
                f.hang.insert(id);
            })
            .await
        })
    }

    /// How the Auto Scaling group judges instance health: `"EC2"` (status
    /// checks only, the default) or `"ELB"` (also the load balancer's health
    /// checks: the group replaces instances the target group finds unhealthy,
    /// with no script terminating them). A repair, not a fault: `reset()`
    /// leaves it. The grace period after launch is the least there is (with
    /// `"ELB"`: 300 s, see the two-argument form). Returns the grace applied.
    #[rhai_fn(name = "group_health_check", return_raw, volatile)]
    pub(crate) fn group_health_check(
        ctx: NativeCallContext,
        kind: &str,
    ) -> Result<i64, Box<EvalAltResult>> {
        group_health_check_with_grace(ctx, kind, 0)
    }

    /// `group_health_check(kind, grace_s)`: as above, with a grace period of
    /// `grace_s` seconds (0 to 7200, cloud time) after launch before ELB
    /// health checks count. Returns the grace applied: `"ELB"` gets at least
    /// 300 s on both backends, because an instance fails its checks while it
    /// boots and installs its server (one to three minutes on EC2, 60 s of
    /// cloud time locally); with less, the group would terminate every
    /// replacement before it serves, forever.
    #[rhai_fn(name = "group_health_check", return_raw, volatile)]
    pub(crate) fn group_health_check_with_grace(
        ctx: NativeCallContext,
        kind: &str,
        grace_s: i64,
    ) -> Result<i64, Box<EvalAltResult>> {
        let kind: crate::cloud::HealthCheckType = kind
            .parse()
            .map_err(|e| fail(&ctx, format!("failure::group_health_check: {e}")))?;
        if !(0..=7200).contains(&grace_s) {
            return Err(fail(
                &ctx,
                format!("failure::group_health_check: grace {grace_s} s is outside 0..=7200"),
            ));
        }
        let grace = kind.grace(grace_s as u64);
        with_cloud(&ctx, |c| async move {
            c.set_group_health_check(kind, grace).await?;
            Ok(i64::try_from(grace).unwrap_or(i64::MAX))
        })
    }

    /// Adds this much latency (0 to 60000 ms) to every read of the table, on
    /// every instance (the fault parameter; in effect everywhere once this
    /// returns).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn latency(ctx: NativeCallContext, ms: i64) -> Result<(), Box<EvalAltResult>> {
        if !(0..=60_000).contains(&ms) {
            return Err(fail(
                &ctx,
                format!("failure::latency: {ms} ms is outside 0..=60000"),
            ));
        }
        set_fault(ctx, format!("{ms} ms dependency latency"), move |f| {
            f.latency_ms = ms as u64
        })
    }

    /// Makes this fraction (0.0 to 1.0) of table reads fail, on every
    /// instance (the fault parameter; in effect everywhere once this
    /// returns).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn error_rate(
        ctx: NativeCallContext,
        fraction: f64,
    ) -> Result<(), Box<EvalAltResult>> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(fail(
                &ctx,
                format!("failure::error_rate: {fraction} is outside 0.0..=1.0"),
            ));
        }
        set_fault(ctx, format!("{fraction} dependency error rate"), move |f| {
            f.error_rate = fraction
        })
    }

    /// Makes the table throttle this fraction (0.0 to 1.0) of reads, on
    /// every instance: they fail with `ProvisionedThroughputExceededException`
    /// (as reads beyond a table's capacity do once the SDK's retries are
    /// spent). Without the static fallback those requests fail (502); deep
    /// health checks fail too, tolerant ones do not.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn throttle(
        ctx: NativeCallContext,
        fraction: f64,
    ) -> Result<(), Box<EvalAltResult>> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(fail(
                &ctx,
                format!("failure::throttle: {fraction} is outside 0.0..=1.0"),
            ));
        }
        set_fault(
            ctx,
            format!("{fraction} of table reads throttled"),
            move |f| f.throttle_rate = fraction,
        )
    }

    /// Makes one instance's health check flap: 200 for `healthy_ms` of
    /// cloud time, then 503 for `unhealthy_ms`, and so on (each 1000 to
    /// 3600000), while its requests are answered as usual. With the target
    /// group's 10 s interval and thresholds of 2: failing spells shorter
    /// than one interval, between healthy ones of at least one, never fail
    /// two checks in a row, so the target never leaves service; failing
    /// spells of at least two intervals always take it out, and healthy
    /// ones of at least two bring it back. `flap(id, 0, 0)` stops it.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn flap(
        ctx: NativeCallContext,
        instance_id: &str,
        healthy_ms: i64,
        unhealthy_ms: i64,
    ) -> Result<(), Box<EvalAltResult>> {
        let stop = healthy_ms == 0 && unhealthy_ms == 0;
        let range = 1000..=3_600_000;
        let valid = range.contains(&healthy_ms) && range.contains(&unhealthy_ms);
        if !stop && !valid {
            return Err(fail(
                &ctx,
                format!(
                    "failure::flap: spells of {healthy_ms} and {unhealthy_ms} ms: each must be in 1000..=3600000 (0 and 0 stop it)"
                ),
            ));
        }
        let id = instance_id.to_string();
        let change = move |c: std::sync::Arc<dyn crate::cloud::Cloud>| async move {
            super::member(c.as_ref(), &id).await?;
            super::change_faults(c.as_ref(), |f| {
                if stop {
                    f.flap.remove(&id);
                } else {
                    f.flap.insert(id, [healthy_ms as u64, unhealthy_ms as u64]);
                }
            })
            .await
        };
        if stop {
            // A repair, not a fault: nothing to record or roll back.
            with_cloud(&ctx, change)
        } else {
            let what = format!(
                "the health check of {instance_id} flaps: {healthy_ms} ms healthy, {unhealthy_ms} ms unhealthy"
            );
            inject(&ctx, what, change)
        }
    }

    /// `true`: Parameter Store becomes unavailable to the instances — every
    /// read of the parameters fails (`InternalServerError`), so a running
    /// server keeps its last good values, and one that starts meanwhile (a
    /// reboot, a replacement) has none and answers every request, health
    /// checks too, with 503 `parameters unavailable`. `false` ends it.
    /// (Scripts still change parameters: the control plane stays up.)
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn parameter_store_outage(
        ctx: NativeCallContext,
        on: bool,
    ) -> Result<(), Box<EvalAltResult>> {
        let change = move |c: std::sync::Arc<dyn crate::cloud::Cloud>| async move {
            super::change_faults(c.as_ref(), |f| f.parameter_store_down = on).await
        };
        if on {
            inject(&ctx, "Parameter Store unavailable".into(), change)
        } else {
            with_cloud(&ctx, change)
        }
    }

    /// Takes the capacity out of one Availability Zone: every launch there
    /// fails with `InsufficientInstanceCapacity`, and the group launches in
    /// the other zones instead; `inspect::activities()` shows the failed
    /// launches and why. The local cloud only (AWS cannot be told to run
    /// out of capacity: there it is an error). `reset()` gives it back.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn insufficient_capacity(
        ctx: NativeCallContext,
        az: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        let az = az.to_string();
        inject(&ctx, format!("no capacity in {az}"), |c| async move {
            c.zone_capacity(&az, false).await
        })
    }

    /// Reverts every injected failure: parameters back to healthy values, no
    /// dependency latency or errors, every zone back, good credentials (with a
    /// reboot) on any instance that had bad ones.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn reset(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let started = with_cloud(&ctx, |c| async move {
            crate::session::rollback::revert_all(c.as_ref()).await
        })?;
        if let Some(id) = started {
            s.set_refresh_started(&id);
        }
        s.ledger().clear();
        s.publish(crate::events::EventKind::Reset);
        Ok(())
    }
}

/// Changes the faults: reads the fault parameter, changes it, and writes it
/// back (the cloud holds the only copy); returns once instances use it.
async fn change_faults(
    c: &dyn Cloud,
    change: impl FnOnce(&mut crate::cloud::Faults),
) -> Result<()> {
    let mut faults = c.parameters().await?.fault;
    change(&mut faults);
    set(c, crate::cloud::Parameter::Fault, &faults.to_json()).await
}

/// Fails unless `id` is one of the group's instances.
async fn member(c: &dyn Cloud, id: &str) -> Result<()> {
    if c.instances().await?.iter().any(|i| i.id == id) {
        Ok(())
    } else {
        Err(crate::Error::UnknownInstance { id: id.to_string() })
    }
}

/// Changes the dependency fault, recording it.
fn set_fault(
    ctx: NativeCallContext,
    what: String,
    change: impl FnOnce(&mut crate::cloud::DependencyFault) + Send + 'static,
) -> Result<(), Box<EvalAltResult>> {
    inject(&ctx, what, |c| async move {
        change_faults(c.as_ref(), |f| change(&mut f.dependency)).await
    })
}

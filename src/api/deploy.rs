//! `deploy::` — create the service, step by step or all at once.

use crate::cloud::{Cloud, ParameterValues};
use crate::error::{Error, Result};
use crate::events::{Bus, EventKind, Waiting};
use crate::http::HttpClient;
use rhai::plugin::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs one deploy step and reports it done with its duration.
async fn timed<T>(
    bus: &Bus,
    what: String,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let out = fut.await?;
    bus.publish(EventKind::Step {
        what,
        ms: started.elapsed().as_millis() as u64,
    });
    Ok(out)
}

/// [`timed`], as a wait too: a spinner at a terminal while it runs (on AWS a
/// step can take minutes, e.g. the load balancer becoming active).
async fn awaited<T>(
    bus: &Bus,
    what: String,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let waiting = Waiting::start(bus, what.clone());
    let out = timed(bus, what, fut).await;
    waiting.end(out.is_ok());
    out
}

/// Deploys everything, independent steps concurrently, and waits until the
/// service answers through the load balancer (on AWS: until every instance is
/// a healthy target, then one short probe of the endpoint). Returns the
/// endpoint and whether it answers from here.
pub async fn all(
    cloud: Arc<dyn Cloud>,
    http: HttpClient,
    timeout: Duration,
    bus: &Bus,
) -> Result<(String, bool)> {
    // Before anything is created: what would stop the deploy half-way.
    preflight(cloud.as_ref(), bus).await?;
    let n = cloud.names().clone();
    let params = ParameterValues::healthy(cloud.names());
    let (table, profile, parameters) = tokio::join!(
        awaited(bus, format!("table {}", n.table), cloud.create_table()),
        awaited(
            bus,
            format!("instance profiles {} and {}", n.profile, n.bc_profile),
            cloud.create_instance_profile()
        ),
        awaited(bus, "parameters".to_string(), async {
            cloud.put_parameters(&params).await?;
            // Instances of an earlier deploy may still use other values.
            crate::cloud::parameters_settled(cloud.as_ref()).await;
            Ok(())
        }),
    );
    table?;
    parameters?;
    profile?;
    awaited(
        bus,
        format!("launch template {}", n.launch_template),
        cloud.create_launch_template(),
    )
    .await?;
    let (group, lb) = tokio::join!(
        awaited(
            bus,
            format!("auto scaling group {}", n.group),
            cloud.create_auto_scaling_group()
        ),
        awaited(
            bus,
            format!(
                "load balancer {} with target group {}",
                n.load_balancer, n.target_group
            ),
            cloud.create_load_balancer()
        ),
    );
    group?;
    let endpoint = lb?;
    if cloud.endpoint_needs_open_port() {
        // The endpoint may not be reachable from here until port 80 is opened
        // (deploy::open_port), so wait for the targets only.
        timed(
            bus,
            "every instance is a healthy target".to_string(),
            wait_targets(cloud.clone(), timeout, bus),
        )
        .await?;
        let reachable = http
            .get(&format!("{endpoint}/"), Duration::from_secs(5))
            .await
            .is_ok();
        return Ok((endpoint, reachable));
    }
    timed(
        bus,
        format!("service ready at {endpoint}"),
        wait_ready(cloud.clone(), http, timeout, bus),
    )
    .await?;
    Ok((endpoint, true))
}

/// Runs the cloud's preflight (the local cloud's passes at once, silently):
/// an error when a check fails, with nothing created; a check that could not
/// be made is said as a warning, and the deploy goes on.
pub(crate) async fn preflight(cloud: &dyn Cloud, bus: &Bus) -> Result<()> {
    let started = Instant::now();
    let report = cloud.preflight().await?;
    if report.checks.is_empty() {
        return Ok(());
    }
    for check in report.skipped() {
        bus.publish(EventKind::Text {
            style: crate::events::Style::Warn,
            text: format!("preflight: {}", check.detail),
        });
    }
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    let what = format!("preflight: {}", names.join(", "));
    report.into_result()?;
    bus.publish(EventKind::Step {
        what,
        ms: started.elapsed().as_millis() as u64,
    });
    Ok(())
}

/// `None` when the group has its desired capacity of healthy targets (and
/// wants at least one), else what is still missing, in words: with the
/// group's latest failed launch when there is one (a zone without capacity,
/// a vCPU quota, a service-linked role not ready yet), so a wait that cannot
/// end says why.
async fn targets_pending(cloud: &dyn Cloud) -> Result<Option<String>> {
    let (capacity, targets) = tokio::join!(cloud.capacity(), cloud.targets());
    let healthy = targets?
        .iter()
        .filter(|t| t.state == crate::cloud::TargetState::Healthy)
        .count();
    Ok(missing(healthy, capacity?))
}

/// What keeps `healthy` targets from being the group's capacity, in words.
fn missing(healthy: usize, capacity: crate::cloud::Capacity) -> Option<String> {
    let desired = capacity.desired;
    if desired > 0 && healthy >= desired {
        return None;
    }
    let mut missing = format!("{healthy} of {desired} instances are healthy targets");
    if let Some(why) = capacity.launch_failure {
        missing.push_str(&format!("; the group's latest launch failed: {why}"));
    }
    Some(missing)
}

/// Waits until the group's desired capacity of instances are healthy targets.
pub(crate) async fn wait_targets(
    cloud: Arc<dyn Cloud>,
    timeout: Duration,
    bus: &Bus,
) -> Result<()> {
    let started = Instant::now();
    let mut waiting = Waiting::start(bus, "every instance to be a healthy target");
    loop {
        let missing = match targets_pending(cloud.as_ref()).await {
            Ok(None) => {
                waiting.end(true);
                return Ok(());
            }
            Ok(Some(missing)) => missing,
            Err(e) => {
                waiting.end(false);
                return Err(e);
            }
        };
        waiting.state(&missing);
        if started.elapsed() >= timeout {
            waiting.end(false);
            return Err(Error::Timeout {
                what: format!("the targets to be healthy ({missing})"),
                waited_ms: timeout.as_millis() as u64,
            });
        }
        tokio::time::sleep(cloud.poll_interval()).await;
    }
}

/// Waits until the group's desired capacity of instances are healthy targets
/// and the endpoint answers `GET /` with 200.
pub(crate) async fn wait_ready(
    cloud: Arc<dyn Cloud>,
    http: HttpClient,
    timeout: Duration,
    bus: &Bus,
) -> Result<()> {
    let started = Instant::now();
    let endpoint = cloud.endpoint().await?;
    let mut waiting = Waiting::start(bus, format!("the service at {endpoint} to be ready"));
    loop {
        let pending = match targets_pending(cloud.as_ref()).await {
            Ok(p) => p,
            Err(e) => {
                waiting.end(false);
                return Err(e);
            }
        };
        let last = match pending {
            Some(missing) => missing,
            None => match http
                .get(&format!("{endpoint}/"), Duration::from_secs(5))
                .await
            {
                Ok(r) if r.status == 200 => {
                    waiting.end(true);
                    return Ok(());
                }
                Ok(r) => format!("the endpoint answered {}", r.status),
                Err(e) => format!("the endpoint did not answer: {e}"),
            },
        };
        waiting.state(&last);
        if started.elapsed() >= timeout {
            waiting.end(false);
            return Err(Error::Timeout {
                what: format!("the service to be ready ({last})"),
                waited_ms: timeout.as_millis() as u64,
            });
        }
        tokio::time::sleep(cloud.poll_interval()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Capacity;

    #[test]
    fn readiness_counts_against_the_desired_capacity_and_says_why_it_is_short() {
        let want = |desired, launch_failure: Option<&str>| Capacity {
            desired,
            launch_failure: launch_failure.map(str::to_string),
        };
        assert_eq!(missing(3, want(3, None)), None);
        // One instance running and healthy is not ready when three are wanted.
        assert_eq!(
            missing(1, want(3, None)).as_deref(),
            Some("1 of 3 instances are healthy targets")
        );
        let quota = "Launching a new EC2 instance failed: You have requested more vCPU capacity than your current vCPU limit of 2 allows";
        let short = missing(1, want(3, Some(quota))).unwrap();
        assert!(
            short.starts_with(
                "1 of 3 instances are healthy targets; the group's latest launch failed: Launching"
            ),
            "{short}"
        );
        assert!(short.contains("vCPU limit"), "{short}");
        // A group that wants nothing is never ready.
        assert!(missing(0, want(0, None)).is_some());
    }
}

#[export_module]
pub mod api {
    use crate::api::{fail, lift, session, to_script, with_cloud};
    use crate::cloud::plan;
    use rhai::{Array, Map};

    /// Deploys everything (independent steps in parallel) and waits until the
    /// service answers through the load balancer (on AWS: until every instance
    /// is a healthy target). Returns `#{endpoint, prefix, backend, reachable}`:
    /// `reachable` says whether the endpoint answers from here (on AWS it may
    /// not until `deploy::open_port()`). Safe to call again: existing
    /// resources are kept.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn all(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let timeout = cloud.ready_timeout();
        let (endpoint, reachable) = lift(
            &ctx,
            s.block_on(super::all(cloud.clone(), s.http(), timeout, s.bus())),
        )?;
        let mut m = Map::new();
        m.insert("reachable".into(), reachable.into());
        m.insert("endpoint".into(), endpoint.into());
        m.insert("prefix".into(), cloud.names().prefix.clone().into());
        m.insert("backend".into(), cloud.backend().as_str().into());
        Ok(m)
    }

    /// Creates the recommendations table and fills it (three items of each kind).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn table(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.create_table().await })
    }

    /// Creates the instance policy, role and profile, and the bad-credentials
    /// ones (parameters only, no table).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn instance_profile(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.create_instance_profile().await })
    }

    /// Creates the launch template (needs the instance profile).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn launch_template(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.create_launch_template().await })
    }

    /// Creates the Auto Scaling group over three Availability Zones (needs the
    /// launch template).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn auto_scaling_group(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.create_auto_scaling_group().await })
    }

    /// Writes the four parameters with healthy values: the real table, no fault,
    /// failure response `none`, health check `shallow`. Returns once every
    /// instance uses them.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn parameters(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move {
            let values = ParameterValues::healthy(c.names());
            c.put_parameters(&values).await?;
            crate::cloud::parameters_settled(c.as_ref()).await;
            Ok(())
        })
    }

    /// Creates the target group, the load balancer and its listener, and
    /// attaches the target group to the group. Returns the endpoint URL.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn load_balancer(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.create_load_balancer().await })
    }

    /// Lets you reach the endpoint (on AWS: port 80 from your own IP only,
    /// after asking). Returns `#{opened, detail}`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn open_port(ctx: NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
        let outcome = with_cloud(&ctx, |c| async move { c.open_port(None).await })?;
        to_script(&ctx, &outcome)
    }

    /// Waits until the group's desired capacity of instances are healthy
    /// targets and the endpoint answers 200 (60 s at most on the local cloud,
    /// 15 min on AWS); while it waits, and in its error, it names the group's
    /// latest failed launch.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn wait_ready(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let timeout = cloud.ready_timeout();
        lift(
            &ctx,
            s.block_on(super::wait_ready(cloud, s.http(), timeout, s.bus())),
        )
    }

    /// Lists what a deploy creates, without creating anything: an array of
    /// `#{kind, name, usd_per_hour}` (rough AWS on-demand prices; 0 locally).
    #[rhai_fn(return_raw)]
    pub(crate) fn plan(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let s = session(&ctx)?.settings();
        // On AWS the IAM names carry the region (when it is known here).
        let names = match (&s.backend, &s.aws.region) {
            (crate::settings::Backend::Aws, Some(region)) => {
                crate::names::Names::in_region(&s.prefix, region)
            }
            _ => crate::names::Names::new(&s.prefix),
        };
        let rows = plan::plan(&names, s.instances, s.backend);
        Ok(to_script(&ctx, &rows)?.into_array().unwrap_or_default())
    }

    /// The current settings: `#{backend, prefix, time_scale, instances}`.
    #[rhai_fn(return_raw)]
    pub(crate) fn settings(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let s = session(&ctx)?.settings();
        let mut m = Map::new();
        m.insert("backend".into(), s.backend.as_str().into());
        m.insert("prefix".into(), s.prefix.into());
        m.insert("time_scale".into(), s.time_scale.into());
        m.insert("instances".into(), (s.instances as i64).into());
        Ok(m)
    }

    /// Changes settings before anything is deployed; keys as in
    /// `deploy::settings()` (any subset), e.g. `deploy::configure(#{prefix: "demo2"})`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn configure(
        ctx: NativeCallContext,
        changes: Map,
    ) -> Result<(), Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let mut settings = s.settings();
        for (key, value) in changes {
            let bad = |what: &str| fail(&ctx, format!("deploy::configure: `{key}` must be {what}"));
            match key.as_str() {
                "backend" => {
                    let v = value.into_string().map_err(|_| bad("a string"))?;
                    settings.backend = lift(&ctx, v.parse())?;
                }
                "prefix" => settings.prefix = value.into_string().map_err(|_| bad("a string"))?,
                "time_scale" => {
                    settings.time_scale = value
                        .as_float()
                        .or_else(|_| value.as_int().map(|i| i as f64))
                        .map_err(|_| bad("a number"))?
                }
                "instances" => {
                    settings.instances = value
                        .as_int()
                        .ok()
                        .and_then(|i| usize::try_from(i).ok())
                        .ok_or_else(|| bad("a positive integer"))?
                }
                other => {
                    return Err(fail(
                        &ctx,
                        format!(
                            "deploy::configure: unknown setting `{other}` (known: backend, prefix, time_scale, instances)"
                        ),
                    ));
                }
            }
        }
        lift(&ctx, s.configure(settings))
    }
}

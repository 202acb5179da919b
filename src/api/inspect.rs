//! `inspect::` — look without touching: the endpoint, one request as a customer
//! sees it, target health, instances, parameters, owned resources.

use crate::http::HttpFailure;
use rhai::Map;
use rhai::plugin::*;
use std::time::Duration;

/// How long `inspect::request()` waits for an answer.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Turns one HTTP exchange into the map scripts get from `inspect::request()`.
pub(crate) fn outcome_map(result: Result<crate::http::HttpResponse, HttpFailure>) -> Map {
    let mut m = Map::new();
    match result {
        Ok(resp) => {
            let json = serde_json::from_slice::<serde_json::Value>(&resp.body).ok();
            let (instance, fallback) = json
                .as_ref()
                .map_or((None, false), crate::loadgen::served_by_json);
            let az = json.as_ref().and_then(|v| {
                v["Metadata"]["AvailabilityZone"]
                    .as_str()
                    .map(str::to_string)
            });
            let body = match json.as_ref().and_then(|v| rhai::serde::to_dynamic(v).ok()) {
                Some(d) => d,
                None => String::from_utf8_lossy(&resp.body).into_owned().into(),
            };
            m.insert("status".into(), i64::from(resp.status).into());
            m.insert("body".into(), body);
            m.insert(
                "instance".into(),
                instance.map_or(Dynamic::UNIT, Into::into),
            );
            m.insert("az".into(), az.map_or(Dynamic::UNIT, Into::into));
            let version = json
                .as_ref()
                .and_then(|v| v["Metadata"]["Version"].as_str().map(str::to_string));
            m.insert("version".into(), version.map_or(Dynamic::UNIT, Into::into));
            m.insert(
                "latency_ms".into(),
                (resp.latency.as_secs_f64() * 1000.0).into(),
            );
            m.insert("fallback".into(), fallback.into());
        }
        Err(e) => {
            m.insert("status".into(), 0_i64.into());
            m.insert("body".into(), Dynamic::UNIT);
            m.insert("instance".into(), Dynamic::UNIT);
            m.insert("az".into(), Dynamic::UNIT);
            m.insert("version".into(), Dynamic::UNIT);
            m.insert("latency_ms".into(), 0.0_f64.into());
            m.insert("fallback".into(), false.into());
            m.insert("error".into(), e.to_string().into());
        }
    }
    m
}

/// What `inspect::watch_targets` saw of each target.
#[derive(Default)]
struct Watched {
    /// Per target id: the states seen (first-seen order), the last one,
    /// how many changes, how many looks.
    targets: std::collections::BTreeMap<String, (Vec<String>, String, i64, i64)>,
}

impl Watched {
    /// Records one look at the targets.
    fn look(&mut self, targets: &[crate::cloud::TargetHealth]) {
        for t in targets {
            let state = t.state.as_str().to_string();
            let entry = self
                .targets
                .entry(t.id.clone())
                .or_insert_with(|| (Vec::new(), state.clone(), 0, 0));
            if entry.1 != state {
                entry.2 += 1;
                entry.1 = state.clone();
            }
            if !entry.0.contains(&state) {
                entry.0.push(state);
            }
            entry.3 += 1;
        }
    }

    /// The map scripts get.
    fn into_map(self) -> Map {
        let mut out = Map::new();
        for (id, (states, _, changes, looks)) in self.targets {
            let mut m = Map::new();
            let states: rhai::Array = states.into_iter().map(Dynamic::from).collect();
            m.insert("states".into(), states.into());
            m.insert("changes".into(), changes.into());
            m.insert("looks".into(), looks.into());
            out.insert(id.into(), m.into());
        }
        out
    }
}

#[export_module]
pub mod api {
    use crate::api::{lift, session, to_script, with_cloud};
    use rhai::{Array, Map};

    /// The load balancer's URL, e.g. `http://127.0.0.1:41234`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn endpoint(ctx: NativeCallContext) -> Result<String, Box<EvalAltResult>> {
        with_cloud(&ctx, |c| async move { c.endpoint().await })
    }

    /// Sends one `GET /` through the load balancer, as a customer would.
    /// Returns `#{status, body, instance, az, version, latency_ms, fallback}`:
    /// `body` is the decoded JSON (or the raw text), `instance`/`az` name the
    /// serving instance and `version` the release it runs, when known (else `()`), `fallback` is true for the static
    /// fallback. With no HTTP answer at all, `status` is 0 and `error` says why.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn request(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        request_path(ctx, "/")
    }

    /// Like `inspect::request()`, for another path (e.g. `"/healthcheck"`).
    #[rhai_fn(name = "request", return_raw, volatile)]
    pub(crate) fn request_path(
        ctx: NativeCallContext,
        path: &str,
    ) -> Result<Map, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let http = s.http();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let answer = lift(
            &ctx,
            s.block_on(async move {
                let endpoint = cloud.endpoint().await?;
                let result = http
                    .get(&format!("{endpoint}{path}"), super::REQUEST_TIMEOUT)
                    .await;
                Ok(super::outcome_map(result))
            }),
        )?;
        let field = |k: &str| answer.get(k).cloned().unwrap_or(Dynamic::UNIT);
        s.publish(crate::events::EventKind::Request {
            status: field("status").as_int().unwrap_or(0),
            latency_ms: field("latency_ms").as_float().unwrap_or(0.0),
            instance: field("instance").into_string().ok(),
            fallback: field("fallback").as_bool().unwrap_or(false),
        });
        Ok(answer)
    }

    /// The group's latest instance refresh (`deploy::roll_out`) as
    /// `DescribeInstanceRefreshes` reports it: `#{id, status, status_reason,
    /// percentage_complete, instances_to_update, version, active}` with
    /// status `Pending|InProgress|Successful|Failed|Cancelling|Cancelled|
    /// RollbackInProgress|RollbackFailed|RollbackSuccessful|Baking`;
    /// `()` when the group never had one.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn roll_out(ctx: NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
        let refresh = with_cloud(&ctx, |c| async move { c.refresh().await })?;
        Ok(refresh.map_or(Dynamic::UNIT, |r| crate::api::rollout::view_map(&r).into()))
    }

    /// The launch template's versions: `#{group, all}`, `group` the version
    /// the group launches, `all` an array of `#{number, label, broken}`
    /// (`label` and `broken` are `()` for a version this tool did not write).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn versions(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let v = with_cloud(&ctx, |c| async move { c.versions().await })?;
        let all: Array = v
            .all
            .iter()
            .map(|info| {
                let mut m = Map::new();
                m.insert("number".into(), i64::from(info.number).into());
                let (label, broken) = info
                    .release
                    .as_ref()
                    .map_or((Dynamic::UNIT, Dynamic::UNIT), |r| {
                        (r.label.clone().into(), r.broken.as_str().to_string().into())
                    });
                m.insert("label".into(), label);
                m.insert("broken".into(), broken);
                m.into()
            })
            .collect();
        let mut m = Map::new();
        m.insert("group".into(), i64::from(v.group).into());
        m.insert("all".into(), all.into());
        Ok(m)
    }

    /// Health of each load balancer target: an array of
    /// `#{id, port, state, reason, description}` in AWS's words (state
    /// `initial|healthy|unhealthy|draining|unused|unavailable`; `reason` and
    /// `description` are `()` when healthy).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn targets(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let targets = with_cloud(&ctx, |c| async move { c.targets().await })?;
        if let Some(r) = session(&ctx)?.recorder() {
            r.targets(&targets);
        }
        Ok(to_script(&ctx, &targets)?.into_array().unwrap_or_default())
    }

    /// How many targets are in each state, e.g. `#{healthy: 2, unhealthy: 1}`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn target_states(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let targets = with_cloud(&ctx, |c| async move { c.targets().await })?;
        let mut m = Map::new();
        for t in targets {
            let n = m
                .entry(t.state.as_str().into())
                .or_insert(Dynamic::from(0_i64));
            *n = Dynamic::from(n.as_int().unwrap_or(0) + 1);
        }
        Ok(m)
    }

    /// The group's instances: an array of `#{id, az, state, health, profile,
    /// version}` (lifecycle state `pending|running|shutting-down|terminated`,
    /// group health `Healthy|Unhealthy`, the associated instance profile, the
    /// launch template version it was launched from, `()` when unknown).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn instances(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let instances = with_cloud(&ctx, |c| async move { c.instances().await })?;
        if let Some(r) = session(&ctx)?.recorder() {
            r.instances(&instances);
        }
        Ok(to_script(&ctx, &instances)?
            .into_array()
            .unwrap_or_default())
    }

    /// The four parameters: `#{table, failure_response, health_check, fault}`.
    /// `fault` holds every injected fault instances read: `#{latency_ms,
    /// error_rate, throttle_rate}` (the dependency fault, on every table
    /// read), and when set `hang` (ids of instances whose service hangs),
    /// `crash` (instance id → crash token: that instance's service process
    /// crashes once), `flap` (instance id → `[healthy_ms, unhealthy_ms]`)
    /// and `parameter_store_down` (`true`: instances cannot read these).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn parameters(ctx: NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
        let values = with_cloud(&ctx, |c| async move { c.parameters().await })?;
        to_script(&ctx, &values)
    }

    /// Watches the targets for `duration_ms` of cloud time (0 to 3600000:
    /// size it for AWS; the local cloud scales it by its time scale),
    /// looking as often as `wait_until` does, and returns what each target
    /// did: `#{<id>: #{states, changes, looks}}` — the states it was seen
    /// in (in the order first seen), how many times its state changed, and
    /// how many looks saw it.
    ///
    /// ```rhai
    /// let seen = inspect::watch_targets(120_000);
    /// check::equal("it never left service", seen[victim].changes, 0);
    /// ```
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn watch_targets(
        ctx: NativeCallContext,
        duration_ms: i64,
    ) -> Result<Map, Box<EvalAltResult>> {
        if !(0..=3_600_000).contains(&duration_ms) {
            return Err(crate::api::fail(
                &ctx,
                format!("inspect::watch_targets: {duration_ms} ms is outside 0..=3600000"),
            ));
        }
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let wall = s
            .settings()
            .wall(std::time::Duration::from_millis(duration_ms as u64));
        let poll = cloud.poll_interval();
        let started = std::time::Instant::now();
        let mut seen = super::Watched::default();
        loop {
            let c = cloud.clone();
            let targets = lift(&ctx, s.block_on(async move { c.targets().await }))?;
            if let Some(r) = s.recorder() {
                r.targets(&targets);
            }
            seen.look(&targets);
            if started.elapsed() >= wall {
                break;
            }
            lift(&ctx, s.sleep(poll))?;
        }
        Ok(seen.into_map())
    }

    /// The group's scaling activities, newest first (at most 50): an array
    /// of `#{description, cause, status, status_message, az}` in AWS's
    /// words (`status` `Successful`, `Failed`, `InProgress`, …;
    /// `status_message` says why one failed, else `()`).
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn activities(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let activities = with_cloud(&ctx, |c| async move { c.scaling_activities().await })?;
        Ok(to_script(&ctx, &activities)?
            .into_array()
            .unwrap_or_default())
    }

    /// Everything this deployment owns right now: an array of `#{kind, name}`.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn resources(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let resources = with_cloud(&ctx, |c| async move { c.resources().await })?;
        Ok(to_script(&ctx, &resources)?
            .into_array()
            .unwrap_or_default())
    }

    /// The names of every resource, derived from the prefix.
    #[rhai_fn(return_raw)]
    pub(crate) fn names(ctx: NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
        let cloud = lift(&ctx, session(&ctx)?.cloud())?;
        to_script(&ctx, cloud.names())
    }
}

//! The embedded local cloud: instances are real HTTP servers on 127.0.0.1, the
//! load balancer is a real reverse proxy with real health checks, the group
//! really replaces instances, and the table and parameter store are real stores
//! the instances read with their own credentials: the table on every request,
//! the parameters at most once per cloud second per server process.

pub(crate) mod auto_scaling;
mod deployment;
pub(crate) mod iam;
pub(crate) mod instance;
pub(crate) mod load_balancer;
pub(crate) mod store;
pub(crate) mod target_group;
pub(crate) mod timing;
pub(crate) mod upstream;
mod world;

use deployment::{Deployment, LoadBalancer};

pub(crate) use world::{World, ZONES};

use crate::cloud::{
    Capacity, Cloud, HealthCheckType, InstanceInfo, Parameter, ParameterValues, PortOutcome,
    RefreshPreferences, RefreshView, Release, Resource, TargetHealth, Teardown, VersionInfo,
    Versions,
};
use crate::error::{Error, Result};
use crate::names::Names;
use crate::service::catalog;
use crate::settings::{Backend, Settings};
use async_trait::async_trait;
use auto_scaling::{AutoScalingGroup, LaunchTemplate};
use iam::{Policy, Profile};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use target_group::TargetGroup;
use timing::Timing;

/// How often a wait looks at the local cloud: it has no API quota.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The local cloud backend.
pub struct LocalCloud {
    names: Names,
    instances: usize,
    timing: Timing,
    world: Mutex<Arc<World>>,
    deployment: Mutex<Deployment>,
}

impl LocalCloud {
    /// A local cloud with nothing deployed.
    pub fn new(settings: &Settings) -> Self {
        let names = Names::new(&settings.prefix);
        let timing = Timing::new(settings.time_scale);
        LocalCloud {
            world: Mutex::new(World::new(&names, timing)),
            names,
            instances: settings.instances,
            timing,
            deployment: Mutex::new(Deployment::default()),
        }
    }

    /// The cloud's timing (how fast cloud time runs).
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// How many times each instance has read the parameters (`GetParameters`
    /// calls, allowed or denied) in the current deployment.
    pub fn parameter_reads(&self) -> std::collections::BTreeMap<String, u64> {
        self.world().params.reads()
    }

    fn world(&self) -> Arc<World> {
        crate::sync::lock(&self.world).clone()
    }

    fn dep(&self) -> std::sync::MutexGuard<'_, Deployment> {
        crate::sync::lock(&self.deployment)
    }

    fn group(&self) -> Result<Arc<AutoScalingGroup>> {
        self.dep().group.clone().ok_or_else(|| {
            Error::not_deployed(format!("the Auto Scaling group {}", self.names.group))
        })
    }

    fn target_group(&self) -> Result<Arc<TargetGroup>> {
        self.dep().target_group.clone().ok_or_else(|| {
            Error::not_deployed(format!("the target group {}", self.names.target_group))
        })
    }

    fn member(&self, id: &str) -> Result<Arc<instance::Instance>> {
        self.group()?
            .find(id)
            .ok_or_else(|| Error::UnknownInstance { id: id.to_string() })
    }

    fn policy(&self, name: &str, with_table: bool) -> Policy {
        Policy {
            name: name.to_string(),
            tables: if with_table {
                vec![self.names.table.clone()]
            } else {
                Vec::new()
            },
            parameters: self
                .names
                .parameters()
                .iter()
                .map(|p| p.to_string())
                .collect(),
        }
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        self.world().token.cancel();
    }
}

#[async_trait]
impl Cloud for LocalCloud {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn watch_interval(&self) -> Duration {
        self.timing.health_interval() / 2
    }

    fn parameter_max_age(&self) -> Duration {
        self.timing.parameter_max_age()
    }

    fn names(&self) -> &Names {
        &self.names
    }

    fn poll_interval(&self) -> Duration {
        POLL_INTERVAL
    }

    fn ready_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn endpoint_needs_open_port(&self) -> bool {
        false
    }

    fn outlives_process(&self) -> bool {
        false
    }

    async fn create_table(&self) -> Result<()> {
        let world = self.world();
        if !world.tables.exists(&self.names.table) {
            world.tables.create(&self.names.table);
            world.tables.put_items(&self.names.table, catalog::items());
        }
        self.dep().table = true;
        Ok(())
    }

    async fn create_instance_profile(&self) -> Result<()> {
        let world = self.world();
        let n = &self.names;
        world.iam.put_profile(
            &n.profile,
            Profile {
                role: n.role.clone(),
                policy: self.policy(&n.policy, true),
            },
        );
        world.iam.put_profile(
            &n.bc_profile,
            Profile {
                role: n.bc_role.clone(),
                policy: self.policy(&n.bc_policy, false),
            },
        );
        self.dep().profiles = true;
        Ok(())
    }

    async fn create_launch_template(&self) -> Result<()> {
        let mut dep = self.dep();
        if !dep.profiles {
            return Err(Error::cloud(
                "create launch template",
                &self.names.launch_template,
                format!("instance profile {} does not exist", self.names.profile),
            ));
        }
        if dep.template.is_none() {
            dep.template = Some(LaunchTemplate::new(&self.names.profile));
        }
        Ok(())
    }

    async fn create_auto_scaling_group(&self) -> Result<()> {
        let world = self.world();
        let mut dep = self.dep();
        if dep.group.is_some() {
            return Ok(());
        }
        let template = dep.template.clone().ok_or_else(|| {
            Error::cloud(
                "create Auto Scaling group",
                &self.names.group,
                format!(
                    "launch template {} does not exist",
                    self.names.launch_template
                ),
            )
        })?;
        let group = Arc::new(AutoScalingGroup::new(
            &self.names.group,
            template,
            ZONES.iter().map(|z| z.to_string()).collect(),
            self.instances,
            world.clone(),
        ));
        if let Some(tg) = &dep.target_group {
            group.attach_target_group(tg.clone());
        }
        group.reconcile();
        let runner = group.clone();
        let stop = world.token.clone();
        world.tasks.spawn(async move { runner.run(stop).await });
        dep.group = Some(group);
        Ok(())
    }

    async fn put_parameters(&self, values: &ParameterValues) -> Result<()> {
        let world = self.world();
        for (name, value) in self.names.parameters().iter().zip(values.in_order()) {
            world.params.put(name, &value);
        }
        self.dep().parameters = true;
        Ok(())
    }

    async fn create_load_balancer(&self) -> Result<String> {
        let world = self.world();
        if let Some(lb) = &self.dep().load_balancer {
            return Ok(format!("http://127.0.0.1:{}", lb.port));
        }
        let tg = Arc::new(TargetGroup::new(self.timing));
        let port = load_balancer::start(&world, tg.clone())
            .map_err(|e| Error::cloud("create load balancer", &self.names.load_balancer, e))?;
        let checker = tg.clone();
        let stop = world.token.clone();
        let client = tg.health_check_client();
        world
            .tasks
            .spawn(async move { checker.run_health_checks(client, stop).await });
        tg.set_in_use();
        let mut dep = self.dep();
        if let Some(group) = &dep.group {
            group.attach_target_group(tg.clone());
        }
        dep.target_group = Some(tg);
        dep.load_balancer = Some(LoadBalancer { port });
        Ok(format!("http://127.0.0.1:{port}"))
    }

    async fn open_port(&self, _cidr: Option<String>) -> Result<PortOutcome> {
        Ok(PortOutcome {
            opened: false,
            detail: "the local load balancer listens on 127.0.0.1 only: no rule is needed".into(),
        })
    }

    async fn endpoint(&self) -> Result<String> {
        self.dep()
            .load_balancer
            .as_ref()
            .map(|lb| format!("http://127.0.0.1:{}", lb.port))
            .ok_or_else(|| {
                Error::not_deployed(format!("the load balancer {}", self.names.load_balancer))
            })
    }

    async fn targets(&self) -> Result<Vec<TargetHealth>> {
        Ok(self.target_group()?.health())
    }

    async fn capacity(&self) -> Result<Capacity> {
        let group = self.group()?;
        Ok(Capacity {
            desired: group.desired(),
            launch_failure: group.last_error(),
        })
    }

    async fn instances(&self) -> Result<Vec<InstanceInfo>> {
        Ok(self
            .group()?
            .members()
            .into_iter()
            .map(|m| InstanceInfo {
                id: m.instance.id.clone(),
                az: m.instance.az.clone(),
                state: m.instance.lifecycle().state(),
                health: m.health,
                profile: m.instance.profile(),
                version: Some(m.instance.version),
            })
            .collect())
    }

    async fn parameters(&self) -> Result<ParameterValues> {
        let world = self.world();
        let values = world
            .params
            .get(&self.names.parameters())
            .map_err(|_| Error::not_deployed("the parameters"))?;
        ParameterValues::from_order(&values).ok_or_else(|| Error::not_deployed("the parameters"))
    }

    async fn set_parameter(&self, parameter: Parameter, value: &str) -> Result<()> {
        let world = self.world();
        let name = parameter.name(&self.names);
        if !world.params.exists(name) {
            return Err(Error::not_deployed(format!("the parameter {name}")));
        }
        world.params.put(name, value);
        Ok(())
    }

    async fn replace_instance_profile(&self, instance: &str, profile: &str) -> Result<()> {
        let member = self.member(instance)?;
        if !self.world().iam.has_profile(profile) {
            return Err(Error::cloud(
                "associate instance profile",
                instance,
                format!("instance profile {profile} does not exist"),
            ));
        }
        member.set_profile(profile);
        Ok(())
    }

    async fn reboot_instance(&self, instance: &str) -> Result<()> {
        self.member(instance)?.reboot();
        Ok(())
    }

    async fn terminate_instance(&self, instance: &str, decrement: bool) -> Result<()> {
        self.group()?.terminate(instance, decrement)
    }

    async fn set_group_health_check(&self, kind: HealthCheckType, grace_s: u64) -> Result<()> {
        let grace = Duration::from_secs_f64(grace_s as f64 * self.timing.scale);
        self.group()?.set_health_check(kind, grace);
        Ok(())
    }

    async fn az_outage(&self, az: &str) -> Result<()> {
        self.group()?.zone_outage(az)
    }

    async fn restore_azs(&self) -> Result<()> {
        self.group()?.restore_zones();
        Ok(())
    }

    async fn create_version(&self, release: &Release) -> Result<u32> {
        release.validate()?;
        let template = self.dep().template.clone().ok_or_else(|| {
            Error::not_deployed(format!(
                "the launch template {}",
                self.names.launch_template
            ))
        })?;
        Ok(template.add(release.clone()))
    }

    async fn versions(&self) -> Result<Versions> {
        let template = self.dep().template.clone().ok_or_else(|| {
            Error::not_deployed(format!(
                "the launch template {}",
                self.names.launch_template
            ))
        })?;
        let group = self.group()?.version();
        Ok(Versions {
            all: template
                .all()
                .into_iter()
                .zip(1..)
                .map(|(release, number)| VersionInfo {
                    number,
                    release: Some(release),
                })
                .collect(),
            group,
        })
    }

    async fn start_refresh(&self, version: u32, prefs: &RefreshPreferences) -> Result<String> {
        self.group()?.start_refresh(version, prefs.clone())
    }

    async fn refresh(&self) -> Result<Option<RefreshView>> {
        Ok(self.group()?.refresh())
    }

    async fn cancel_refresh(&self) -> Result<String> {
        self.group()?.cancel_refresh()
    }

    async fn rollback_refresh(&self) -> Result<String> {
        self.group()?.rollback_refresh()
    }

    async fn zone_capacity(&self, az: &str, available: bool) -> Result<()> {
        self.group()?.zone_capacity(az, available)
    }

    async fn scaling_activities(&self) -> Result<Vec<crate::cloud::ScalingActivity>> {
        Ok(self.group()?.activities())
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        Ok(self.dep().resources(&self.names))
    }

    async fn destroy(&self) -> Result<Teardown> {
        let removed = self.resources().await?;
        if let Some(group) = &self.dep().group {
            group.scale_to_zero();
        }
        let world = {
            let mut w = crate::sync::lock(&self.world);
            std::mem::replace(&mut *w, World::new(&self.names, self.timing))
        };
        *self.dep() = Deployment::default();
        world.token.cancel();
        world.tasks.close();
        if tokio::time::timeout(Duration::from_secs(10), world.tasks.wait())
            .await
            .is_err()
        {
            return Err(Error::cloud(
                "stop",
                "local cloud tasks",
                "background tasks did not stop within 10 s",
            ));
        }
        Ok(Teardown {
            deleted: removed,
            ..Teardown::default()
        })
    }
}

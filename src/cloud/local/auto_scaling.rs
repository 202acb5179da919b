//! The Auto Scaling group: keeps the desired number of instances, spread over
//! Availability Zones, replaces unhealthy ones, registers them with the target
//! group.

use super::World;
use super::instance::{Instance, Lifecycle};
use super::target_group::TargetGroup;
use crate::cloud::{GroupHealth, Release, ScalingActivity, TargetState};
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub(crate) use crate::cloud::HealthCheckType;

mod refresh;

/// Whether a leaving instance drains before it terminates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Deregister, wait the deregistration delay, then terminate.
    First,
    /// Terminate at once (the group is being deleted).
    No,
}

/// What the group launches: a profile, and the template's versions (each
/// a release; version N is the N-th, shared by clones).
#[derive(Debug, Clone)]
pub(crate) struct LaunchTemplate {
    /// The instance profile new instances get.
    pub profile: String,
    versions: Arc<Mutex<Vec<Release>>>,
}

impl LaunchTemplate {
    /// A template whose version 1 runs the first, good release.
    pub(crate) fn new(profile: &str) -> Self {
        LaunchTemplate {
            profile: profile.to_string(),
            versions: Arc::new(Mutex::new(vec![Release::first()])),
        }
    }

    /// Adds a version; returns its number.
    pub(crate) fn add(&self, release: Release) -> u32 {
        let mut v = crate::sync::lock(&self.versions);
        v.push(release);
        v.len() as u32
    }

    /// The release of version `number`.
    pub(crate) fn release(&self, number: u32) -> Option<Release> {
        let v = crate::sync::lock(&self.versions);
        number
            .checked_sub(1)
            .and_then(|i| v.get(i as usize))
            .cloned()
    }

    /// Every version's release, version 1 first.
    pub(crate) fn all(&self) -> Vec<Release> {
        crate::sync::lock(&self.versions).clone()
    }
}

struct Member {
    instance: Arc<Instance>,
    launched: Instant,
    registered: bool,
    unhealthy: bool,
    /// Since when the instance has passed the group's health checks (with
    /// ELB health checks: its target is healthy); an instance refresh counts
    /// it updated once its warmup has passed since then.
    healthy_since: Option<Instant>,
    /// Since when the instance has been impaired (EC2 reports it at its
    /// next status check, not at once).
    impaired_since: Option<Instant>,
}

struct GroupState {
    desired: usize,
    members: Vec<Member>,
    /// Instances that left the group and are still shutting down.
    leaving: Vec<Arc<Instance>>,
    unavailable_azs: HashSet<String>,
    /// Zones where every launch fails with `InsufficientInstanceCapacity`.
    no_capacity: HashSet<String>,
    /// Scaling activities, newest first.
    activities: std::collections::VecDeque<ScalingActivity>,
    health_check_type: HealthCheckType,
    grace: Duration,
    target_groups: Vec<Arc<TargetGroup>>,
    last_error: Option<String>,
    /// The launch template version new instances are launched from.
    version: u32,
    /// The latest instance refresh (kept once it ended, as AWS lists it).
    refresh: Option<refresh::Run>,
}

/// An instance as the group reports it.
pub(crate) struct MemberView {
    /// The instance.
    pub instance: Arc<Instance>,
    /// `Healthy` or `Unhealthy`.
    pub health: GroupHealth,
}

/// The Auto Scaling group of the local cloud.
pub(crate) struct AutoScalingGroup {
    /// Its name.
    pub name: String,
    /// The Availability Zones it spreads over.
    pub azs: Vec<String>,
    template: LaunchTemplate,
    world: Arc<World>,
    /// Lock order of the local cloud, outermost first: this group's state,
    /// then a target group's targets ([`TargetGroup`]'s lock), then an
    /// instance's state ([`Instance`]'s lock). The group calls into its
    /// target groups and instances while it holds its state; a target group
    /// holds only ids and ports and never locks an instance; an instance's
    /// lock is a leaf, held for a field or two. Never take them the other
    /// way round (e.g. the group's state while an instance's is held): that
    /// is a deadlock with the scaling loop.
    state: Mutex<GroupState>,
}

impl AutoScalingGroup {
    /// A group that will keep `desired` instances of `template` over `azs`.
    pub(crate) fn new(
        name: &str,
        template: LaunchTemplate,
        azs: Vec<String>,
        desired: usize,
        world: Arc<World>,
    ) -> Self {
        AutoScalingGroup {
            name: name.to_string(),
            azs,
            template,
            world,
            state: Mutex::new(GroupState {
                desired,
                members: Vec::new(),
                leaving: Vec::new(),
                unavailable_azs: HashSet::new(),
                no_capacity: HashSet::new(),
                activities: std::collections::VecDeque::new(),
                health_check_type: HealthCheckType::Ec2,
                grace: Duration::ZERO,
                target_groups: Vec::new(),
                last_error: None,
                version: 1,
                refresh: None,
            }),
        }
    }

    /// Attaches a target group: current and future instances are registered with it.
    pub(crate) fn attach_target_group(&self, tg: Arc<TargetGroup>) {
        let mut s = self.lock();
        for m in s.members.iter().filter(|m| m.registered) {
            tg.register(&m.instance.id, m.instance.port);
        }
        s.target_groups.push(tg);
    }

    /// Sets the health check type and grace period.
    pub(crate) fn set_health_check(&self, kind: HealthCheckType, grace: Duration) {
        let mut s = self.lock();
        s.health_check_type = kind;
        s.grace = grace;
    }

    /// The instances in the group (and those still shutting down after leaving it).
    pub(crate) fn members(&self) -> Vec<MemberView> {
        let s = self.lock();
        let mut out: Vec<MemberView> = s
            .members
            .iter()
            .map(|m| MemberView {
                instance: m.instance.clone(),
                health: if m.unhealthy {
                    GroupHealth::Unhealthy
                } else {
                    GroupHealth::Healthy
                },
            })
            .collect();
        out.extend(
            s.leaving
                .iter()
                .filter(|i| i.lifecycle() != Lifecycle::Terminated)
                .map(|i| MemberView {
                    instance: i.clone(),
                    health: GroupHealth::Unhealthy,
                }),
        );
        out
    }

    /// Finds a member by id.
    pub(crate) fn find(&self, id: &str) -> Option<Arc<Instance>> {
        self.lock()
            .members
            .iter()
            .find(|m| m.instance.id == id)
            .map(|m| m.instance.clone())
    }

    /// Terminates a member; unless `decrement`, the group launches a replacement.
    pub(crate) fn terminate(&self, id: &str, decrement: bool) -> Result<()> {
        let mut s = self.lock();
        let Some(pos) = s.members.iter().position(|m| m.instance.id == id) else {
            return Err(Error::UnknownInstance { id: id.to_string() });
        };
        if decrement {
            s.desired = s.desired.saturating_sub(1);
        }
        let member = s.members.remove(pos);
        self.retire(&mut s, member, Drain::First);
        Ok(())
    }

    /// Marks a zone out: its instances become unreachable and nothing launches there.
    pub(crate) fn zone_outage(&self, az: &str) -> Result<()> {
        if !self.azs.iter().any(|a| a == az) {
            return Err(Error::InvalidArgument(format!(
                "unknown Availability Zone `{az}`: the group uses {}",
                self.azs.join(", ")
            )));
        }
        let mut s = self.lock();
        s.unavailable_azs.insert(az.to_string());
        for m in s.members.iter().filter(|m| m.instance.az == az) {
            m.instance.set_impaired(true);
        }
        Ok(())
    }

    /// Makes launches in `az` fail with `InsufficientInstanceCapacity`
    /// (`available` false), or ends that.
    pub(crate) fn zone_capacity(&self, az: &str, available: bool) -> Result<()> {
        if !self.azs.iter().any(|a| a == az) {
            return Err(Error::InvalidArgument(format!(
                "unknown Availability Zone `{az}`: the group uses {}",
                self.azs.join(", ")
            )));
        }
        let mut s = self.lock();
        if available {
            s.no_capacity.remove(az);
        } else {
            s.no_capacity.insert(az.to_string());
        }
        Ok(())
    }

    /// The scaling activities, newest first.
    pub(crate) fn activities(&self) -> Vec<ScalingActivity> {
        self.lock().activities.iter().cloned().collect()
    }

    /// Brings every zone back, with its capacity.
    pub(crate) fn restore_zones(&self) {
        let mut s = self.lock();
        s.unavailable_azs.clear();
        s.no_capacity.clear();
        for m in &s.members {
            if m.instance.impaired() {
                m.instance.set_impaired(false);
            }
        }
    }

    /// Terminates every instance and stops launching (desired 0).
    pub(crate) fn scale_to_zero(&self) {
        let mut s = self.lock();
        s.desired = 0;
        let members = std::mem::take(&mut s.members);
        for m in members {
            self.retire(&mut s, m, Drain::No);
        }
    }

    /// The launch template version new instances come from.
    pub(crate) fn version(&self) -> u32 {
        self.lock().version
    }

    /// How many instances the group keeps.
    pub(crate) fn desired(&self) -> usize {
        self.lock().desired
    }

    /// The last launch failure, if the last reconcile could not launch.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Reconciles every scaling tick until `stop`.
    pub(crate) async fn run(&self, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.world.timing.scaling_tick());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => self.reconcile(),
            }
        }
    }

    /// One reconcile pass: register running instances, replace unhealthy ones
    /// (terminate, then launch: AWS's default without an instance
    /// maintenance policy), launch up to the desired count, rebalance zones
    /// (launch first, at most 10 % of the group or one instance above the
    /// desired count, and terminate only once enough targets are healthy).
    pub(crate) fn reconcile(&self) {
        let mut s = self.lock();
        s.leaving.retain(|i| i.lifecycle() != Lifecycle::Terminated);
        let (kind, grace) = (s.health_check_type, s.grace);
        let target_groups = s.target_groups.clone();
        let status_check = self.world.timing.status_check();
        for m in s.members.iter_mut() {
            if !m.registered && m.instance.lifecycle() == Lifecycle::Running {
                for tg in &target_groups {
                    tg.register(&m.instance.id, m.instance.port);
                }
                m.registered = true;
            }
            let elb_unhealthy = kind == HealthCheckType::Elb
                && m.registered
                && m.launched.elapsed() >= grace
                && target_groups.iter().any(|tg| {
                    tg.health()
                        .iter()
                        .any(|h| h.id == m.instance.id && h.state == TargetState::Unhealthy)
                });
            m.impaired_since = match (m.instance.impaired(), m.impaired_since) {
                (true, since) => Some(since.unwrap_or_else(Instant::now)),
                (false, _) => None,
            };
            let impaired = m
                .impaired_since
                .is_some_and(|since| since.elapsed() >= status_check);
            m.unhealthy =
                impaired || m.instance.lifecycle() == Lifecycle::Terminated || elb_unhealthy;
            let passes = m.registered
                && !m.unhealthy
                && m.instance.lifecycle() == Lifecycle::Running
                && (kind == HealthCheckType::Ec2
                    || target_groups.iter().all(|tg| {
                        tg.health()
                            .iter()
                            .any(|h| h.id == m.instance.id && h.state == TargetState::Healthy)
                    }));
            m.healthy_since = match (passes, m.healthy_since) {
                (true, since) => Some(since.unwrap_or_else(Instant::now)),
                (false, _) => None,
            };
        }
        self.refresh_notice_unhealthy(&mut s);
        let (unhealthy, healthy): (Vec<Member>, Vec<Member>) = std::mem::take(&mut s.members)
            .into_iter()
            .partition(|m| m.unhealthy);
        s.members = healthy;
        for m in unhealthy {
            self.retire(&mut s, m, Drain::First);
        }
        let refreshing = s.refresh.as_ref().is_some_and(|r| r.status.active());
        if refreshing {
            // The refresh decides what goes and what comes (in batches).
            self.refresh_step(&mut s);
        } else if s.members.len() > s.desired {
            // The surplus goes only if as many as desired still serve after.
            let serving = self.serving(&s);
            if let Some(pos) = self.surplus(&s) {
                let serves = serving.contains(&s.members[pos].instance.id);
                if !serves || serving.len() > s.desired {
                    let m = s.members.remove(pos);
                    self.retire(&mut s, m, Drain::First);
                }
            }
        }
        let missing = s.desired.saturating_sub(s.members.len());
        let surge = s.desired.div_ceil(10).max(1);
        let rebalance = missing == 0
            && !refreshing
            && s.members.len() < s.desired + surge
            && self.imbalanced(&s);
        s.last_error = None;
        // Launch before terminate: the surplus goes once its replacements
        // are in service.
        let launches = if rebalance { 1 } else { missing };
        for _ in 0..launches {
            if let Err(e) = self.launch(&mut s) {
                s.last_error = Some(e.to_string());
                break;
            }
        }
    }

    /// Launches one instance in the available zone with the fewest; when
    /// that zone has no capacity, the failure is a scaling activity and the
    /// next zone is tried (as AWS's group does).
    fn launch(&self, s: &mut GroupState) -> Result<()> {
        let mut zones: Vec<String> = self
            .azs
            .iter()
            .filter(|az| !s.unavailable_azs.contains(*az))
            .cloned()
            .collect();
        zones.sort_by_key(|az| s.members.iter().filter(|m| &m.instance.az == az).count());
        if zones.is_empty() {
            return Err(Error::cloud(
                "launch instance in",
                &self.name,
                "no Availability Zone is available",
            ));
        }
        let cause = format!(
            "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {} to {}",
            s.members.len(),
            s.members.len() + 1
        );
        let mut az = None;
        for zone in &zones {
            if !s.no_capacity.contains(zone) {
                az = Some(zone.clone());
                break;
            }
            let message = insufficient_capacity(zone, &zones);
            self.record(
                s,
                ScalingActivity {
                    description: format!(
                        "Launching a new EC2 instance.  Status Reason: {message} Launching EC2 instance failed."
                    ),
                    cause: cause.clone(),
                    status: "Failed".into(),
                    status_message: Some(message),
                    az: Some(zone.clone()),
                },
            );
        }
        let Some(az) = az else {
            return Err(Error::cloud(
                "launch instance in",
                &self.name,
                "InsufficientInstanceCapacity in every zone tried",
            ));
        };
        let release = self
            .template
            .release(s.version)
            .unwrap_or_else(Release::first);
        let instance = Instance::launch(
            &self.world,
            &az,
            &self.template.profile,
            s.version,
            &release,
        )
        .map_err(|e| Error::cloud("launch instance in", &self.name, e))?;
        tracing::debug!(group = %self.name, instance = %instance.id, %az, "launching a replacement or new instance");
        self.record(
            s,
            ScalingActivity {
                description: format!("Launching a new EC2 instance: {}", instance.id),
                cause,
                status: "Successful".into(),
                status_message: None,
                az: Some(az.clone()),
            },
        );
        s.members.push(Member {
            instance,
            launched: Instant::now(),
            registered: false,
            unhealthy: false,
            healthy_since: None,
            impaired_since: None,
        });
        Ok(())
    }

    /// Records a scaling activity (the newest 50 are kept).
    fn record(&self, s: &mut GroupState, activity: ScalingActivity) {
        s.activities.push_front(activity);
        s.activities.truncate(50);
    }

    /// The members that serve: with target groups, those whose target is
    /// healthy in every group; without, the running ones.
    fn serving(&self, s: &GroupState) -> HashSet<String> {
        let healthy = |id: &str| {
            s.target_groups.iter().all(|tg| {
                tg.health()
                    .iter()
                    .any(|h| h.id == id && h.state == TargetState::Healthy)
            })
        };
        s.members
            .iter()
            .filter(|m| m.instance.lifecycle() == Lifecycle::Running && !m.unhealthy)
            .filter(|m| healthy(&m.instance.id))
            .map(|m| m.instance.id.clone())
            .collect()
    }

    /// Counts per available zone differ by more than one.
    fn imbalanced(&self, s: &GroupState) -> bool {
        // A zone without capacity cannot be rebalanced into.
        let counts: Vec<usize> = self
            .azs
            .iter()
            .filter(|az| !s.unavailable_azs.contains(*az) && !s.no_capacity.contains(*az))
            .map(|az| s.members.iter().filter(|m| &m.instance.az == az).count())
            .collect();
        match (counts.iter().max(), counts.iter().min()) {
            (Some(max), Some(min)) => max - min > 1,
            _ => false,
        }
    }

    /// The member to remove first: the oldest of the most crowded zone.
    fn surplus(&self, s: &GroupState) -> Option<usize> {
        let crowded = self
            .azs
            .iter()
            .max_by_key(|az| s.members.iter().filter(|m| &m.instance.az == *az).count())
            .cloned();
        s.members
            .iter()
            .enumerate()
            .filter(|(_, m)| Some(&m.instance.az) == crowded.as_ref())
            .min_by_key(|(_, m)| m.launched)
            .map(|(i, _)| i)
    }

    /// Takes a member out of the group: deregisters it from the target
    /// groups and, as AWS does for an instance with a target, terminates it
    /// only once the deregistration delay has let its requests drain (at
    /// once when the whole group goes, or when it never had a target).
    fn retire(&self, s: &mut GroupState, m: Member, drain: Drain) {
        tracing::debug!(
            group = %self.name,
            instance = %m.instance.id,
            unhealthy = m.unhealthy,
            ?drain,
            "taking an instance out of the group"
        );
        for tg in &s.target_groups {
            tg.deregister(&m.instance.id);
        }
        let cause = if m.unhealthy {
            "an instance was taken out of service in response to a health check indicating it was unhealthy"
        } else {
            "an instance was taken out of service in response to a user request or a rebalance"
        };
        let activity = ScalingActivity {
            description: format!("Terminating EC2 instance: {}", m.instance.id),
            cause: cause.into(),
            status: "Successful".into(),
            status_message: None,
            az: Some(m.instance.az.clone()),
        };
        self.record(s, activity);
        let instance = m.instance.clone();
        if drain == Drain::First && m.registered && !s.target_groups.is_empty() {
            let delay = self.world.timing.deregistration_delay();
            let stop = self.world.token.clone();
            self.world.tasks.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => {}
                }
                instance.terminate();
            });
        } else {
            instance.terminate();
        }
        s.leaving.push(m.instance);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GroupState> {
        crate::sync::lock(&self.state)
    }
}

/// EC2's answer to a launch in a zone without capacity (its error code is
/// `InsufficientInstanceCapacity`), naming the zones that may have some.
fn insufficient_capacity(zone: &str, zones: &[String]) -> String {
    let others: Vec<&str> = zones
        .iter()
        .filter(|z| *z != zone)
        .map(String::as_str)
        .collect();
    format!(
        "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested ({zone}). Our system will be working on provisioning additional capacity. You can currently get t3.micro capacity by not specifying an Availability Zone in your request or choosing {}. (InsufficientInstanceCapacity)",
        others.join(", ")
    )
}

//! The [`Cloud`] trait: every operation the script API needs, in cloud words.
//!
//! The script API is written once on top of this trait and never knows which
//! backend it talks to. Both backends must give the same observable outcomes.

pub(crate) mod aws;
pub mod health_check;
pub(crate) mod local;
pub(crate) mod plan;
pub mod preflight;
pub mod release;
pub mod states;

use crate::error::Result;
use crate::names::Names;
use crate::settings::Backend;
use async_trait::async_trait;
pub use release::{Break, RefreshPreferences, RefreshView, Release, VersionInfo, Versions};
use serde::Serialize;
pub use states::{
    GroupHealth, InstanceState, RefreshStatus, ResourceKind, TargetReason, TargetState,
};

/// Health of one load balancer target, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetHealth {
    /// Instance id.
    pub id: String,
    /// The port the load balancer sends traffic to.
    pub port: u16,
    /// `initial`, `healthy`, `unhealthy`, `draining`, `unused` or `unavailable`.
    pub state: TargetState,
    /// Reason code such as `Target.ResponseCodeMismatch`; `None` when healthy.
    pub reason: Option<TargetReason>,
    /// Human description of the reason; `None` when healthy.
    pub description: Option<String>,
}

/// One instance of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceInfo {
    /// Instance id.
    pub id: String,
    /// Availability Zone.
    pub az: String,
    /// Lifecycle state: `pending`, `running`, `shutting-down`, `terminated`, …
    pub state: InstanceState,
    /// The group's view: `Healthy` or `Unhealthy`.
    pub health: GroupHealth,
    /// The instance profile associated with the instance.
    pub profile: String,
    /// The launch template version it was launched from, when known.
    pub version: Option<u32>,
}

/// One scaling activity of the group, in AWS's words (newest first in a
/// listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScalingActivity {
    /// What was done, e.g. `Launching a new EC2 instance: i-…` or, when it
    /// failed, `Launching a new EC2 instance.  Status Reason: …`.
    pub description: String,
    /// Why it was done.
    pub cause: String,
    /// `Successful`, `Failed`, `InProgress`, `Cancelled`, …
    pub status: String,
    /// Why it failed (AWS's `StatusMessage`), if it did.
    pub status_message: Option<String>,
    /// The Availability Zone it concerned, when known.
    pub az: Option<String>,
}

/// The values of the four parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterValues {
    /// The table instances read.
    pub table: String,
    /// `none` or `static`.
    pub failure_response: String,
    /// `shallow` or `deep`.
    pub health_check: String,
    /// The faults injected: into every read of the table, and into single
    /// instances' service processes.
    pub fault: Faults,
}

impl ParameterValues {
    /// The values in the order of the deployment's parameter names.
    pub fn in_order(&self) -> [String; 4] {
        [
            self.table.clone(),
            self.failure_response.clone(),
            self.health_check.clone(),
            self.fault.to_json(),
        ]
    }

    /// Values read in the order of the deployment's parameter names.
    pub fn from_order(values: &[String]) -> Option<Self> {
        match values {
            [table, failure_response, health_check, fault] => Some(ParameterValues {
                table: table.clone(),
                failure_response: failure_response.clone(),
                health_check: health_check.clone(),
                fault: Faults::parse(fault),
            }),
            _ => None,
        }
    }
}

impl ParameterValues {
    /// The values of a healthy deployment with these names: what deploy
    /// writes first and what the rollback of faults restores.
    pub fn healthy(names: &Names) -> Self {
        ParameterValues {
            table: names.table.clone(),
            failure_response: crate::service::defaults::FAILURE_RESPONSE.into(),
            health_check: crate::service::defaults::HEALTH_CHECK.into(),
            fault: Faults::default(),
        }
    }
}

/// Which parameter to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// The table name.
    Table,
    /// `none` / `static`.
    FailureResponse,
    /// `shallow` / `deep`.
    HealthCheck,
    /// The dependency fault, JSON.
    Fault,
}

impl Parameter {
    /// The parameter's full name in a deployment.
    pub fn name(self, names: &Names) -> &str {
        match self {
            Parameter::Table => &names.param_table,
            Parameter::FailureResponse => &names.param_failure_response,
            Parameter::HealthCheck => &names.param_health_check,
            Parameter::Fault => &names.param_fault,
        }
    }
}

/// One resource a deployment owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Resource {
    /// The kind, e.g. `load balancer`.
    pub kind: ResourceKind,
    /// Its name or id.
    pub name: String,
}

impl Resource {
    /// Builds a resource record.
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Resource {
            kind,
            name: name.into(),
        }
    }
}

/// A resource destroy did not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// The kind, e.g. `load balancer`.
    pub kind: ResourceKind,
    /// Its name or id.
    pub name: String,
    /// Why it is still there.
    pub reason: String,
}

impl Leftover {
    /// Builds a leftover record.
    pub fn new(kind: ResourceKind, name: impl Into<String>, reason: impl Into<String>) -> Self {
        Leftover {
            kind,
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// What a destroy did: every step is tried, so one failure leaves the rest done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Teardown {
    /// Deleted, in order.
    pub deleted: Vec<Resource>,
    /// Found with one of our names but without our deployment tag: someone
    /// else's, left alone.
    pub skipped: Vec<Leftover>,
    /// Ours, but deleting failed: a rerun of destroy finishes the job.
    pub failed: Vec<Leftover>,
}

impl Teardown {
    /// Whether everything of ours is gone.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }
}

pub use crate::service::{DependencyFault, Faults};

/// How the Auto Scaling group decides an instance is unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheckType {
    /// EC2 status checks only (the instance's zone is out, it is impaired).
    Ec2,
    /// EC2 status checks, plus the target group's health checks after a grace
    /// period: the group replaces instances the load balancer finds unhealthy.
    Elb,
}

/// The least grace period (cloud seconds) the group gets with ELB health
/// checks: an instance boots, runs its user data (`dnf install`) and starts
/// its server in one to three minutes on EC2 (a local instance takes 60 s),
/// failing its health checks meanwhile. With less, the group would
/// terminate every replacement before it serves, forever, each launch billed
/// on AWS. 300 s is also the console's default.
pub const ELB_GRACE_FLOOR_S: u64 = 300;

impl HealthCheckType {
    /// The grace period actually applied when a script asks for `grace_s`:
    /// at least [`ELB_GRACE_FLOOR_S`] with ELB health checks.
    pub fn grace(self, grace_s: u64) -> u64 {
        match self {
            HealthCheckType::Elb => grace_s.max(ELB_GRACE_FLOOR_S),
            HealthCheckType::Ec2 => grace_s,
        }
    }

    /// AWS's word: `EC2` or `ELB`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthCheckType::Ec2 => "EC2",
            HealthCheckType::Elb => "ELB",
        }
    }
}

impl std::str::FromStr for HealthCheckType {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "EC2" => Ok(HealthCheckType::Ec2),
            "ELB" => Ok(HealthCheckType::Elb),
            _ => Err(crate::Error::InvalidArgument(format!(
                "health-check type `{s}`: expected \"EC2\" or \"ELB\""
            ))),
        }
    }
}

/// How many instances the group wants, and why it has fewer when a launch
/// failed (the group's latest failed scaling activity, in AWS's words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// The group's desired capacity.
    pub desired: usize,
    /// The latest failed launch, when the last attempt failed.
    pub launch_failure: Option<String>,
}

/// What opening the service port did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortOutcome {
    /// Whether a rule was added.
    pub opened: bool,
    /// What happened, in a sentence.
    pub detail: String,
}

/// The operations the script API needs from a cloud.
///
/// Deploy steps are idempotent: calling one again when its resource exists is a
/// no-op. Destroy removes everything the deployment owns and treats "not found"
/// as done.
#[async_trait]
pub trait Cloud: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// How often a background recorder looks at target and instance state
    /// (the health-check interval).
    fn watch_interval(&self) -> std::time::Duration;
    /// How long instances may go on using parameter values they read: a
    /// changed parameter reaches every request within this (wall-clock)
    /// time. The script API waits this long after each change it makes.
    fn parameter_max_age(&self) -> std::time::Duration;
    /// The names of this deployment's resources.
    fn names(&self) -> &Names;
    /// How often a wait may look at this cloud: as often as its API allows
    /// without being throttled (AWS's Describe quotas are per account).
    fn poll_interval(&self) -> std::time::Duration;
    /// How long a deploy waits, by default, for the service to be ready
    /// (wall-clock): instances boot in seconds on the local cloud, in
    /// minutes on AWS.
    fn ready_timeout(&self) -> std::time::Duration;
    /// Whether the endpoint answers the caller only after
    /// [`Cloud::open_port`] (AWS: the load balancer's security group lets
    /// nobody in until then); a deploy then waits for healthy targets, not
    /// for an answer through the endpoint.
    fn endpoint_needs_open_port(&self) -> bool;
    /// Whether the deployment's resources outlive this process (AWS's do,
    /// and cost money until destroyed; the local cloud's stop with it).
    fn outlives_process(&self) -> bool;

    /// Creates the recommendations table and fills it.
    async fn create_table(&self) -> Result<()>;
    /// Creates the instance policy, role and profile (and the bad-credentials ones).
    async fn create_instance_profile(&self) -> Result<()>;
    /// Creates the launch template (needs the instance profile).
    async fn create_launch_template(&self) -> Result<()>;
    /// Creates the Auto Scaling group (needs the launch template).
    async fn create_auto_scaling_group(&self) -> Result<()>;
    /// Writes the four parameters (instances see them within
    /// [`Cloud::parameter_max_age`]).
    async fn put_parameters(&self, values: &ParameterValues) -> Result<()>;
    /// Creates the target group, the load balancer and its listener, attaches the
    /// target group to the group if it exists; returns the endpoint URL.
    async fn create_load_balancer(&self) -> Result<String>;
    /// Lets the caller reach the endpoint (`cidr`: who may; `None` = the caller's own).
    async fn open_port(&self, cidr: Option<String>) -> Result<PortOutcome>;

    /// The endpoint URL, e.g. `http://127.0.0.1:41234`.
    async fn endpoint(&self) -> Result<String>;
    /// Health of every registered target.
    async fn targets(&self) -> Result<Vec<TargetHealth>>;
    /// The group's desired capacity and its latest failed launch.
    async fn capacity(&self) -> Result<Capacity>;
    /// The group's instances.
    async fn instances(&self) -> Result<Vec<InstanceInfo>>;
    /// The four parameters' values.
    async fn parameters(&self) -> Result<ParameterValues>;
    /// Sets one parameter (instances see it within
    /// [`Cloud::parameter_max_age`]).
    async fn set_parameter(&self, parameter: Parameter, value: &str) -> Result<()>;

    /// Associates `profile` with the instance, replacing its current profile.
    async fn replace_instance_profile(&self, instance: &str, profile: &str) -> Result<()>;
    /// Reboots the instance (its server is down meanwhile).
    async fn reboot_instance(&self, instance: &str) -> Result<()>;
    /// Terminates the instance inside the group; `decrement` lowers the desired capacity.
    async fn terminate_instance(&self, instance: &str, decrement: bool) -> Result<()>;
    /// Sets how the group judges instance health, with a grace period (in
    /// cloud seconds) after launch before ELB health checks count.
    async fn set_group_health_check(&self, kind: HealthCheckType, grace_s: u64) -> Result<()>;
    /// Makes a whole Availability Zone unavailable.
    async fn az_outage(&self, az: &str) -> Result<()>;
    /// Brings every Availability Zone back (and their capacity).
    async fn restore_azs(&self) -> Result<()>;
    /// Makes every launch in `az` fail with `InsufficientInstanceCapacity`
    /// (`available` false) or ends that. The local cloud only: AWS cannot
    /// be told to run out of capacity.
    async fn zone_capacity(&self, az: &str, available: bool) -> Result<()>;
    /// The group's scaling activities, newest first (at most 50).
    async fn scaling_activities(&self) -> Result<Vec<ScalingActivity>>;

    /// Creates a new version of the launch template that runs `release`;
    /// returns its number. The group keeps launching its current version
    /// until a refresh rolls the new one out.
    async fn create_version(&self, release: &Release) -> Result<u32>;
    /// The launch template's versions and the one the group launches.
    async fn versions(&self) -> Result<Versions>;
    /// Starts an instance refresh that replaces every instance with ones of
    /// `version`; returns the refresh's id. One at a time per group: another
    /// while one is active fails (`InstanceRefreshInProgress`).
    async fn start_refresh(&self, version: u32, prefs: &RefreshPreferences) -> Result<String>;
    /// The group's latest instance refresh, if it ever had one.
    async fn refresh(&self) -> Result<Option<RefreshView>>;
    /// Cancels the active refresh (instances replaced so far stay); returns
    /// its id. Without one: `ActiveInstanceRefreshNotFound`.
    async fn cancel_refresh(&self) -> Result<String>;
    /// Rolls the active refresh back to the previous version; returns its
    /// id. Without one: `ActiveInstanceRefreshNotFound`.
    async fn rollback_refresh(&self) -> Result<String>;

    /// Checks, before anything is created, what would make a deploy fail
    /// half-way (on AWS: credentials, zones offering the instance type, our
    /// names in use by someone else, missing permissions). The local cloud
    /// needs nothing: it passes.
    async fn preflight(&self) -> Result<preflight::Preflight> {
        Ok(preflight::Preflight::default())
    }

    /// Everything this deployment owns right now.
    async fn resources(&self) -> Result<Vec<Resource>>;
    /// Deletes everything this deployment owns, in dependency order. Every
    /// step is tried even when an earlier one fails; what could not be
    /// deleted is in [`Teardown::failed`]. An error means nothing could be
    /// tried (e.g. the cloud cannot be reached).
    async fn destroy(&self) -> Result<Teardown>;
}

/// Waits until every instance uses the parameters as they were written
/// before this call: [`Cloud::parameter_max_age`].
pub async fn parameters_settled(cloud: &dyn Cloud) {
    tokio::time::sleep(cloud.parameter_max_age()).await;
}

/// Opens the cloud the settings name: the local cloud (inside a tokio
/// runtime), or AWS after its preflight (region, credentials, identity).
pub async fn open(settings: &crate::settings::Settings) -> Result<std::sync::Arc<dyn Cloud>> {
    Ok(match settings.backend {
        Backend::Local => std::sync::Arc::new(local::LocalCloud::new(settings)),
        Backend::Aws => std::sync::Arc::new(aws::AwsCloud::connect(settings).await?),
    })
}

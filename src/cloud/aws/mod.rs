//! The AWS backend: the same operations as the local cloud, through the
//! official AWS SDK for Rust, one module per service. Every resource is named
//! from the prefix and tagged `resilient:deployment=<prefix>`: destroy finds
//! everything again by name, even after a crash or a half-done deploy, and
//! touches only what carries the tag (see [`ownership`]).

pub(crate) mod autoscaling;
pub(crate) mod clients;
mod denied;
pub(crate) mod dynamodb;
pub(crate) mod ec2;
pub(crate) mod elb;
mod errors;
pub(crate) mod iam;
pub(crate) mod inventory;
pub(crate) mod ownership;
pub(crate) mod poll;
pub(crate) mod preflight;
pub(crate) mod public_ip;
pub(crate) mod refresh;
pub(crate) mod security_groups;
pub(crate) mod ssm;
pub(crate) mod user_data;
mod words;
pub(crate) mod zones;

use crate::cloud::{
    Capacity, Cloud, HealthCheckType, InstanceInfo, Parameter, ParameterValues, PortOutcome,
    Resource, TargetHealth, Teardown,
};
use crate::error::{Error, Result};
use crate::names::Names;
use crate::settings::{AwsSettings, Backend, Settings};
use async_trait::async_trait;
pub use clients::Clients;
pub(crate) use errors::{attempt, code, describe, fail};
use tokio::sync::OnceCell;

/// Waited beyond the servers' parameter max age after a parameter change.
const PARAMETER_MARGIN: std::time::Duration = std::time::Duration::from_millis(250);

/// The tag every resource carries, with the prefix as value.
pub(crate) const TAG_KEY: &str = "resilient:deployment";

/// How often a wait looks at AWS: one look at the targets is one ELB
/// Describe call, and ELB's Describe bucket (40, refilled at 10 per second)
/// is shared by the whole account.
pub(crate) const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The AWS backend.
pub(crate) struct AwsCloud {
    names: Names,
    settings: AwsSettings,
    instances: usize,
    clients: Clients,
    network: OnceCell<ec2::Network>,
    known: Known,
}

/// What does not change once found (and is forgotten at destroy): looked up
/// once instead of on every request or look at the targets, which keeps
/// polling within AWS's API quotas.
#[derive(Default)]
struct Known {
    /// Our target group's ARN.
    target_group: std::sync::Mutex<Option<String>>,
    /// Our load balancer's endpoint URL.
    endpoint: std::sync::Mutex<Option<String>>,
}

impl Known {
    fn get(slot: &std::sync::Mutex<Option<String>>) -> Option<String> {
        crate::sync::lock(slot).clone()
    }

    fn set(slot: &std::sync::Mutex<Option<String>>, value: Option<String>) {
        *crate::sync::lock(slot) = value;
    }

    fn forget(&self) {
        Known::set(&self.target_group, None);
        Known::set(&self.endpoint, None);
    }
}

impl AwsCloud {
    /// Connects (checking region, credentials and identity, each failure one
    /// sentence before anything is created). IAM names carry the region.
    pub(crate) async fn connect(settings: &Settings) -> Result<Self> {
        let clients = clients::connect(&settings.aws).await?;
        Ok(AwsCloud {
            names: Names::in_region(&settings.prefix, &clients.region),
            settings: settings.aws.clone(),
            instances: settings.instances,
            clients,
            network: OnceCell::new(),
            known: Known::default(),
        })
    }

    /// Our target group's ARN, looked up (and its tag checked) once.
    async fn target_group_arn(&self) -> Result<String> {
        if let Some(arn) = Known::get(&self.known.target_group) {
            return Ok(arn);
        }
        let n = &self.names;
        let arn = elb::target_group(&self.clients, &n.prefix, &n.target_group)
            .await?
            .ours()
            .ok_or_else(|| Error::not_deployed(format!("the target group {}", n.target_group)))?;
        Known::set(&self.known.target_group, Some(arn.clone()));
        Ok(arn)
    }

    async fn network(&self) -> Result<&ec2::Network> {
        self.network
            .get_or_try_init(|| ec2::network(&self.clients))
            .await
    }

    /// The default VPC (with no zone choice) for finding and deleting what is
    /// ours: listing and destroy need only the VPC, and must work even where
    /// no zone choice could be made (see [`zones`]).
    async fn vpc_only(&self) -> Result<ec2::Network> {
        if let Some(net) = self.network.get() {
            return Ok(net.clone());
        }
        Ok(ec2::Network {
            vpc: ec2::default_vpc(&self.clients).await?,
            subnets: Vec::new(),
        })
    }

    /// Our security groups, created when missing.
    async fn security_groups(&self) -> Result<security_groups::SecurityGroups> {
        let net = self.network().await?;
        security_groups::security_groups(&self.clients, &self.names, &net.vpc).await
    }

    async fn members(&self) -> Result<Vec<autoscaling::Member>> {
        autoscaling::group(&self.clients, &self.names.prefix, &self.names.group)
            .await?
            .ours()
            .ok_or_else(|| {
                Error::not_deployed(format!("the Auto Scaling group {}", self.names.group))
            })
    }

    async fn member(&self, id: &str) -> Result<autoscaling::Member> {
        self.members()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Error::UnknownInstance { id: id.to_string() })
    }

    async fn subnets(&self, without_az: Option<&str>) -> Result<Vec<String>> {
        Ok(self
            .network()
            .await?
            .subnets
            .iter()
            .filter(|(az, _)| Some(az.as_str()) != without_az)
            .map(|(_, s)| s.clone())
            .collect())
    }

    /// Your public IP: `--my-ip`, else looked up over HTTPS.
    async fn my_ip(&self) -> Result<String> {
        match &self.settings.my_ip {
            Some(ip) => Ok(ip.clone()),
            None => public_ip::lookup().await,
        }
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    fn backend(&self) -> Backend {
        Backend::Aws
    }

    fn watch_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(10)
    }

    fn parameter_max_age(&self) -> std::time::Duration {
        // What the user data gives the server, and a margin for the
        // instance's scheduling and the store's own propagation.
        user_data::PARAMETER_MAX_AGE + PARAMETER_MARGIN
    }

    fn names(&self) -> &Names {
        &self.names
    }

    fn poll_interval(&self) -> std::time::Duration {
        POLL_INTERVAL
    }

    fn ready_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(900)
    }

    fn endpoint_needs_open_port(&self) -> bool {
        true
    }

    fn outlives_process(&self) -> bool {
        true
    }

    async fn create_table(&self) -> Result<()> {
        dynamodb::create(&self.clients, &self.names).await
    }

    async fn create_instance_profile(&self) -> Result<()> {
        let c = &self.clients;
        let n = &self.names;
        let (good, bad) = tokio::join!(
            iam::create_profile(
                c,
                &n.prefix,
                iam::Identity::good(n),
                iam::policy_document(c, n, true)
            ),
            iam::create_profile(
                c,
                &n.prefix,
                iam::Identity::bad(n),
                iam::policy_document(c, n, false)
            ),
        );
        good.and(bad)
    }

    async fn create_launch_template(&self) -> Result<()> {
        let c = &self.clients;
        let (ami, groups) = tokio::join!(ssm::latest_ami(c), self.security_groups());
        ec2::create_launch_template(c, &self.names, &ami?, &groups?.instances).await
    }

    async fn create_auto_scaling_group(&self) -> Result<()> {
        let c = &self.clients;
        let subnets = self.subnets(None).await?;
        autoscaling::create(c, &self.names, &subnets, self.instances).await?;
        if let Some(tg) = elb::target_group(c, &self.names.prefix, &self.names.target_group)
            .await?
            .ours()
        {
            autoscaling::attach_target_group(c, &self.names.group, &tg).await?;
        }
        Ok(())
    }

    async fn put_parameters(&self, values: &ParameterValues) -> Result<()> {
        let c = &self.clients;
        let n = &self.names;
        let [table, failure, health, fault] = n.parameters();
        let [v_table, v_failure, v_health, v_fault] = values.in_order();
        let p = &n.prefix;
        let (a, b, d, f) = tokio::join!(
            ssm::put(c, p, table, &v_table),
            ssm::put(c, p, failure, &v_failure),
            ssm::put(c, p, health, &v_health),
            ssm::put(c, p, fault, &v_fault),
        );
        a.and(b).and(d).and(f)
    }

    async fn create_load_balancer(&self) -> Result<String> {
        let c = &self.clients;
        let net = self.network().await?;
        let groups = self.security_groups().await?;
        let (tg, endpoint) = elb::create(c, &self.names, net, &groups.lb).await?;
        if autoscaling::group(c, &self.names.prefix, &self.names.group)
            .await?
            .ours()
            .is_some()
        {
            autoscaling::attach_target_group(c, &self.names.group, &tg).await?;
        }
        Ok(endpoint)
    }

    async fn open_port(&self, cidr: Option<String>) -> Result<PortOutcome> {
        let c = &self.clients;
        let net = self.network().await?;
        let n = &self.names;
        let group = security_groups::security_group(c, &net.vpc, &n.prefix, &n.lb_security_group)
            .await?
            .ours()
            .ok_or_else(|| {
                Error::not_deployed(format!("the security group {}", n.lb_security_group))
            })?;
        let cidr = match cidr {
            Some(c) => c,
            None => format!("{}/32", self.my_ip().await?),
        };
        security_groups::open_port(c, &group, &n.prefix, &cidr).await
    }

    async fn endpoint(&self) -> Result<String> {
        if let Some(url) = Known::get(&self.known.endpoint) {
            return Ok(url);
        }
        let c = &self.clients;
        let url = elb::load_balancer(c, &self.names.prefix, &self.names.load_balancer)
            .await?
            .ours()
            .map(|(_, dns)| format!("http://{dns}"))
            .ok_or_else(|| {
                Error::not_deployed(format!("the load balancer {}", self.names.load_balancer))
            })?;
        Known::set(&self.known.endpoint, Some(url.clone()));
        Ok(url)
    }

    async fn targets(&self) -> Result<Vec<TargetHealth>> {
        let arn = self.target_group_arn().await?;
        let name = &self.names.target_group;
        match elb::target_health(&self.clients, &arn, name).await? {
            Some(targets) => Ok(targets),
            None => {
                // Deleted behind our back: look again next time.
                Known::set(&self.known.target_group, None);
                Err(Error::not_deployed(format!("the target group {name}")))
            }
        }
    }

    async fn capacity(&self) -> Result<Capacity> {
        let c = &self.clients;
        let group = &self.names.group;
        let (desired, failure) = tokio::join!(
            autoscaling::desired_capacity(c, group),
            autoscaling::last_failure(c, group)
        );
        Ok(Capacity {
            desired: desired?
                .ok_or_else(|| Error::not_deployed(format!("the Auto Scaling group {group}")))?,
            launch_failure: failure?,
        })
    }

    async fn instances(&self) -> Result<Vec<InstanceInfo>> {
        let c = &self.clients;
        let members = self.members().await?;
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        let views = ec2::describe(c, &ids).await?;
        Ok(members
            .into_iter()
            .map(|m| {
                let view = views.iter().find(|v| v.id == m.id);
                InstanceInfo {
                    state: view
                        .map(|v| v.state.clone())
                        .unwrap_or_else(|| words::group_to_instance(&m.lifecycle)),
                    profile: view.and_then(|v| v.profile.clone()).unwrap_or_default(),
                    id: m.id,
                    az: m.az,
                    health: m.health,
                    version: m.version,
                }
            })
            .collect())
    }

    async fn parameters(&self) -> Result<ParameterValues> {
        let c = &self.clients;
        let values = ssm::get(c, &self.names.parameters()).await?;
        let values: Option<Vec<String>> = values.into_iter().collect();
        values
            .as_deref()
            .and_then(ParameterValues::from_order)
            .ok_or_else(|| Error::not_deployed("the parameters"))
    }

    async fn set_parameter(&self, parameter: Parameter, value: &str) -> Result<()> {
        let c = &self.clients;
        let name = parameter.name(&self.names);
        if ssm::get(c, &[name]).await?[0].is_none() {
            return Err(Error::not_deployed(format!("the parameter {name}")));
        }
        ssm::put(c, &self.names.prefix, name, value).await
    }

    async fn replace_instance_profile(&self, instance: &str, profile: &str) -> Result<()> {
        self.member(instance).await?;
        let c = &self.clients;
        if iam::profile(c, &self.names.prefix, profile)
            .await?
            .ours()
            .is_none()
        {
            return Err(Error::cloud(
                "associate instance profile",
                instance,
                format!("instance profile {profile} does not exist"),
            ));
        }
        ec2::replace_profile(c, instance, profile).await
    }

    async fn reboot_instance(&self, instance: &str) -> Result<()> {
        self.member(instance).await?;
        ec2::reboot(&self.clients, instance).await
    }

    async fn terminate_instance(&self, instance: &str, decrement: bool) -> Result<()> {
        self.member(instance).await?;
        autoscaling::terminate(&self.clients, instance, decrement).await
    }

    async fn set_group_health_check(&self, kind: HealthCheckType, grace_s: u64) -> Result<()> {
        self.members().await?;
        let grace = i32::try_from(grace_s)
            .map_err(|_| Error::InvalidArgument(format!("grace period {grace_s} s is too long")))?;
        autoscaling::set_health_check(&self.clients, &self.names.group, kind.as_str(), grace).await
    }

    async fn az_outage(&self, az: &str) -> Result<()> {
        let c = &self.clients;
        let net = self.network().await?;
        if !net.subnets.iter().any(|(z, _)| z == az) {
            let zones: Vec<&str> = net.subnets.iter().map(|(z, _)| z.as_str()).collect();
            return Err(Error::InvalidArgument(format!(
                "unknown Availability Zone `{az}`: the group uses {}",
                zones.join(", ")
            )));
        }
        // AWS cannot be told to lose a zone: evacuate it instead. The group
        // stops using the zone and its instances are replaced elsewhere.
        let keep = self.subnets(Some(az)).await?;
        autoscaling::set_subnets(c, &self.names.group, &keep).await?;
        // Members already on their way out are left to it (terminating one
        // again is refused).
        let leaving = |m: &autoscaling::Member| words::group_leaving(&m.lifecycle);
        for m in self.members().await?.into_iter() {
            if m.az == az && !leaving(&m) {
                autoscaling::terminate(c, &m.id, false).await?;
            }
        }
        Ok(())
    }

    async fn zone_capacity(&self, az: &str, _available: bool) -> Result<()> {
        Err(Error::InvalidArgument(format!(
            "AWS cannot be told to run out of capacity in {az}: a zone without capacity is rehearsed on the local cloud only (see docs/fidelity.md); on AWS, `failure::az_outage` takes a zone away"
        )))
    }

    async fn scaling_activities(&self) -> Result<Vec<crate::cloud::ScalingActivity>> {
        autoscaling::activities(&self.clients, &self.names.group).await
    }

    async fn restore_azs(&self) -> Result<()> {
        let c = &self.clients;
        if autoscaling::group(c, &self.names.prefix, &self.names.group)
            .await?
            .ours()
            .is_none()
        {
            return Ok(());
        }
        let all = self.subnets(None).await?;
        autoscaling::set_subnets(c, &self.names.group, &all).await
    }

    async fn preflight(&self) -> Result<crate::cloud::preflight::Preflight> {
        let network = self.network().await;
        Ok(preflight::run(&self.clients, &self.names, network).await)
    }

    async fn create_version(&self, release: &crate::cloud::Release) -> Result<u32> {
        release.validate()?;
        refresh::create_version(&self.clients, &self.names, release).await
    }

    async fn versions(&self) -> Result<crate::cloud::Versions> {
        refresh::versions(&self.clients, &self.names).await
    }

    async fn start_refresh(
        &self,
        version: u32,
        prefs: &crate::cloud::RefreshPreferences,
    ) -> Result<String> {
        refresh::start(&self.clients, &self.names, version, prefs).await
    }

    async fn refresh(&self) -> Result<Option<crate::cloud::RefreshView>> {
        refresh::latest(&self.clients, &self.names).await
    }

    async fn cancel_refresh(&self) -> Result<String> {
        refresh::cancel(&self.clients, &self.names).await
    }

    async fn rollback_refresh(&self) -> Result<String> {
        refresh::rollback(&self.clients, &self.names).await
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let c = &self.clients;
        inventory::list(c, &self.vpc_only().await?, &self.names).await
    }

    async fn destroy(&self) -> Result<Teardown> {
        let c = &self.clients;
        self.known.forget();
        Ok(inventory::destroy(c, &self.vpc_only().await?, &self.names).await)
    }
}

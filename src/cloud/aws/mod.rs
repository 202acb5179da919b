//! The AWS backend: the same operations as the local cloud, through the
//! official AWS SDK for Rust, one module per service. Every resource is named
//! from the prefix and tagged `resilient:deployment=<prefix>`, so destroy finds
//! everything again by name, even after a crash or a half-done deploy.

pub mod autoscaling;
pub mod clients;
pub mod dynamodb;
pub mod ec2;
pub mod elb;
mod errors;
pub mod iam;
pub mod inventory;
pub mod poll;
pub mod ssm;
pub mod user_data;

use crate::cloud::{
    Cloud, DependencyFault, InstanceInfo, Parameter, ParameterValues, PortOutcome, Resource,
    TargetHealth,
};
use crate::error::{Error, Result};
use crate::names::Names;
use crate::settings::{AwsSettings, Backend, Settings};
use async_trait::async_trait;
pub use clients::Clients;
pub(crate) use errors::{attempt, code, describe, fail};
use std::time::Duration;
use tokio::sync::OnceCell;

/// The tag every resource carries, with the prefix as value.
pub const TAG_KEY: &str = "resilient:deployment";

/// The AWS backend.
pub struct AwsCloud {
    names: Names,
    settings: AwsSettings,
    instances: usize,
    clients: OnceCell<Clients>,
    network: OnceCell<ec2::Network>,
}

impl AwsCloud {
    /// A backend that connects on first use.
    pub fn new(settings: &Settings) -> Self {
        AwsCloud {
            names: Names::new(&settings.prefix),
            settings: settings.aws.clone(),
            instances: settings.instances,
            clients: OnceCell::new(),
            network: OnceCell::new(),
        }
    }

    /// The clients, connecting (and checking region, credentials and
    /// reachability) on first use.
    pub async fn clients(&self) -> Result<&Clients> {
        self.clients
            .get_or_try_init(|| clients::connect(&self.settings))
            .await
    }

    async fn network(&self) -> Result<&ec2::Network> {
        let c = self.clients().await?;
        self.network.get_or_try_init(|| ec2::network(c)).await
    }

    async fn members(&self) -> Result<Vec<autoscaling::Member>> {
        let c = self.clients().await?;
        autoscaling::members(c, &self.names.group)
            .await?
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

    /// Your public IP as checkip.amazonaws.com sees it (used only when no IP
    /// was given).
    async fn my_ip(&self) -> Result<String> {
        if let Some(ip) = &self.settings.my_ip {
            return Ok(ip.clone());
        }
        let client = crate::http::HttpClient::new(1);
        let r = client
            .get("http://checkip.amazonaws.com/", Duration::from_secs(5))
            .await
            .map_err(|e| {
                Error::cloud(
                    "find your public IP at",
                    "checkip.amazonaws.com",
                    format!("{e}; pass --my-ip"),
                )
            })?;
        let ip = String::from_utf8_lossy(&r.body).trim().to_string();
        if ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(Error::cloud(
                "find your public IP at",
                "checkip.amazonaws.com",
                "unexpected answer; pass --my-ip",
            ));
        }
        Ok(ip)
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    fn backend(&self) -> Backend {
        Backend::Aws
    }

    fn names(&self) -> &Names {
        &self.names
    }

    async fn create_table(&self) -> Result<()> {
        dynamodb::create(self.clients().await?, &self.names).await
    }

    async fn create_instance_profile(&self) -> Result<()> {
        let c = self.clients().await?;
        let n = &self.names;
        let (good, bad) = tokio::join!(
            iam::create_profile(
                c,
                &n.prefix,
                &n.policy,
                &n.role,
                &n.profile,
                iam::policy_document(c, n, true)
            ),
            iam::create_profile(
                c,
                &n.prefix,
                &n.bc_policy,
                &n.bc_role,
                &n.bc_profile,
                iam::policy_document(c, n, false)
            ),
        );
        good.and(bad)
    }

    async fn create_launch_template(&self) -> Result<()> {
        let c = self.clients().await?;
        let ami = ssm::latest_ami(c).await?;
        ec2::create_launch_template(c, &self.names, &ami).await
    }

    async fn create_auto_scaling_group(&self) -> Result<()> {
        let c = self.clients().await?;
        let subnets = self.subnets(None).await?;
        autoscaling::create(c, &self.names, &subnets, self.instances).await?;
        if let Some(tg) = elb::target_group_arn(c, &self.names.target_group).await? {
            autoscaling::attach_target_group(c, &self.names.group, &tg).await?;
        }
        Ok(())
    }

    async fn put_parameters(&self, values: &ParameterValues) -> Result<()> {
        let c = self.clients().await?;
        let n = &self.names;
        let (a, b, d) = tokio::join!(
            ssm::put(c, &n.prefix, &n.param_table, &values.table),
            ssm::put(
                c,
                &n.prefix,
                &n.param_failure_response,
                &values.failure_response
            ),
            ssm::put(c, &n.prefix, &n.param_health_check, &values.health_check),
        );
        a.and(b).and(d)
    }

    async fn create_load_balancer(&self) -> Result<String> {
        let c = self.clients().await?;
        let net = self.network().await?;
        let (tg, endpoint) = elb::create(c, &self.names, net).await?;
        if autoscaling::exists(c, &self.names.group).await? {
            autoscaling::attach_target_group(c, &self.names.group, &tg).await?;
        }
        Ok(endpoint)
    }

    async fn open_port(&self, cidr: Option<String>) -> Result<PortOutcome> {
        let c = self.clients().await?;
        let net = self.network().await?;
        let cidr = match cidr {
            Some(c) => c,
            None => format!("{}/32", self.my_ip().await?),
        };
        ec2::open_port(c, net, &self.names.prefix, &cidr).await
    }

    async fn endpoint(&self) -> Result<String> {
        let c = self.clients().await?;
        elb::load_balancer(c, &self.names.load_balancer)
            .await?
            .map(|(_, dns)| format!("http://{dns}"))
            .ok_or_else(|| {
                Error::not_deployed(format!("the load balancer {}", self.names.load_balancer))
            })
    }

    async fn targets(&self) -> Result<Vec<TargetHealth>> {
        elb::target_health(self.clients().await?, &self.names).await
    }

    async fn instances(&self) -> Result<Vec<InstanceInfo>> {
        let c = self.clients().await?;
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
                        .unwrap_or_else(|| m.lifecycle.to_lowercase()),
                    profile: view.and_then(|v| v.profile.clone()).unwrap_or_default(),
                    id: m.id,
                    az: m.az,
                    health: m.health,
                }
            })
            .collect())
    }

    async fn parameters(&self) -> Result<ParameterValues> {
        let c = self.clients().await?;
        let values = ssm::get(c, &self.names.parameters()).await?;
        match values.as_slice() {
            [Some(t), Some(f), Some(h)] => Ok(ParameterValues {
                table: t.clone(),
                failure_response: f.clone(),
                health_check: h.clone(),
            }),
            _ => Err(Error::not_deployed("the parameters")),
        }
    }

    async fn set_parameter(&self, parameter: Parameter, value: &str) -> Result<()> {
        let c = self.clients().await?;
        let name = parameter.name(&self.names);
        if ssm::get(c, &[name]).await?[0].is_none() {
            return Err(Error::not_deployed(format!("the parameter {name}")));
        }
        ssm::put(c, &self.names.prefix, name, value).await
    }

    async fn replace_instance_profile(&self, instance: &str, profile: &str) -> Result<()> {
        self.member(instance).await?;
        let c = self.clients().await?;
        if !iam::profile_exists(c, profile).await? {
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
        ec2::reboot(self.clients().await?, instance).await
    }

    async fn terminate_instance(&self, instance: &str, decrement: bool) -> Result<()> {
        self.member(instance).await?;
        autoscaling::terminate(self.clients().await?, instance, decrement).await
    }

    async fn az_outage(&self, az: &str) -> Result<()> {
        let c = self.clients().await?;
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
        for m in self.members().await?.into_iter().filter(|m| m.az == az) {
            autoscaling::terminate(c, &m.id, false).await?;
        }
        Ok(())
    }

    async fn restore_azs(&self) -> Result<()> {
        let c = self.clients().await?;
        if !autoscaling::exists(c, &self.names.group).await? {
            return Ok(());
        }
        let all = self.subnets(None).await?;
        autoscaling::set_subnets(c, &self.names.group, &all).await
    }

    async fn set_dependency_fault(&self, fault: DependencyFault) -> Result<()> {
        if fault == DependencyFault::default() {
            return Ok(());
        }
        Err(Error::Unsupported {
            backend: "aws",
            what:
                "dependency latency and error injection yet (the shipped server has no fault hooks)"
                    .into(),
        })
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let c = self.clients().await?;
        inventory::list(c, self.network().await?, &self.names).await
    }

    async fn destroy(&self) -> Result<Vec<Resource>> {
        let c = self.clients().await?;
        inventory::destroy(c, self.network().await?, &self.names).await
    }
}

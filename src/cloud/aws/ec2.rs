//! EC2: the default network, our two security groups, the launch template,
//! instances and their profiles, and the port-80 rule for the user's /32.

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, attempt, code, fail, poll};
use crate::cloud::{PortOutcome, Resource};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_ec2::types::{
    Filter, InstanceType, IpPermission, IpRange, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType, Tag,
    TagSpecification, UserIdGroupPair,
};
use std::time::Duration;

/// The default VPC and up to three of its default subnets (one per zone).
#[derive(Debug, Clone)]
pub struct Network {
    /// The default VPC.
    pub vpc: String,
    /// (zone, subnet id), sorted by zone.
    pub subnets: Vec<(String, String)>,
}

/// Our two security groups' ids.
#[derive(Debug, Clone)]
pub struct SecurityGroups {
    /// The load balancer's: port 80 from the user's /32 only, once opened.
    pub lb: String,
    /// The instances': port 80 from the load balancer's group only.
    pub instances: String,
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tag(prefix: &str) -> Tag {
    Tag::builder().key(TAG_KEY).value(prefix).build()
}

fn tags(tags: &[Tag]) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    tags.iter().map(|t| (t.key(), t.value()))
}

fn tagged(kind: ResourceType, prefix: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(tag(prefix))
        .build()
}

/// Finds the default network.
pub async fn network(c: &Clients) -> Result<Network> {
    let vpcs = c
        .ec2
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .map_err(|e| fail("find", "the default VPC", e))?;
    let vpc = vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| {
            Error::cloud(
                "find",
                "the default VPC",
                "this region has none (create one with `aws ec2 create-default-vpc`)",
            )
        })?
        .to_string();
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .map_err(|e| fail("find default subnets of", &vpc, e))?;
    let mut subnets: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .filter_map(|s| {
            Some((
                s.availability_zone()?.to_string(),
                s.subnet_id()?.to_string(),
            ))
        })
        .collect();
    subnets.sort();
    subnets.dedup_by(|a, b| a.0 == b.0);
    subnets.truncate(3);
    if subnets.is_empty() {
        return Err(Error::cloud(
            "find default subnets of",
            &vpc,
            "there are none",
        ));
    }
    Ok(Network { vpc, subnets })
}

/// The security group with this name in the VPC.
pub async fn security_group(
    c: &Clients,
    vpc: &str,
    prefix: &str,
    name: &str,
) -> Result<Found<String>> {
    let out = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc))
        .filters(filter("group-name", name))
        .send()
        .await
        .map_err(|e| fail("describe security group", name, e))?;
    Ok(match out.security_groups().first() {
        None => Found::Absent,
        Some(g) => Found::tagged(
            g.group_id().unwrap_or_default().to_string(),
            tags(g.tags()),
            prefix,
        ),
    })
}

async fn create_security_group(
    c: &Clients,
    vpc: &str,
    prefix: &str,
    name: &str,
    what: &str,
) -> Result<String> {
    if let Some(id) =
        security_group(c, vpc, prefix, name)
            .await?
            .adopt("security group", name, prefix)?
    {
        return Ok(id);
    }
    c.ec2
        .create_security_group()
        .group_name(name)
        .description(format!("resilient {prefix}: {what}"))
        .vpc_id(vpc)
        .tag_specifications(tagged(ResourceType::SecurityGroup, prefix))
        .send()
        .await
        .map_err(|e| fail("create security group", name, e))?
        .group_id()
        .map(str::to_string)
        .ok_or_else(|| Error::cloud("create security group", name, "no id returned"))
}

/// Creates (or finds ours) the load balancer's and the instances' security
/// groups; the instances' admits port 80 from the load balancer's group only.
pub async fn security_groups(c: &Clients, names: &Names, vpc: &str) -> Result<SecurityGroups> {
    let prefix = &names.prefix;
    let lb = create_security_group(
        c,
        vpc,
        prefix,
        &names.lb_security_group,
        "the load balancer (HTTP from the demo user only)",
    )
    .await?;
    let instances = create_security_group(
        c,
        vpc,
        prefix,
        &names.instance_security_group,
        "the instances (HTTP from the load balancer only)",
    )
    .await?;
    let from_lb = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(80)
        .to_port(80)
        .user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(&lb)
                .description(format!("resilient {prefix}: HTTP from the load balancer"))
                .build(),
        )
        .build();
    let r = c
        .ec2
        .authorize_security_group_ingress()
        .group_id(&instances)
        .ip_permissions(from_lb)
        .send()
        .await;
    match r {
        Ok(_) => {}
        Err(e) if code(&e) == Some("InvalidPermission.Duplicate") => {}
        Err(e) => {
            return Err(fail(
                "allow HTTP from the load balancer in",
                &names.instance_security_group,
                e,
            ));
        }
    }
    Ok(SecurityGroups { lb, instances })
}

/// Deletes our security group, retrying while network interfaces of the
/// deleted load balancer and instances still hold it. Skips a foreign one.
pub async fn delete_security_group(
    c: &Clients,
    vpc: &str,
    prefix: &str,
    name: &str,
) -> Result<Removed> {
    let id = match security_group(c, vpc, prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => return Ok(Removed::foreign("security group", name, prefix)),
        Found::Ours(id) => id,
    };
    const TRANSIENT: &[&str] = &["DependencyViolation"];
    poll::retry(Duration::from_secs(600), || async {
        match c.ec2.delete_security_group().group_id(&id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("InvalidGroup.NotFound") => Ok(()),
            Err(e) => Err(attempt(e, TRANSIENT, "delete security group", name)),
        }
    })
    .await?;
    Ok(Removed::one("security group", format!("{name} ({id})")))
}

/// Creates the launch template: t3.micro, Amazon Linux 2023, IMDSv2 required,
/// the instance profile, and the user data that installs the server.
pub async fn create_launch_template(
    c: &Clients,
    names: &Names,
    ami: &str,
    security_group: &str,
) -> Result<()> {
    if launch_template(c, &names.prefix, &names.launch_template)
        .await?
        .adopt("launch template", &names.launch_template, &names.prefix)?
        .is_some()
    {
        return Ok(());
    }
    let user_data = super::user_data::script(&names.prefix, &c.region);
    let data = RequestLaunchTemplateData::builder()
        .image_id(ami)
        .instance_type(InstanceType::T3Micro)
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(&names.profile)
                .build(),
        )
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .build(),
        )
        .security_group_ids(security_group)
        .user_data(aws_smithy_types::base64::encode(user_data))
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .tags(tag(&names.prefix))
                .build(),
        )
        .build();
    let r = c
        .ec2
        .create_launch_template()
        .launch_template_name(&names.launch_template)
        .launch_template_data(data)
        .tag_specifications(tagged(ResourceType::LaunchTemplate, &names.prefix))
        .send()
        .await;
    r.map(|_| ())
        .map_err(|e| fail("create launch template", &names.launch_template, e))
}

/// The launch template.
pub async fn launch_template(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    match c
        .ec2
        .describe_launch_templates()
        .launch_template_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(match out.launch_templates().first() {
            None => Found::Absent,
            Some(t) => Found::tagged((), tags(t.tags()), prefix),
        }),
        Err(e) if is_not_found(code(&e)) => Ok(Found::Absent),
        Err(e) => Err(fail("describe launch template", name, e)),
    }
}

fn is_not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("NotFound") || c.contains("Malformed"))
}

/// Deletes the launch template; false if it did not exist.
pub async fn delete_launch_template(c: &Clients, name: &str) -> Result<bool> {
    match c
        .ec2
        .delete_launch_template()
        .launch_template_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(code(&e)) => Ok(false),
        Err(e) => Err(fail("delete launch template", name, e)),
    }
}

/// An instance as EC2 describes it.
#[derive(Debug, Clone)]
pub struct InstanceView {
    /// Instance id.
    pub id: String,
    /// Lifecycle state name.
    pub state: String,
    /// The associated instance profile's name, if any.
    pub profile: Option<String>,
}

/// Describes instances by id.
pub async fn describe(c: &Clients, ids: &[String]) -> Result<Vec<InstanceView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = c
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(|e| fail("describe instances", &ids.join(", "), e))?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| InstanceView {
            id: i.instance_id().unwrap_or_default().to_string(),
            state: i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            profile: i
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .and_then(|arn| arn.rsplit('/').next())
                .map(str::to_string),
        })
        .collect())
}

/// Associates `profile` with the instance, replacing its current association,
/// or associating it where there is none. Retries while IAM propagates.
pub async fn replace_profile(c: &Clients, instance: &str, profile: &str) -> Result<()> {
    let current = c
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", instance))
        .send()
        .await
        .map_err(|e| fail("describe instance profile associations of", instance, e))?;
    let association = current
        .iam_instance_profile_associations()
        .iter()
        .find(|a| {
            a.state()
                .is_some_and(|s| s.as_str() == "associated" || s.as_str() == "associating")
        })
        .and_then(|a| a.association_id())
        .map(str::to_string);
    let spec = aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
        .name(profile)
        .build();
    // A profile created moments ago may not be usable yet: retry those.
    const TRANSIENT: &[&str] = &["InvalidParameterValue"];
    poll::retry(Duration::from_secs(60), || {
        let spec = spec.clone();
        let association = association.clone();
        async move {
            match association {
                Some(id) => c
                    .ec2
                    .replace_iam_instance_profile_association()
                    .association_id(id)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| attempt(e, TRANSIENT, "replace instance profile of", instance)),
                None => c
                    .ec2
                    .associate_iam_instance_profile()
                    .instance_id(instance)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        attempt(e, TRANSIENT, "associate instance profile with", instance)
                    }),
            }
        }
    })
    .await
}

/// Reboots an instance.
pub async fn reboot(c: &Clients, instance: &str) -> Result<()> {
    c.ec2
        .reboot_instances()
        .instance_ids(instance)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("reboot instance", instance, e))
}

fn rule_description(prefix: &str) -> String {
    format!("resilient {prefix}: HTTP from the demo user")
}

/// Port 80 from `cidr`; described (so destroy finds it again) when `prefix` is given.
fn port_rule(cidr: &str, prefix: Option<&str>) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(80)
        .to_port(80)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(prefix.map(rule_description))
                .build(),
        )
        .build()
}

/// Allows port 80 from `cidr` in the load balancer's security group (ours
/// alone: nothing else is opened).
pub async fn open_port(c: &Clients, group: &str, prefix: &str, cidr: &str) -> Result<PortOutcome> {
    let r = c
        .ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(port_rule(cidr, Some(prefix)))
        .send()
        .await;
    match r {
        Ok(_) => Ok(PortOutcome {
            opened: true,
            detail: format!("port 80 of the load balancer is open to {cidr} ({group})"),
        }),
        Err(e) if code(&e) == Some("InvalidPermission.Duplicate") => Ok(PortOutcome {
            opened: false,
            detail: format!("port 80 of the load balancer was already open to {cidr} ({group})"),
        }),
        Err(e) => Err(fail("open port 80 in", group, e)),
    }
}

/// The port-80 rules open_port added to the group: the cidr of each.
pub async fn port_rules(c: &Clients, group: &str, prefix: &str) -> Result<Vec<String>> {
    let groups = c
        .ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(|e| fail("describe security group", group, e))?;
    let wanted = rule_description(prefix);
    Ok(groups
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .filter(|p| p.from_port() == Some(80))
        .flat_map(|p| p.ip_ranges())
        .filter(|r| r.description() == Some(wanted.as_str()))
        .filter_map(|r| r.cidr_ip().map(str::to_string))
        .collect())
}

/// The resource record of a port rule.
pub fn port_rule_resource(group: &str, cidr: &str) -> Resource {
    Resource::new("security group rule", format!("{group} tcp/80 from {cidr}"))
}

/// Revokes the port-80 rules open_port added: the first thing destroy does,
/// so no later failure can leave the port open.
pub async fn close_port(c: &Clients, group: &str, prefix: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for cidr in port_rules(c, group, prefix).await? {
        c.ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .ip_permissions(port_rule(&cidr, None))
            .send()
            .await
            .map_err(|e| fail("revoke port 80 rule in", group, e))?;
        out.push(port_rule_resource(group, &cidr));
    }
    Ok(out)
}

//! Our two security groups (never the VPC's default one) and the port-80
//! rule for the user's /32: the load balancer's group admits only that
//! address, the instances' group only the load balancer's group.

use super::ec2::{filter, tagged, tags};
use super::ownership::{Found, Removed};
use super::{Clients, attempt, code, fail, poll};
use crate::cloud::{PortOutcome, Resource, ResourceKind};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use std::time::Duration;

/// Our two security groups' ids.
#[derive(Debug, Clone)]
pub(crate) struct SecurityGroups {
    /// The load balancer's: port 80 from the user's /32 only, once opened.
    pub lb: String,
    /// The instances': port 80 from the load balancer's group only.
    pub instances: String,
}

/// The security group with this name in the VPC.
pub(crate) async fn security_group(
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
    if let Some(id) = security_group(c, vpc, prefix, name).await?.adopt(
        ResourceKind::SecurityGroup,
        name,
        prefix,
    )? {
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
pub(crate) async fn security_groups(
    c: &Clients,
    names: &Names,
    vpc: &str,
) -> Result<SecurityGroups> {
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
    // Groups created moments ago may not be known yet (EC2 is eventually
    // consistent): retry `InvalidGroup.NotFound`.
    poll::retry(super::ec2::CONSISTENCY, || async {
        let r = c
            .ec2
            .authorize_security_group_ingress()
            .group_id(&instances)
            .ip_permissions(from_lb.clone())
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("InvalidPermission.Duplicate") => Ok(()),
            Err(e) => Err(attempt(
                e,
                &["InvalidGroup.NotFound"],
                "allow HTTP from the load balancer in",
                &names.instance_security_group,
            )),
        }
    })
    .await?;
    Ok(SecurityGroups { lb, instances })
}

/// Deletes our security group, retrying while network interfaces of the
/// deleted load balancer and instances still hold it. Skips a foreign one.
pub(crate) async fn delete_security_group(
    c: &Clients,
    vpc: &str,
    prefix: &str,
    name: &str,
) -> Result<Removed> {
    let id = match security_group(c, vpc, prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => return Ok(Removed::foreign(ResourceKind::SecurityGroup, name, prefix)),
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
    Ok(Removed::one(
        ResourceKind::SecurityGroup,
        format!("{name} ({id})"),
    ))
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
pub(crate) async fn open_port(
    c: &Clients,
    group: &str,
    prefix: &str,
    cidr: &str,
) -> Result<PortOutcome> {
    let r = poll::retry(super::ec2::CONSISTENCY, || async {
        match c
            .ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(port_rule(cidr, Some(prefix)))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e) if code(&e) == Some("InvalidGroup.NotFound") => Err(attempt(
                e,
                &["InvalidGroup.NotFound"],
                "open port 80 in",
                group,
            )),
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
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
pub(crate) async fn port_rules(c: &Clients, group: &str, prefix: &str) -> Result<Vec<String>> {
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
pub(crate) fn port_rule_resource(group: &str, cidr: &str) -> Resource {
    Resource::new(
        ResourceKind::SecurityGroupRule,
        format!("{group} tcp/80 from {cidr}"),
    )
}

/// Revokes the port-80 rules open_port added: the first thing destroy does,
/// so no later failure can leave the port open.
pub(crate) async fn close_port(c: &Clients, group: &str, prefix: &str) -> Result<Vec<Resource>> {
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

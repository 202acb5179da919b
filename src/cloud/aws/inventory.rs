//! What a deployment owns, found again by name (so it works after a crash or a
//! half-done deploy), and its deletion in dependency order.

use super::ec2::Network;
use super::{Clients, autoscaling, dynamodb, ec2, elb, iam, ssm};
use crate::cloud::Resource;
use crate::error::Result;
use crate::names::Names;

/// Everything of the deployment that exists now, found by name.
pub async fn list(c: &Clients, net: &Network, names: &Names) -> Result<Vec<Resource>> {
    let n = names;
    let mut out = Vec::new();
    if elb::load_balancer(c, &n.load_balancer).await?.is_some() {
        out.push(Resource::new("load balancer", &n.load_balancer));
    }
    if elb::target_group_arn(c, &n.target_group).await?.is_some() {
        out.push(Resource::new("target group", &n.target_group));
    }
    if let Some(members) = autoscaling::members(c, &n.group).await? {
        out.push(Resource::new("auto scaling group", &n.group));
        out.extend(members.into_iter().map(|m| Resource::new("instance", m.id)));
    }
    if ec2::launch_template_exists(c, &n.launch_template).await? {
        out.push(Resource::new("launch template", &n.launch_template));
    }
    for (profile, role, policy) in [
        (&n.profile, &n.role, &n.policy),
        (&n.bc_profile, &n.bc_role, &n.bc_policy),
    ] {
        if iam::profile_exists(c, profile).await? {
            out.push(Resource::new("instance profile", profile));
        }
        let (has_role, has_policy) = iam::role_and_policy_exist(c, role, policy).await?;
        if has_role {
            out.push(Resource::new("iam role", role));
        }
        if has_policy {
            out.push(Resource::new("iam policy", policy));
        }
    }
    if dynamodb::exists(c, &n.table).await? {
        out.push(Resource::new("table", &n.table));
    }
    let params = ssm::get(c, &n.parameters()).await?;
    for (name, value) in n.parameters().iter().zip(params) {
        if value.is_some() {
            out.push(Resource::new("parameter", *name));
        }
    }
    for cidr in ec2::port_rules(c, net, &n.prefix).await? {
        out.push(Resource::new(
            "security group rule",
            format!("{} tcp/80 from {cidr}", net.security_group),
        ));
    }
    Ok(out)
}

/// Deletes everything in dependency order: load balancer, group and its
/// instances, target group, launch template, profiles/roles/policies, table,
/// parameters, the port rule. "Not found" counts as done.
pub async fn destroy(c: &Clients, net: &Network, names: &Names) -> Result<Vec<Resource>> {
    let n = names;
    let mut out = elb::delete_load_balancer(c, n).await?;
    let members: Vec<String> = autoscaling::members(c, &n.group)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.id)
        .collect();
    if autoscaling::delete(c, &n.group).await? {
        out.push(Resource::new("auto scaling group", &n.group));
        out.extend(members.into_iter().map(|id| Resource::new("instance", id)));
    }
    out.extend(elb::delete_target_group(c, n).await?);
    if ec2::launch_template_exists(c, &n.launch_template).await?
        && ec2::delete_launch_template(c, &n.launch_template).await?
    {
        out.push(Resource::new("launch template", &n.launch_template));
    }
    let (good, bad) = tokio::join!(
        iam::delete_profile(c, &n.policy, &n.role, &n.profile),
        iam::delete_profile(c, &n.bc_policy, &n.bc_role, &n.bc_profile),
    );
    out.extend(good?);
    out.extend(bad?);
    if dynamodb::delete(c, &n.table).await? {
        out.push(Resource::new("table", &n.table));
    }
    for name in ssm::delete(c, &n.parameters()).await? {
        out.push(Resource::new("parameter", name));
    }
    out.extend(ec2::close_port(c, net, &n.prefix).await?);
    Ok(out)
}

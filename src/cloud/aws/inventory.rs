//! What a deployment owns, found again by name and checked by tag (so it
//! works after a crash or a half-done deploy, and never touches a resource
//! that only shares a name), and its deletion in dependency order.

use super::ec2::Network;
use super::iam::Identity;
use super::ownership::{Found, Removed};
use super::{Clients, autoscaling, dynamodb, ec2, elb, iam, security_groups, ssm};
use crate::cloud::{Leftover, Resource, ResourceKind, Teardown};
use crate::error::Result;
use crate::names::Names;

/// Everything of the deployment that exists now and carries our tag.
pub(crate) async fn list(c: &Clients, net: &Network, names: &Names) -> Result<Vec<Resource>> {
    let n = names;
    let p = &n.prefix;
    let mut out = Vec::new();
    let lb_sg = security_groups::security_group(c, &net.vpc, p, &n.lb_security_group).await?;
    if let Some(group) = lb_sg.clone().ours() {
        for cidr in security_groups::port_rules(c, &group, p).await? {
            out.push(security_groups::port_rule_resource(&group, &cidr));
        }
    }
    if elb::load_balancer(c, p, &n.load_balancer)
        .await?
        .ours()
        .is_some()
    {
        out.push(Resource::new(ResourceKind::LoadBalancer, &n.load_balancer));
    }
    if elb::target_group(c, p, &n.target_group)
        .await?
        .ours()
        .is_some()
    {
        out.push(Resource::new(ResourceKind::TargetGroup, &n.target_group));
    }
    if let Some(members) = autoscaling::group(c, p, &n.group).await?.ours() {
        out.push(Resource::new(ResourceKind::AutoScalingGroup, &n.group));
        out.extend(
            members
                .into_iter()
                .map(|m| Resource::new(ResourceKind::Instance, m.id)),
        );
    }
    if ec2::launch_template(c, p, &n.launch_template)
        .await?
        .ours()
        .is_some()
    {
        out.push(Resource::new(
            ResourceKind::LaunchTemplate,
            &n.launch_template,
        ));
    }
    for id in [Identity::good(n), Identity::bad(n)] {
        if iam::profile(c, p, id.profile).await?.ours().is_some() {
            out.push(Resource::new(ResourceKind::InstanceProfile, id.profile));
        }
        if iam::role(c, p, id.role).await?.ours().is_some() {
            out.push(Resource::new(ResourceKind::IamRole, id.role));
        }
        if iam::policy(c, p, id.policy).await?.ours().is_some() {
            out.push(Resource::new(ResourceKind::IamPolicy, id.policy));
        }
    }
    // A table being deleted is on its way out, not left behind.
    if dynamodb::table(c, p, &n.table)
        .await?
        .ours()
        .is_some_and(|s| s != dynamodb::TableStatus::Deleting)
    {
        out.push(Resource::new(ResourceKind::Table, &n.table));
    }
    for name in n.parameters() {
        if ssm::parameter(c, p, name).await?.ours().is_some() {
            out.push(Resource::new(ResourceKind::Parameter, name));
        }
    }
    let instance_sg =
        security_groups::security_group(c, &net.vpc, p, &n.instance_security_group).await?;
    for (name, found) in [
        (&n.instance_security_group, instance_sg),
        (&n.lb_security_group, lb_sg),
    ] {
        if let Found::Ours(id) = found {
            out.push(Resource::new(
                ResourceKind::SecurityGroup,
                format!("{name} ({id})"),
            ));
        }
    }
    Ok(out)
}

/// Collects each destroy step's outcome; a failed step is recorded, not fatal.
struct Sweep(Teardown);

impl Sweep {
    /// Records one step; true when it succeeded.
    fn step(&mut self, kind: ResourceKind, name: &str, r: Result<Removed>) -> bool {
        match r {
            Ok(removed) => {
                self.0.deleted.extend(removed.deleted);
                self.0.skipped.extend(removed.skipped);
                true
            }
            Err(e) => {
                self.0.failed.push(Leftover::new(kind, name, e.to_string()));
                false
            }
        }
    }

    /// Records a step not tried because one it depends on failed.
    fn blocked(&mut self, kind: ResourceKind, name: &str, because: &str) {
        self.0.failed.push(Leftover::new(
            kind,
            name,
            format!("not tried: {because} is still there"),
        ));
    }
}

/// Deletes everything ours in dependency order, trying every step: the
/// port-80 rule first (so no failure leaves the port open), load balancer,
/// group and its instances, target group, launch template, profiles, roles
/// and policies, table, parameters, and last the security groups. "Not
/// found" counts as done; someone else's resources are skipped.
pub(crate) async fn destroy(c: &Clients, net: &Network, names: &Names) -> Teardown {
    let n = names;
    let p = &n.prefix;
    let mut s = Sweep(Teardown::default());
    let port = async {
        match security_groups::security_group(c, &net.vpc, p, &n.lb_security_group).await? {
            Found::Ours(group) => Ok(Removed {
                deleted: security_groups::close_port(c, &group, p).await?,
                ..Removed::default()
            }),
            _ => Ok(Removed::default()),
        }
    };
    let port = port.await;
    s.step(ResourceKind::SecurityGroupRule, &n.lb_security_group, port);
    // Independent, and minutes each on AWS: both at once.
    let (lb, group) = tokio::join!(
        elb::delete_load_balancer(c, n),
        autoscaling::delete(c, p, &n.group)
    );
    let lb_gone = s.step(ResourceKind::LoadBalancer, &n.load_balancer, lb);
    let group_gone = s.step(ResourceKind::AutoScalingGroup, &n.group, group);
    if lb_gone {
        let tg = elb::delete_target_group(c, n).await;
        s.step(ResourceKind::TargetGroup, &n.target_group, tg);
    } else {
        s.blocked(
            ResourceKind::TargetGroup,
            &n.target_group,
            "the load balancer",
        );
    }
    let lt = async {
        match ec2::launch_template(c, p, &n.launch_template).await? {
            Found::Absent => Ok(Removed::default()),
            Found::Foreign => Ok(Removed::foreign(
                ResourceKind::LaunchTemplate,
                &n.launch_template,
                p,
            )),
            Found::Ours(()) => Ok(
                if ec2::delete_launch_template(c, &n.launch_template).await? {
                    Removed::one(ResourceKind::LaunchTemplate, &n.launch_template)
                } else {
                    Removed::default()
                },
            ),
        }
    };
    let lt = lt.await;
    s.step(ResourceKind::LaunchTemplate, &n.launch_template, lt);
    let (good, bad) = tokio::join!(
        iam::delete_profile(c, p, Identity::good(n)),
        iam::delete_profile(c, p, Identity::bad(n)),
    );
    s.step(ResourceKind::InstanceProfile, &n.profile, good);
    s.step(ResourceKind::InstanceProfile, &n.bc_profile, bad);
    let table = dynamodb::delete(c, p, &n.table).await;
    s.step(ResourceKind::Table, &n.table, table);
    let params = ssm::delete(c, p, &n.parameters()).await;
    s.step(ResourceKind::Parameter, &n.parameters().join(", "), params);
    // Network interfaces of the load balancer and the instances hold the
    // groups: only once both are gone can the groups go.
    for sg in [&n.instance_security_group, &n.lb_security_group] {
        if !lb_gone {
            s.blocked(ResourceKind::SecurityGroup, sg, "the load balancer");
        } else if !group_gone {
            s.blocked(ResourceKind::SecurityGroup, sg, "the Auto Scaling group");
        } else {
            let r = security_groups::delete_security_group(c, &net.vpc, p, sg).await;
            s.step(ResourceKind::SecurityGroup, sg, r);
        }
    }
    s.0
}

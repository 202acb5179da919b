//! What a deploy will create, and roughly what it costs per hour on AWS.

use super::ResourceKind;
use crate::names::Names;
use crate::settings::Backend;
use serde::Serialize;

/// One resource a deploy would create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PlannedResource {
    /// The kind.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// Rough on-demand cost per hour in USD on AWS (us-east-1), 0 on the local cloud.
    pub usd_per_hour: f64,
}

/// Hourly prices used for the estimate (us-east-1 on-demand list prices).
mod price {
    /// One t3.micro instance.
    pub(super) const T3_MICRO: f64 = 0.0104;
    /// One Application Load Balancer, without capacity units.
    pub(super) const ALB: f64 = 0.0225;
    /// One load balancer capacity unit (a demo uses well under one).
    pub(super) const LCU: f64 = 0.008;
    /// One public IPv4 address, in use or idle (billed since February 2024):
    /// each instance in a default subnet gets one, and an internet-facing
    /// load balancer one per zone it serves.
    pub(super) const PUBLIC_IPV4: f64 = 0.005;
}

/// The zones the load balancer serves (one public address each).
const LB_ZONES: usize = 3;

/// Lists what a deploy creates, in creation order.
pub(crate) fn plan(names: &Names, instances: usize, backend: Backend) -> Vec<PlannedResource> {
    use ResourceKind as K;
    let aws = backend == Backend::Aws;
    let cost = |usd: f64| if aws { usd } else { 0.0 };
    let mut out = vec![
        (K::Table, names.table.clone(), 0.0),
        (K::IamPolicy, names.policy.clone(), 0.0),
        (K::IamRole, names.role.clone(), 0.0),
        (K::InstanceProfile, names.profile.clone(), 0.0),
        (K::IamPolicy, names.bc_policy.clone(), 0.0),
        (K::IamRole, names.bc_role.clone(), 0.0),
        (K::InstanceProfile, names.bc_profile.clone(), 0.0),
        (K::LaunchTemplate, names.launch_template.clone(), 0.0),
        (K::AutoScalingGroup, names.group.clone(), 0.0),
    ];
    for i in 0..instances {
        out.push((
            K::Instance,
            format!("{} #{}", names.group, i + 1),
            price::T3_MICRO,
        ));
        if aws {
            out.push((
                K::PublicIpv4Address,
                format!("{} #{}", names.group, i + 1),
                price::PUBLIC_IPV4,
            ));
        }
    }
    for p in names.parameters() {
        out.push((K::Parameter, p.to_string(), 0.0));
    }
    out.extend([
        (K::TargetGroup, names.target_group.clone(), 0.0),
        (
            K::LoadBalancer,
            names.load_balancer.clone(),
            price::ALB + price::LCU,
        ),
        (K::Listener, format!("{}:80", names.load_balancer), 0.0),
    ]);
    if aws {
        for zone in 1..=LB_ZONES {
            out.push((
                K::PublicIpv4Address,
                format!("{} zone #{zone}", names.load_balancer),
                price::PUBLIC_IPV4,
            ));
        }
        out.extend([
            (K::SecurityGroup, names.lb_security_group.clone(), 0.0),
            (K::SecurityGroup, names.instance_security_group.clone(), 0.0),
        ]);
    }
    out.into_iter()
        .map(|(kind, name, usd)| PlannedResource {
            kind,
            name,
            usd_per_hour: cost(usd),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_plan_is_free_and_aws_plan_is_not() {
        let names = Names::new("p");
        let local = plan(&names, 3, Backend::Local);
        assert!(local.iter().all(|r| r.usd_per_hour == 0.0));
        assert_eq!(
            local
                .iter()
                .filter(|r| r.kind == ResourceKind::Instance)
                .count(),
            3
        );
        let aws: f64 = plan(&names, 3, Backend::Aws)
            .iter()
            .map(|r| r.usd_per_hour)
            .sum();
        // Three t3.micro, the load balancer with one capacity unit, and six
        // public IPv4 addresses (one per instance, one per zone of the load
        // balancer).
        assert!((aws - (3.0 * 0.0104 + 0.0225 + 0.008 + 6.0 * 0.005)).abs() < 1e-9);
        assert!(
            local
                .iter()
                .all(|r| r.kind != ResourceKind::PublicIpv4Address)
        );
    }
}

//! The kinds of resource a deployment owns.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The kind of a resource a deployment owns, plans or deletes, in the
/// words `inspect::resources()`, `deploy::plan()` and destroy show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// The DynamoDB table.
    Table,
    /// An IAM policy.
    IamPolicy,
    /// An IAM role.
    IamRole,
    /// An instance profile.
    InstanceProfile,
    /// The launch template.
    LaunchTemplate,
    /// The Auto Scaling group.
    AutoScalingGroup,
    /// An instance of the group.
    Instance,
    /// A public IPv4 address (billed on AWS).
    PublicIpv4Address,
    /// A Parameter Store parameter.
    Parameter,
    /// The target group.
    TargetGroup,
    /// The load balancer.
    LoadBalancer,
    /// The load balancer's listener.
    Listener,
    /// A security group.
    SecurityGroup,
    /// A rule of a security group (the opened port).
    SecurityGroupRule,
}

words!(closed "resource kind" ResourceKind {
    Table => "table",
    IamPolicy => "iam policy",
    IamRole => "iam role",
    InstanceProfile => "instance profile",
    LaunchTemplate => "launch template",
    AutoScalingGroup => "auto scaling group",
    Instance => "instance",
    PublicIpv4Address => "public ipv4 address",
    Parameter => "parameter",
    TargetGroup => "target group",
    LoadBalancer => "load balancer",
    Listener => "listener",
    SecurityGroup => "security group",
    SecurityGroupRule => "security group rule",
});

impl ResourceKind {
    /// The kind in a sentence, with AWS's capitals (`Auto Scaling group`,
    /// `IAM role`); [`ResourceKind::as_str`] is the listed word.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::AutoScalingGroup => "Auto Scaling group",
            ResourceKind::IamPolicy => "IAM policy",
            ResourceKind::IamRole => "IAM role",
            other => other.as_str(),
        }
    }
}

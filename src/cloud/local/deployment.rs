//! What one local deployment has created so far, and its inventory.

use super::auto_scaling::{AutoScalingGroup, LaunchTemplate};
use super::target_group::TargetGroup;
use crate::cloud::{Resource, ResourceKind};
use crate::names::Names;
use std::sync::Arc;

/// The load balancer's listener.
pub(super) struct LoadBalancer {
    /// Its port on 127.0.0.1.
    pub(super) port: u16,
}

/// What is deployed right now.
#[derive(Default)]
pub(super) struct Deployment {
    pub(super) table: bool,
    pub(super) profiles: bool,
    pub(super) template: Option<LaunchTemplate>,
    pub(super) group: Option<Arc<AutoScalingGroup>>,
    pub(super) parameters: bool,
    pub(super) target_group: Option<Arc<TargetGroup>>,
    pub(super) load_balancer: Option<LoadBalancer>,
}

impl Deployment {
    /// Everything deployed, in deletion order.
    pub(super) fn resources(&self, names: &Names) -> Vec<Resource> {
        let dep = self;
        let n = names;
        let mut out = Vec::new();
        if let Some(lb) = &dep.load_balancer {
            out.push(Resource::new(ResourceKind::LoadBalancer, &n.load_balancer));
            out.push(Resource::new(
                ResourceKind::Listener,
                format!("127.0.0.1:{}", lb.port),
            ));
        }
        if dep.target_group.is_some() {
            out.push(Resource::new(ResourceKind::TargetGroup, &n.target_group));
        }
        if let Some(group) = &dep.group {
            out.push(Resource::new(ResourceKind::AutoScalingGroup, &n.group));
            for m in group.members() {
                out.push(Resource::new(ResourceKind::Instance, &m.instance.id));
            }
        }
        if dep.template.is_some() {
            out.push(Resource::new(
                ResourceKind::LaunchTemplate,
                &n.launch_template,
            ));
        }
        if dep.profiles {
            for (kind, name) in [
                (ResourceKind::InstanceProfile, &n.profile),
                (ResourceKind::IamRole, &n.role),
                (ResourceKind::IamPolicy, &n.policy),
                (ResourceKind::InstanceProfile, &n.bc_profile),
                (ResourceKind::IamRole, &n.bc_role),
                (ResourceKind::IamPolicy, &n.bc_policy),
            ] {
                out.push(Resource::new(kind, name));
            }
        }
        if dep.table {
            out.push(Resource::new(ResourceKind::Table, &n.table));
        }
        if dep.parameters {
            for p in n.parameters() {
                out.push(Resource::new(ResourceKind::Parameter, p));
            }
        }
        out
    }
}

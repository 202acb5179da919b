//! An independent sweep of every resource type the deployment creates, by
//! name prefix, straight through the SDK (not through the code under test).
//! Any error other than "not found" fails the test: a sweep that cannot look
//! cannot say "nothing left".
#![allow(dead_code)]

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use resilient::internals::aws::Clients;

fn absent<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, E>,
    not_found: &str,
    what: &str,
) -> bool {
    match r {
        Ok(_) => false,
        Err(e) if e.code() == Some(not_found) => true,
        Err(e) => panic!("sweep: looking up {what} failed: {e:?}"),
    }
}

/// Every resource whose name starts with `prefix`, as `kind name`.
pub async fn leftovers(c: &Clients, prefix: &str) -> Vec<String> {
    let mut left = Vec::new();
    let starts = |s: &str| s.starts_with(&format!("{prefix}-"));
    let lb = format!("{prefix}-lb");
    if !absent(
        c.elb.describe_load_balancers().names(&lb).send().await,
        "LoadBalancerNotFound",
        "the load balancer",
    ) {
        left.push(format!("load balancer {lb}"));
    }
    let tg = format!("{prefix}-tg");
    if !absent(
        c.elb.describe_target_groups().names(&tg).send().await,
        "TargetGroupNotFound",
        "the target group",
    ) {
        left.push(format!("target group {tg}"));
    }
    let groups = c.asg.describe_auto_scaling_groups().send().await.unwrap();
    for g in groups.auto_scaling_groups() {
        if g.auto_scaling_group_name().is_some_and(starts) {
            left.push(format!(
                "auto scaling group {:?}",
                g.auto_scaling_group_name()
            ));
        }
    }
    let lts = c.ec2.describe_launch_templates().send().await.unwrap();
    for t in lts.launch_templates() {
        if t.launch_template_name().is_some_and(starts) {
            left.push(format!("launch template {:?}", t.launch_template_name()));
        }
    }
    let instances = c.ec2.describe_instances().send().await.unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        let ours = i
            .tags()
            .iter()
            .any(|t| t.key() == Some("resilient:deployment") && t.value() == Some(prefix));
        let state = i.state().and_then(|s| s.name()).map(|n| n.as_str());
        if ours && !matches!(state, Some("terminated" | "shutting-down")) {
            left.push(format!("instance {:?} {state:?}", i.instance_id()));
        }
    }
    let profiles = c.iam.list_instance_profiles().send().await.unwrap();
    for i in profiles.instance_profiles() {
        if starts(i.instance_profile_name()) {
            left.push(format!("instance profile {}", i.instance_profile_name()));
        }
    }
    let roles = c.iam.list_roles().send().await.unwrap();
    for r in roles.roles() {
        if starts(r.role_name()) {
            left.push(format!("role {}", r.role_name()));
        }
    }
    let policies = c
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    for pol in policies.policies() {
        if pol.policy_name().is_some_and(starts) {
            left.push(format!("policy {:?}", pol.policy_name()));
        }
    }
    let tables = c.ddb.list_tables().send().await.unwrap();
    for t in tables.table_names() {
        if starts(t) {
            left.push(format!("table {t}"));
        }
    }
    // Parameter Store answers ten a page.
    let pages: Vec<_> = c
        .ssm
        .describe_parameters()
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    for par in pages.iter().flat_map(|p| p.parameters()) {
        if par.name().is_some_and(starts) {
            left.push(format!("parameter {:?}", par.name()));
        }
    }
    let groups = c.ec2.describe_security_groups().send().await.unwrap();
    for g in groups.security_groups() {
        if g.group_name().is_some_and(starts) {
            left.push(format!("security group {:?}", g.group_name()));
        }
        for perm in g.ip_permissions() {
            for r in perm.ip_ranges() {
                if r.description().is_some_and(|d| d.contains(prefix)) {
                    left.push(format!("security group rule {:?}", r.cidr_ip()));
                }
            }
        }
    }
    left
}

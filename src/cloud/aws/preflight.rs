//! The preflight on AWS: before anything is created, checks what would
//! otherwise stop a deploy half-way, each failure one sentence saying what
//! to do:
//!
//! - **credentials**: who the caller is (STS GetCallerIdentity, at connect);
//! - **zones**: the default VPC has default subnets in at least two zones
//!   that offer the instance type (see [`super::zones`]);
//! - **names**: which of the deployment's names are in use, and whether by
//!   us (reused) or by someone else (an error: choose another prefix);
//! - **permissions**: the caller's policies allow every action deploy, the
//!   faults and destroy call, on our resources, simulated with
//!   `iam:SimulatePrincipalPolicy` ([`plan`]). Where simulation is not
//!   allowed or not offered (moto), the check says so and is skipped.
//!
//! The policy a user needs ships as `docs/aws-policy.json` ([`POLICY`]), with
//! `${Partition}`, `${Account}`, `${Region}` and `${Prefix}` to fill in
//! ([`policy_document`]; `resilient preflight --policy` prints it filled in).

use super::ec2::Network;
use super::iam::Identity;
use super::ownership::Found;
use super::{
    Clients, TAG_KEY, autoscaling, code, describe, dynamodb, ec2, elb, iam, security_groups, ssm,
};
use crate::cloud::ResourceKind;
use crate::cloud::preflight::{Check, Preflight};
use crate::error::Result;
use crate::names::Names;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use std::collections::BTreeSet;

/// The IAM policy the tool needs, with placeholders (`docs/aws-policy.json`).
pub(crate) const POLICY: &str = include_str!("../../../docs/aws-policy.json");

/// Where the policy is, for messages.
pub(crate) const POLICY_PATH: &str = "docs/aws-policy.json";

/// The policy with its placeholders filled in.
pub fn policy_document(partition: &str, account: &str, region: &str, prefix: &str) -> String {
    POLICY
        .replace("${Partition}", partition)
        .replace("${Account}", account)
        .replace("${Region}", region)
        .replace("${Prefix}", prefix)
}

/// The policy for these credentials' account and region, and this prefix.
pub(crate) fn policy_for(c: &Clients, prefix: &str) -> String {
    policy_document(&c.partition, &c.account, &c.region, prefix)
}

/// Runs every check; `network` is the deployment's zone choice (or why
/// there is none).
pub(crate) async fn run(c: &Clients, names: &Names, network: Result<&Network>) -> Preflight {
    let credentials = Check::passed(
        "credentials",
        format!("{} in account {} ({})", c.caller, c.account, c.endpoint),
    );
    let (zones, vpc) = match network {
        Ok(net) => (
            Check::passed(
                "zones",
                format!(
                    "default VPC {} with default subnets in {} offering {}",
                    net.vpc,
                    net.subnets
                        .iter()
                        .map(|(z, _)| z.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    super::zones::INSTANCE_TYPE
                ),
            ),
            Some(net.vpc.clone()),
        ),
        Err(e) => (
            Check::failed("zones", e.to_string()),
            ec2::default_vpc(c).await.ok(),
        ),
    };
    let (in_use, permissions) = tokio::join!(
        names_in_use(c, names, vpc.as_deref()),
        permissions(c, names)
    );
    Preflight {
        checks: vec![credentials, zones, in_use, permissions],
    }
}

/// One name of the deployment and who holds it.
struct Holder {
    kind: ResourceKind,
    name: String,
    found: Result<Found<()>>,
}

fn holder<T>(kind: ResourceKind, name: &str, found: Result<Found<T>>) -> Holder {
    Holder {
        kind,
        name: name.to_string(),
        found: found.map(|f| f.map(|_| ())),
    }
}

/// Which of the deployment's names are in use, and by whom.
async fn names_in_use(c: &Clients, n: &Names, vpc: Option<&str>) -> Check {
    const NAME: &str = "names";
    let p = &n.prefix;
    let iam = async {
        let mut out = Vec::new();
        for id in [Identity::good(n), Identity::bad(n)] {
            out.push(holder(
                ResourceKind::IamPolicy,
                id.policy,
                iam::policy(c, p, id.policy).await,
            ));
            out.push(holder(
                ResourceKind::IamRole,
                id.role,
                iam::role(c, p, id.role).await,
            ));
            out.push(holder(
                ResourceKind::InstanceProfile,
                id.profile,
                iam::profile(c, p, id.profile).await,
            ));
        }
        out
    };
    let elb = async {
        vec![
            holder(
                ResourceKind::LoadBalancer,
                &n.load_balancer,
                elb::load_balancer(c, p, &n.load_balancer).await,
            ),
            holder(
                ResourceKind::TargetGroup,
                &n.target_group,
                elb::target_group(c, p, &n.target_group).await,
            ),
        ]
    };
    let compute = async {
        let mut out = vec![
            holder(
                ResourceKind::AutoScalingGroup,
                &n.group,
                autoscaling::group(c, p, &n.group).await,
            ),
            holder(
                ResourceKind::LaunchTemplate,
                &n.launch_template,
                ec2::launch_template(c, p, &n.launch_template).await,
            ),
        ];
        if let Some(vpc) = vpc {
            for sg in [&n.lb_security_group, &n.instance_security_group] {
                out.push(holder(
                    ResourceKind::SecurityGroup,
                    sg,
                    security_groups::security_group(c, vpc, p, sg).await,
                ));
            }
        }
        out
    };
    let data = async {
        let mut out = vec![holder(
            ResourceKind::Table,
            &n.table,
            dynamodb::table(c, p, &n.table).await,
        )];
        for name in n.parameters() {
            out.push(holder(
                ResourceKind::Parameter,
                name,
                ssm::parameter(c, p, name).await,
            ));
        }
        out
    };
    let (a, b, d, e) = tokio::join!(iam, elb, compute, data);
    let all: Vec<Holder> = a.into_iter().chain(b).chain(d).chain(e).collect();
    if let Some(err) = all.iter().find_map(|h| h.found.as_ref().err()) {
        return Check::failed(
            NAME,
            format!("cannot look up which of this deployment's names are in use: {err}"),
        );
    }
    let listed = |f: fn(&Found<()>) -> bool| -> Vec<String> {
        all.iter()
            .filter(|h| h.found.as_ref().is_ok_and(f))
            .map(|h| format!("{} {}", h.kind, h.name))
            .collect()
    };
    let foreign = listed(|f| matches!(f, Found::Foreign));
    let ours = listed(|f| matches!(f, Found::Ours(())));
    if !foreign.is_empty() {
        let (them, are) = match foreign.len() {
            1 => ("it is", "exists"),
            _ => ("they are", "exist"),
        };
        return Check::failed(
            NAME,
            format!(
                "{} already {are} without the tag {TAG_KEY}={p}: {them} someone else's, which deploy neither uses nor changes, so choose another --prefix",
                foreign.join(", ")
            ),
        );
    }
    let unchecked = match vpc {
        Some(_) => String::new(),
        None => " (security groups not looked up: no default VPC)".to_string(),
    };
    if ours.is_empty() {
        Check::passed(
            NAME,
            format!(
                "none of this deployment's {} names is in use{unchecked}",
                all.len()
            ),
        )
    } else {
        Check::passed(
            NAME,
            format!(
                "{} of this deployment's resources exist already and are reused: {}{unchecked}",
                ours.len(),
                ours.join(", ")
            ),
        )
    }
}

/// One call of `iam:SimulatePrincipalPolicy`: these actions on these
/// resources (none: `*`) in this request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Simulation {
    /// IAM actions, e.g. `ec2:CreateTags`.
    pub actions: Vec<String>,
    /// The resources the actions are called on (empty: `*`).
    pub resources: Vec<String>,
    /// Condition keys and the value the call carries.
    pub context: Vec<(String, String)>,
}

fn sim(actions: &[&str], resources: &[&str], context: &[(&str, &str)]) -> Simulation {
    Simulation {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        context: context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Every action deploy, the faults and destroy call (and the preflight
/// itself), on the resources they touch, in the context AWS authorizes them
/// in: tag-on-create calls carry our tag, changes to resources known by id
/// (security groups, the launch template, instances) carry it as a resource
/// tag. Ids AWS assigns are examples.
pub(crate) fn plan(partition: &str, account: &str, region: &str, n: &Names) -> Vec<Simulation> {
    let arn =
        |service: &str, rest: &str| format!("arn:{partition}:{service}:{region}:{account}:{rest}");
    let ec2 = |rest: &str| arn("ec2", rest);
    let elb = |rest: &str| arn("elasticloadbalancing", rest);
    let iam = |rest: &str| format!("arn:{partition}:iam::{account}:{rest}");
    let p = n.prefix.as_str();
    let tag_key = format!("aws:RequestTag/{TAG_KEY}");
    let resource_tag_key = format!("aws:ResourceTag/{TAG_KEY}");
    let tagged = (tag_key.as_str(), p);
    let ours = (resource_tag_key.as_str(), p);
    let sg = ec2("security-group/sg-0123456789abcdef0");
    let lt = ec2("launch-template/lt-0123456789abcdef0");
    let instance = ec2("instance/i-0123456789abcdef0");
    let tg = elb(&format!("targetgroup/{}/0123456789abcdef", n.target_group));
    let lb = elb(&format!(
        "loadbalancer/app/{}/0123456789abcdef",
        n.load_balancer
    ));
    let listener = elb(&format!(
        "listener/app/{}/0123456789abcdef/0123456789abcdef",
        n.load_balancer
    ));
    let policies = [n.policy.as_str(), n.bc_policy.as_str()].map(|x| iam(&format!("policy/{x}")));
    let roles = [n.role.as_str(), n.bc_role.as_str()].map(|x| iam(&format!("role/{x}")));
    let profiles =
        [n.profile.as_str(), n.bc_profile.as_str()].map(|x| iam(&format!("instance-profile/{x}")));
    let parameters = n
        .parameters()
        .map(|x| arn("ssm", &format!("parameter/{x}")));
    let [policies, roles, profiles, parameters] =
        [&policies[..], &roles[..], &profiles[..], &parameters[..]]
            .map(|list| list.iter().map(String::as_str).collect::<Vec<_>>());
    let mut out = vec![
        sim(
            &[
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeInstances",
                "ec2:DescribeIamInstanceProfileAssociations",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeInstanceRefreshes",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTags",
            ],
            &[],
            &[],
        ),
        sim(
            &["ec2:CreateSecurityGroup"],
            &[&sg, &ec2("vpc/vpc-0123456789abcdef0")],
            &[tagged],
        ),
        sim(&["ec2:CreateLaunchTemplate"], &[&lt], &[tagged]),
    ];
    for (resource, action) in [
        (&sg, "CreateSecurityGroup"),
        (&lt, "CreateLaunchTemplate"),
        (&instance, "RunInstances"),
    ] {
        out.push(sim(
            &["ec2:CreateTags"],
            &[resource],
            &[("ec2:CreateAction", action), tagged],
        ));
    }
    out.extend([
        sim(
            &[
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
            ],
            &[&sg],
            &[ours],
        ),
        sim(
            &[
                "ec2:DeleteLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
            ],
            &[&lt],
            &[ours],
        ),
        sim(
            &[
                "ec2:RebootInstances",
                "ec2:AssociateIamInstanceProfile",
                "ec2:ReplaceIamInstanceProfileAssociation",
            ],
            &[&instance],
            &[ours],
        ),
        sim(
            &["ec2:RunInstances"],
            &[
                &instance,
                &ec2("volume/vol-0123456789abcdef0"),
                &ec2("network-interface/eni-0123456789abcdef0"),
                &sg,
                &ec2("subnet/subnet-0123456789abcdef0"),
                &lt,
                &format!("arn:{partition}:ec2:{region}::image/ami-0123456789abcdef0"),
            ],
            &[],
        ),
        sim(
            &[
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:UpdateAutoScalingGroup",
                "autoscaling:AttachLoadBalancerTargetGroups",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:StartInstanceRefresh",
                "autoscaling:CancelInstanceRefresh",
                "autoscaling:RollbackInstanceRefresh",
            ],
            &[&arn(
                "autoscaling",
                &format!(
                    "autoScalingGroup:01234567-89ab-cdef-0123-456789abcdef:autoScalingGroupName/{}",
                    n.group
                ),
            )],
            &[],
        ),
        sim(
            &[
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
            ],
            &[&tg],
            &[],
        ),
        sim(
            &[
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancer",
            ],
            &[&lb],
            &[],
        ),
        sim(
            &["elasticloadbalancing:CreateListener"],
            &[&lb, &listener],
            &[],
        ),
    ]);
    for (resource, action) in [
        (&tg, "CreateTargetGroup"),
        (&lb, "CreateLoadBalancer"),
        (&listener, "CreateListener"),
    ] {
        out.push(sim(
            &["elasticloadbalancing:AddTags"],
            &[resource],
            &[("elasticloadbalancing:CreateAction", action), tagged],
        ));
    }
    out.extend([
        sim(
            &[
                "dynamodb:CreateTable",
                "dynamodb:TagResource",
                "dynamodb:DescribeTable",
                "dynamodb:ListTagsOfResource",
                "dynamodb:BatchWriteItem",
                "dynamodb:DeleteTable",
            ],
            &[&arn("dynamodb", &format!("table/{}", n.table))],
            &[],
        ),
        sim(
            &[
                "ssm:PutParameter",
                "ssm:AddTagsToResource",
                "ssm:ListTagsForResource",
                "ssm:GetParameters",
                "ssm:DeleteParameters",
            ],
            &parameters,
            &[],
        ),
        sim(
            &["ssm:GetParameter"],
            &[&format!(
                "arn:{partition}:ssm:{region}::parameter{}",
                super::ssm::AMI_PARAMETER
            )],
            &[],
        ),
        sim(&["iam:CreatePolicy", "iam:TagPolicy"], &policies, &[tagged]),
        sim(&["iam:CreateRole", "iam:TagRole"], &roles, &[tagged]),
        sim(
            &["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
            &profiles,
            &[tagged],
        ),
        sim(&["iam:GetPolicy", "iam:DeletePolicy"], &policies, &[]),
        sim(
            &[
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
                "iam:DetachRolePolicy",
                "iam:DeleteRole",
            ],
            &roles,
            &[],
        ),
        sim(
            &[
                "iam:GetInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            &profiles,
            &[],
        ),
    ]);
    for policy in &policies {
        out.push(sim(
            &["iam:AttachRolePolicy"],
            &roles,
            &[("iam:PolicyARN", policy)],
        ));
    }
    out.push(sim(
        &["iam:PassRole"],
        &roles,
        &[("iam:PassedToService", "ec2.amazonaws.com")],
    ));
    for (service, role) in [
        ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
        (
            "elasticloadbalancing.amazonaws.com",
            "AWSServiceRoleForElasticLoadBalancing",
        ),
    ] {
        out.push(sim(
            &["iam:CreateServiceLinkedRole"],
            &[&iam(&format!("role/aws-service-role/{service}/{role}"))],
            &[("iam:AWSServiceName", service)],
        ));
    }
    out
}

/// Whom to simulate for a caller ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// An IAM user or role ARN.
    Arn(String),
    /// The account's root user, which may do everything.
    Root,
    /// Something the simulator cannot take (e.g. a federated user).
    Other,
}

fn principal(caller: &str) -> Principal {
    let parts: Vec<&str> = caller.splitn(6, ':').collect();
    let [_, partition, service, _, account, resource] = parts[..] else {
        return Principal::Other;
    };
    match (service, resource.split('/').collect::<Vec<_>>().as_slice()) {
        ("iam", ["root"]) => Principal::Root,
        ("iam", ["user", ..]) => Principal::Arn(caller.to_string()),
        ("iam", ["role", ..]) => Principal::Arn(caller.to_string()),
        // A role's session: simulate the role (IAM does not say its path).
        ("sts", ["assumed-role", role, _session]) => {
            Principal::Arn(format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        _ => Principal::Other,
    }
}

/// What the permissions check does when it cannot simulate.
fn cannot_check(why: String) -> Check {
    Check::skipped(
        "permissions",
        format!(
            "cannot check your permissions ({why}), so going on: a missing one stops the deploy at the first call that needs it ({POLICY_PATH} lists them all)"
        ),
    )
}

/// Whether the caller's policies allow every action of the [`plan`].
async fn permissions(c: &Clients, n: &Names) -> Check {
    const NAME: &str = "permissions";
    let source = match principal(&c.caller) {
        Principal::Arn(arn) => arn,
        Principal::Root => {
            return Check::passed(
                NAME,
                "you are the account's root user, who may do everything (AWS advises an IAM user or role with the least privilege instead)",
            );
        }
        Principal::Other => {
            return cannot_check(format!(
                "{} is neither an IAM user nor a role's session",
                c.caller
            ));
        }
    };
    let plan = plan(&c.partition, &c.account, &c.region, n);
    let needed: BTreeSet<&str> = plan
        .iter()
        .flat_map(|s| s.actions.iter().map(String::as_str))
        .collect();
    let mut missing = BTreeSet::new();
    for (i, s) in plan.iter().enumerate() {
        match simulate(c, &source, s, i == 0).await {
            Ok(denied) => missing.extend(denied),
            Err(why) if missing.is_empty() => return cannot_check(why),
            Err(_) => break,
        }
    }
    if missing.is_empty() {
        return Check::passed(
            NAME,
            format!(
                "{source} may call all {} actions this tool needs (simulated with iam:SimulatePrincipalPolicy)",
                needed.len()
            ),
        );
    }
    Check::failed(
        NAME,
        format!(
            "{source} may not call {} of the {} actions this tool needs ({}): grant them, e.g. with the policy in {POLICY_PATH} (`resilient preflight --policy` prints it for this account, region and prefix)",
            missing.len(),
            needed.len(),
            missing.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// The actions of one simulation the caller may not call, or why the
/// simulation could not be made. The first call is not retried: an endpoint
/// that does not offer simulation answers at once.
async fn simulate(
    c: &Clients,
    source: &str,
    s: &Simulation,
    first: bool,
) -> std::result::Result<BTreeSet<String>, String> {
    let context: Vec<ContextEntry> = s
        .context
        .iter()
        .map(|(k, v)| {
            ContextEntry::builder()
                .context_key_name(k)
                .context_key_values(v)
                .context_key_type(ContextKeyTypeEnum::String)
                .build()
        })
        .collect();
    let mut denied = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let mut call = c
            .iam
            .simulate_principal_policy()
            .policy_source_arn(source)
            .set_action_names(Some(s.actions.clone()))
            .set_context_entries((!context.is_empty()).then(|| context.clone()))
            .set_resource_arns((!s.resources.is_empty()).then(|| s.resources.clone()))
            .set_marker(marker.take())
            .customize();
        if first {
            call = call.config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
            );
        }
        let out = match call.send().await {
            Ok(out) => out,
            Err(e) => {
                return Err(match code(&e) {
                    Some("AccessDenied") => {
                        format!("you may not call iam:SimulatePrincipalPolicy on {source}")
                    }
                    Some("NoSuchEntity") => format!(
                        "IAM knows no {source}: a role with a path cannot be simulated from its session"
                    ),
                    _ => format!(
                        "{} does not answer iam:SimulatePrincipalPolicy: {}",
                        c.endpoint,
                        describe(&e)
                    ),
                });
            }
        };
        for r in out.evaluation_results() {
            let allowed = |d: &PolicyEvaluationDecisionType| {
                matches!(d, PolicyEvaluationDecisionType::Allowed)
            };
            let every_resource = r
                .resource_specific_results()
                .iter()
                .all(|x| allowed(x.eval_resource_decision()));
            if !allowed(r.eval_decision()) || !every_resource {
                denied.insert(r.eval_action_name().to_string());
            }
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_string()),
            _ => return Ok(denied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTITION: &str = "aws";
    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "eu-west-1";

    fn policy() -> serde_json::Value {
        serde_json::from_str(&policy_document(PARTITION, ACCOUNT, REGION, "demo")).unwrap()
    }

    fn list(v: &serde_json::Value) -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => {
                a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
            }
            _ => panic!("not a string or a list: {v}"),
        }
    }

    /// IAM's wildcard match: `*` any run of characters, `?` one.
    fn glob(pattern: &str, value: &str) -> bool {
        fn go(p: &[u8], v: &[u8]) -> bool {
            match (p.first(), v.first()) {
                (None, None) => true,
                (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
                (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
                (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
                _ => false,
            }
        }
        go(pattern.as_bytes(), value.as_bytes())
    }

    /// Whether the shipped policy allows `action` on `resource` in `context`,
    /// evaluated as IAM does for Allow statements with StringEquals,
    /// ArnEquals and ArnLike conditions (the only ones it uses).
    fn allows(
        policy: &serde_json::Value,
        action: &str,
        resource: &str,
        context: &[(String, String)],
    ) -> bool {
        policy["Statement"].as_array().unwrap().iter().any(|s| {
            assert_eq!(s["Effect"], "Allow");
            let actions = list(&s["Action"]);
            let resources = list(&s["Resource"]);
            let conditions = s["Condition"].as_object().cloned().unwrap_or_default();
            actions.iter().any(|a| glob(a, action))
                && resources.iter().any(|r| glob(r, resource))
                && conditions.iter().all(|(op, keys)| {
                    keys.as_object().unwrap().iter().all(|(key, wanted)| {
                        let Some((_, value)) = context.iter().find(|(k, _)| k == key) else {
                            return false;
                        };
                        list(wanted).iter().any(|w| match op.as_str() {
                            "StringEquals" | "ArnEquals" => w == value,
                            "ArnLike" | "StringLike" => glob(w, value),
                            other => panic!("condition operator {other} is not evaluated here"),
                        })
                    })
                })
        })
    }

    #[test]
    fn the_shipped_policy_allows_every_call_of_the_plan_on_our_resources_and_in_its_context() {
        let policy = policy();
        for prefix in ["demo", "a-twenty-char-prefix"] {
            let names = Names::in_region(prefix, REGION);
            let policy: serde_json::Value =
                serde_json::from_str(&policy_document(PARTITION, ACCOUNT, REGION, prefix)).unwrap();
            for s in plan(PARTITION, ACCOUNT, REGION, &names) {
                let resources = if s.resources.is_empty() {
                    vec!["*".to_string()]
                } else {
                    s.resources.clone()
                };
                for action in &s.actions {
                    for resource in &resources {
                        assert!(
                            allows(&policy, action, resource, &s.context),
                            "{action} on {resource} with {:?} is not allowed",
                            s.context
                        );
                    }
                }
            }
        }
        // … and the same policy for another prefix or region allows none of
        // the calls on our resources that name them.
        let other: serde_json::Value =
            serde_json::from_str(&policy_document(PARTITION, ACCOUNT, REGION, "other")).unwrap();
        let names = Names::in_region("demo", REGION);
        let role = format!("arn:aws:iam::{ACCOUNT}:role/{}", names.role);
        assert!(allows(
            &policy,
            "iam:PassRole",
            &role,
            &[("iam:PassedToService".into(), "ec2.amazonaws.com".into())]
        ));
        assert!(!allows(
            &other,
            "iam:PassRole",
            &role,
            &[("iam:PassedToService".into(), "ec2.amazonaws.com".into())]
        ));
        assert!(!allows(
            &policy,
            "iam:PassRole",
            &role,
            &[("iam:PassedToService".into(), "lambda.amazonaws.com".into())]
        ));
        let admin = format!("arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess");
        assert!(!allows(
            &policy,
            "iam:AttachRolePolicy",
            &role,
            &[("iam:PolicyARN".into(), admin)]
        ));
        let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other-recommendations");
        assert!(!allows(&policy, "dynamodb:DeleteTable", &table, &[]));
        let sg = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1");
        assert!(!allows(
            &policy,
            "ec2:DeleteSecurityGroup",
            &sg,
            &[(format!("aws:ResourceTag/{TAG_KEY}"), "other".into())]
        ));
        assert!(!allows(
            &policy,
            "ec2:CreateTags",
            &sg,
            &[
                ("ec2:CreateAction".into(), "CreateTags".into()),
                (format!("aws:RequestTag/{TAG_KEY}"), "demo".into())
            ]
        ));
    }

    #[test]
    fn the_plan_and_the_shipped_policy_name_the_same_actions() {
        let policy = policy();
        let in_policy: BTreeSet<String> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| list(&s["Action"]))
            .collect();
        let names = Names::in_region("demo", REGION);
        let mut in_plan: BTreeSet<String> = plan(PARTITION, ACCOUNT, REGION, &names)
            .into_iter()
            .flat_map(|s| s.actions)
            .collect();
        // The preflight's own call: allowed when the simulation runs at all.
        in_plan.insert("iam:SimulatePrincipalPolicy".into());
        assert_eq!(in_policy, in_plan);
        assert!(
            in_policy.iter().all(|a| !a.contains('*')),
            "no wildcard actions"
        );
    }

    #[test]
    fn the_filled_policy_fits_a_managed_policy_for_the_longest_names() {
        // IAM counts a managed policy's characters without white space: 6,144 at most.
        let filled = policy_document("aws-us-gov", ACCOUNT, "ap-southeast-22", &"a".repeat(20));
        let size = filled.chars().filter(|c| !c.is_whitespace()).count();
        assert!(size <= 6144, "{size} characters");
        assert!(!filled.contains("${"), "every placeholder is filled");
        for s in policy()["Statement"].as_array().unwrap() {
            let sid = s["Sid"].as_str().unwrap();
            assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()), "{sid}");
            for r in list(&s["Resource"]) {
                assert!(
                    r == "*"
                        || r.contains(ACCOUNT)
                        || r.contains(":ssm:eu-west-1::parameter/aws/service/")
                        || r.starts_with("arn:aws:ec2:eu-west-1:*"),
                    "{sid}: {r} is not scoped to the account"
                );
            }
        }
    }

    #[test]
    fn the_simulated_principal_is_the_user_or_the_role_of_a_session() {
        assert_eq!(
            principal("arn:aws:iam::123456789012:user/ops/deployer"),
            Principal::Arn("arn:aws:iam::123456789012:user/ops/deployer".into())
        );
        assert_eq!(
            principal("arn:aws-cn:sts::123456789012:assumed-role/Deployer/me@example.com"),
            Principal::Arn("arn:aws-cn:iam::123456789012:role/Deployer".into())
        );
        assert_eq!(principal("arn:aws:iam::123456789012:root"), Principal::Root);
        assert_eq!(
            principal("arn:aws:sts::123456789012:federated-user/bob"),
            Principal::Other
        );
        assert_eq!(
            principal("arn:aws:sts::123456789012:user/moto"),
            Principal::Other
        );
    }
}

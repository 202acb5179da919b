//! Elastic Load Balancing v2: the target group, the Application Load
//! Balancer and its listener.

use super::ec2::Network;
use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, attempt, code, fail, poll};
use crate::cloud::{ResourceKind, TargetHealth, TargetReason, TargetState};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum, Tag,
    TargetGroupAttribute, TargetTypeEnum,
};
use std::time::Duration;

/// The port the instances serve on, and the target group's port.
pub(crate) const SERVICE_PORT: u16 = 80;

/// The deregistration delay: short, so a replaced target drains in 30 s.
pub(crate) const DEREGISTRATION_DELAY_SECONDS: &str = "30";

fn tag(prefix: &str) -> Tag {
    Tag::builder().key(TAG_KEY).value(prefix).build()
}

/// Whether the resource with this ARN carries our tag.
async fn owned(c: &Clients, arn: &str, prefix: &str) -> Result<Found<()>> {
    let out = c
        .elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(|e| fail("read tags of", arn, e))?;
    let tags = out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .map(|t| (t.key(), t.value()));
    Ok(Found::tagged((), tags, prefix))
}

/// The target group and its ARN.
pub(crate) async fn target_group(c: &Clients, prefix: &str, name: &str) -> Result<Found<String>> {
    let arn = match c.elb.describe_target_groups().names(name).send().await {
        Ok(out) => out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string),
        Err(e) if code(&e) == Some("TargetGroupNotFound") => None,
        Err(e) => return Err(fail("describe target group", name, e)),
    };
    Ok(match arn {
        None => Found::Absent,
        Some(arn) => owned(c, &arn, prefix).await?.map(|()| arn),
    })
}

/// The load balancer, its ARN and DNS name.
pub(crate) async fn load_balancer(
    c: &Clients,
    prefix: &str,
    name: &str,
) -> Result<Found<(String, String)>> {
    let found = match c.elb.describe_load_balancers().names(name).send().await {
        Ok(out) => out.load_balancers().first().map(|l| {
            (
                l.load_balancer_arn().unwrap_or_default().to_string(),
                l.dns_name().unwrap_or_default().to_string(),
            )
        }),
        Err(e) if code(&e) == Some("LoadBalancerNotFound") => None,
        Err(e) => return Err(fail("describe load balancer", name, e)),
    };
    Ok(match found {
        None => Found::Absent,
        Some(lb) => owned(c, &lb.0, prefix).await?.map(|()| lb),
    })
}

/// Creates the target group (HTTP 80, `/healthcheck` every 10 s, timeout
/// 5 s, thresholds 2/2), the internet-facing load balancer on the default
/// subnets and its listener. Returns (target group ARN, endpoint URL).
pub(crate) async fn create(
    c: &Clients,
    names: &Names,
    net: &Network,
    security_group: &str,
) -> Result<(String, String)> {
    let prefix = &names.prefix;
    let tg = match target_group(c, prefix, &names.target_group).await?.adopt(
        ResourceKind::TargetGroup,
        &names.target_group,
        prefix,
    )? {
        Some(arn) => arn,
        None => c
            .elb
            .create_target_group()
            .name(&names.target_group)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&net.vpc)
            .target_type(TargetTypeEnum::Instance)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path("/healthcheck")
            .health_check_interval_seconds(10)
            .health_check_timeout_seconds(5)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(2)
            .tags(tag(&names.prefix))
            .send()
            .await
            .map_err(|e| fail("create target group", &names.target_group, e))?
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::cloud(
                    "create target group",
                    &names.target_group,
                    "no ARN returned",
                )
            })?,
    };
    c.elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value(DEREGISTRATION_DELAY_SECONDS)
                .build(),
        )
        .send()
        .await
        .map_err(|e| fail("set deregistration delay of", &names.target_group, e))?;
    let (lb_arn, dns) = match load_balancer(c, prefix, &names.load_balancer)
        .await?
        .adopt(ResourceKind::LoadBalancer, &names.load_balancer, prefix)?
    {
        Some(found) => found,
        None => {
            let out = c
                .elb
                .create_load_balancer()
                .name(&names.load_balancer)
                .set_subnets(Some(net.subnets.iter().map(|(_, s)| s.clone()).collect()))
                .security_groups(security_group)
                .scheme(LoadBalancerSchemeEnum::InternetFacing)
                .r#type(LoadBalancerTypeEnum::Application)
                .tags(tag(&names.prefix))
                .send()
                .await
                .map_err(|e| fail("create load balancer", &names.load_balancer, e))?;
            let lb = out.load_balancers().first().ok_or_else(|| {
                Error::cloud(
                    "create load balancer",
                    &names.load_balancer,
                    "nothing returned",
                )
            })?;
            (
                lb.load_balancer_arn().unwrap_or_default().to_string(),
                lb.dns_name().unwrap_or_default().to_string(),
            )
        }
    };
    c.elb
        .wait_until_load_balancer_available()
        .load_balancer_arns(&lb_arn)
        .wait(Duration::from_secs(600))
        .await
        .map_err(|e| Error::cloud("wait for load balancer", &names.load_balancer, e))?;
    let listeners = c
        .elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .map_err(|e| fail("describe listeners of", &names.load_balancer, e))?;
    if listeners.listeners().is_empty() {
        c.elb
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .tags(tag(&names.prefix))
            .send()
            .await
            .map_err(|e| fail("create listener of", &names.load_balancer, e))?;
    }
    Ok((tg, format!("http://{dns}")))
}

/// Health of every target registered in the target group `arn` (named
/// `name` in messages): one DescribeTargetHealth call. `None` when the
/// target group no longer exists.
pub(crate) async fn target_health(
    c: &Clients,
    arn: &str,
    name: &str,
) -> Result<Option<Vec<TargetHealth>>> {
    let out = match c
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if code(&e) == Some("TargetGroupNotFound") => return Ok(None),
        Err(e) => return Err(fail("describe target health of", name, e)),
    };
    Ok(Some(
        out.target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                TargetHealth {
                    id: d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                    port: d
                        .target()
                        .and_then(|t| t.port())
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(SERVICE_PORT),
                    state: health
                        .and_then(|h| h.state())
                        .map(TargetState::from)
                        .unwrap_or(TargetState::Unavailable),
                    reason: health.and_then(|h| h.reason()).map(TargetReason::from),
                    description: health.and_then(|h| h.description()).map(str::to_string),
                }
            })
            .collect(),
    ))
}

/// Deletes our load balancer (with its listener) and waits until it is gone.
pub(crate) async fn delete_load_balancer(c: &Clients, names: &Names) -> Result<Removed> {
    let name = &names.load_balancer;
    let arn = match load_balancer(c, &names.prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => {
            return Ok(Removed::foreign(
                ResourceKind::LoadBalancer,
                name,
                &names.prefix,
            ));
        }
        Found::Ours((arn, _)) => arn,
    };
    c.elb
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .map_err(|e| fail("delete load balancer", name, e))?;
    c.elb
        .wait_until_load_balancers_deleted()
        .load_balancer_arns(&arn)
        .wait(Duration::from_secs(600))
        .await
        .map_err(|e| Error::cloud("wait for deletion of load balancer", name, e))?;
    Ok(Removed::one(ResourceKind::LoadBalancer, name))
}

/// Deletes our target group, retrying while a load balancer still holds it.
pub(crate) async fn delete_target_group(c: &Clients, names: &Names) -> Result<Removed> {
    let name = &names.target_group;
    let arn = match target_group(c, &names.prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => {
            return Ok(Removed::foreign(
                ResourceKind::TargetGroup,
                name,
                &names.prefix,
            ));
        }
        Found::Ours(arn) => arn,
    };
    const TRANSIENT: &[&str] = &["ResourceInUse"];
    poll::retry(Duration::from_secs(120), || async {
        match c
            .elb
            .delete_target_group()
            .target_group_arn(&arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("TargetGroupNotFound") => Ok(()),
            Err(e) => Err(attempt(e, TRANSIENT, "delete target group", name)),
        }
    })
    .await?;
    Ok(Removed::one(ResourceKind::TargetGroup, name))
}

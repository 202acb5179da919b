//! The Auto Scaling group.

use super::{Clients, TAG_KEY, code, fail, poll};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
use std::time::Duration;

/// An instance as the group reports it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Instance id.
    pub id: String,
    /// Availability Zone.
    pub az: String,
    /// The group's lifecycle state, e.g. `InService`.
    pub lifecycle: String,
    /// `Healthy` or `Unhealthy`.
    pub health: String,
}

/// Creates the group over `subnets` with `size` instances, retrying while a
/// new instance profile is not yet usable ("Invalid IAM Instance Profile").
pub async fn create(c: &Clients, names: &Names, subnets: &[String], size: usize) -> Result<()> {
    if exists(c, &names.group).await? {
        return Ok(());
    }
    let size = size as i32;
    poll::retry(Duration::from_secs(120), || async move {
        let r = c
            .asg
            .create_auto_scaling_group()
            .auto_scaling_group_name(&names.group)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_name(&names.launch_template)
                    .version("$Default")
                    .build(),
            )
            .min_size(size)
            .max_size(size)
            .desired_capacity(size)
            .vpc_zone_identifier(subnets.join(","))
            .tags(
                Tag::builder()
                    .key(TAG_KEY)
                    .value(&names.prefix)
                    .propagate_at_launch(true)
                    .resource_id(&names.group)
                    .resource_type("auto-scaling-group")
                    .build(),
            )
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("AlreadyExists") => Ok(()),
            Err(e) => {
                let transient = aws_sdk_autoscaling::error::DisplayErrorContext(&e)
                    .to_string()
                    .contains("Invalid IAM Instance Profile");
                let err = fail("create Auto Scaling group", &names.group, e);
                Err(if transient {
                    poll::Attempt::Retry(err)
                } else {
                    poll::Attempt::Fail(err)
                })
            }
        }
    })
    .await
}

/// Whether the group exists (and is not being deleted).
pub async fn exists(c: &Clients, group: &str) -> Result<bool> {
    Ok(describe(c, group).await?.is_some())
}

async fn describe(
    c: &Clients,
    group: &str,
) -> Result<Option<aws_sdk_autoscaling::types::AutoScalingGroup>> {
    let out = c
        .asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .map_err(|e| fail("describe Auto Scaling group", group, e))?;
    Ok(out.auto_scaling_groups().first().cloned())
}

/// The group's instances; `None` when there is no group.
pub async fn members(c: &Clients, group: &str) -> Result<Option<Vec<Member>>> {
    Ok(describe(c, group).await?.map(|g| {
        g.instances()
            .iter()
            .map(|i| Member {
                id: i.instance_id().unwrap_or_default().to_string(),
                az: i.availability_zone().unwrap_or_default().to_string(),
                lifecycle: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health: i.health_status().unwrap_or_default().to_string(),
            })
            .collect()
    }))
}

/// The group's desired capacity and subnets, if it exists.
pub async fn shape(c: &Clients, group: &str) -> Result<Option<(i32, String, Vec<String>)>> {
    Ok(describe(c, group).await?.map(|g| {
        (
            g.desired_capacity().unwrap_or_default(),
            g.vpc_zone_identifier().unwrap_or_default().to_string(),
            g.target_group_arns().to_vec(),
        )
    }))
}

/// Attaches a target group.
pub async fn attach_target_group(c: &Clients, group: &str, target_group_arn: &str) -> Result<()> {
    c.asg
        .attach_load_balancer_target_groups()
        .auto_scaling_group_name(group)
        .target_group_arns(target_group_arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("attach target group to", group, e))
}

/// Terminates an instance of the group; the group replaces it unless `decrement`.
pub async fn terminate(c: &Clients, instance: &str, decrement: bool) -> Result<()> {
    c.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(instance)
        .should_decrement_desired_capacity(decrement)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("terminate instance in group", instance, e))
}

/// Restricts the group to these subnets (an evacuated zone has none).
pub async fn set_subnets(c: &Clients, group: &str, subnets: &[String]) -> Result<()> {
    c.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(group)
        .vpc_zone_identifier(subnets.join(","))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("update subnets of", group, e))
}

/// Scales the group to zero and deletes it with its instances, then waits
/// until it is gone. False if it did not exist.
pub async fn delete(c: &Clients, group: &str) -> Result<bool> {
    if !exists(c, group).await? {
        return Ok(false);
    }
    let r = c
        .asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(group)
        .min_size(0)
        .max_size(0)
        .desired_capacity(0)
        .send()
        .await;
    if let Err(e) = r
        && code(&e) != Some("ValidationError")
    {
        return Err(fail("scale to zero", group, e));
    }
    match c
        .asg
        .delete_auto_scaling_group()
        .auto_scaling_group_name(group)
        .force_delete(true)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if code(&e) == Some("ValidationError") => return Ok(false),
        Err(e) => return Err(fail("delete Auto Scaling group", group, e)),
    }
    poll::until(
        &format!("Auto Scaling group {group} to be deleted"),
        Duration::from_secs(900),
        || async { Ok(describe(c, group).await?.is_none().then_some(())) },
    )
    .await
    .map_err(|e| Error::cloud("delete Auto Scaling group", group, e))?;
    Ok(true)
}

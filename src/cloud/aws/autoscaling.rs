//! The Auto Scaling group.

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, code, fail, poll};
use crate::cloud::{GroupHealth, Resource, ResourceKind};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_autoscaling::types::{
    LaunchTemplateSpecification, LifecycleState, ScalingActivityStatusCode, Tag,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// An instance as the group reports it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// Instance id.
    pub id: String,
    /// Availability Zone.
    pub az: String,
    /// The group's lifecycle state, e.g. `InService`.
    pub lifecycle: LifecycleState,
    /// `Healthy` or `Unhealthy`.
    pub health: GroupHealth,
    /// The launch template version it was launched from, when numbered.
    pub version: Option<u32>,
}

/// Creates the group over `subnets` with `size` instances, retrying while a
/// new instance profile is not yet usable ("Invalid IAM Instance Profile").
pub(crate) async fn create(
    c: &Clients,
    names: &Names,
    subnets: &[String],
    size: usize,
) -> Result<()> {
    if group(c, &names.prefix, &names.group)
        .await?
        .adopt(ResourceKind::AutoScalingGroup, &names.group, &names.prefix)?
        .is_some()
    {
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
                    // A numbered version: AWS rolls an instance refresh
                    // back only when the group names one.
                    .version("1")
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
            Err(e) => {
                let transient = not_yet_visible(
                    &aws_sdk_autoscaling::error::DisplayErrorContext(&e).to_string(),
                );
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

/// Whether a refused CreateAutoScalingGroup names something created moments
/// ago that Auto Scaling cannot see yet: the instance profile (IAM is
/// eventually consistent: "Invalid IAM Instance Profile") or the launch
/// template's security group (EC2 likewise).
fn not_yet_visible(message: &str) -> bool {
    message.contains("Invalid IAM Instance Profile")
        || (message.contains("security group") && message.contains("does not exist"))
}

/// The group's most recent failed scaling activity, in AWS's words (e.g.
/// "Launching a new EC2 instance. Status Reason: We currently do not have
/// sufficient t3.micro capacity in the Availability Zone you requested…",
/// a vCPU limit, or the service-linked role not being ready): why the group
/// has fewer instances than it wants.
pub(crate) async fn last_failure(c: &Clients, group: &str) -> Result<Option<String>> {
    let out = c
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name(group)
        .max_records(10)
        .send()
        .await
        .map_err(|e| fail("describe scaling activities of", group, e))?;
    // Newest first; a failure counts only until a later launch succeeds.
    for activity in out.activities() {
        match activity.status_code() {
            Some(ScalingActivityStatusCode::Failed) => {
                let what = activity.description().unwrap_or("a scaling activity");
                let why = activity.status_message().unwrap_or("no reason given");
                return Ok(Some(format!("{what} failed: {why}")));
            }
            Some(ScalingActivityStatusCode::Successful) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// The group's scaling activities, newest first (at most 50: one call).
pub(crate) async fn activities(
    c: &Clients,
    group: &str,
) -> Result<Vec<crate::cloud::ScalingActivity>> {
    let out = c
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name(group)
        .max_records(50)
        .send()
        .await
        .map_err(|e| fail("describe scaling activities of", group, e))?;
    Ok(out.activities().iter().map(activity).collect())
}

/// One activity in the cloud's words.
fn activity(a: &aws_sdk_autoscaling::types::Activity) -> crate::cloud::ScalingActivity {
    crate::cloud::ScalingActivity {
        description: a.description().unwrap_or_default().to_string(),
        cause: a.cause().unwrap_or_default().to_string(),
        status: a
            .status_code()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_message: a.status_message().map(str::to_string),
        // Details is a JSON string: {"Subnet ID": …, "Availability Zone": …}.
        az: a
            .details()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|v| v["Availability Zone"].as_str().map(str::to_string)),
    }
}

#[cfg(test)]
mod activity_tests {
    use super::*;
    use aws_sdk_autoscaling::types::{Activity, ScalingActivityStatusCode};

    #[test]
    fn a_failed_launch_reads_as_aws_writes_it() {
        let a = Activity::builder()
            .activity_id("a-1")
            .auto_scaling_group_name("g")
            .cause("an instance was started in response to a difference between desired and actual capacity")
            .description("Launching a new EC2 instance.  Status Reason: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (eu-west-1a). Launching EC2 instance failed.")
            .status_code(ScalingActivityStatusCode::Failed)
            .status_message("We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (eu-west-1a).")
            .details(r#"{"Subnet ID":"subnet-1","Availability Zone":"eu-west-1a"}"#)
            .start_time(aws_smithy_types::DateTime::from_secs(0))
            .build();
        let s = activity(&a);
        assert_eq!(s.status, "Failed");
        assert_eq!(s.az.as_deref(), Some("eu-west-1a"));
        assert!(s.description.contains("Status Reason"));
        assert!(
            s.status_message
                .unwrap()
                .contains("sufficient t3.micro capacity")
        );
    }
}

/// The group's desired capacity, if the group exists.
pub(crate) async fn desired_capacity(c: &Clients, group: &str) -> Result<Option<usize>> {
    Ok(describe(c, group)
        .await?
        .and_then(|g| g.desired_capacity())
        .and_then(|d| usize::try_from(d).ok()))
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

/// The group and its instances.
pub(crate) async fn group(c: &Clients, prefix: &str, name: &str) -> Result<Found<Vec<Member>>> {
    Ok(match describe(c, name).await? {
        None => Found::Absent,
        Some(g) => {
            let members = g
                .instances()
                .iter()
                .map(|i| Member {
                    id: i.instance_id().unwrap_or_default().to_string(),
                    az: i.availability_zone().unwrap_or_default().to_string(),
                    lifecycle: i
                        .lifecycle_state()
                        .cloned()
                        .unwrap_or(LifecycleState::Pending),
                    health: super::words::group_health(i.health_status()),
                    version: i
                        .launch_template()
                        .and_then(|t| t.version())
                        .and_then(|v| v.parse().ok()),
                })
                .collect();
            Found::tagged(
                members,
                g.tags().iter().map(|t| (t.key(), t.value())),
                prefix,
            )
        }
    })
}

/// Attaches a target group.
pub(crate) async fn attach_target_group(
    c: &Clients,
    group: &str,
    target_group_arn: &str,
) -> Result<()> {
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
pub(crate) async fn terminate(c: &Clients, instance: &str, decrement: bool) -> Result<()> {
    c.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(instance)
        .should_decrement_desired_capacity(decrement)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("terminate instance in group", instance, e))
}

/// Sets the group's health-check type and grace period.
pub(crate) async fn set_health_check(
    c: &Clients,
    group: &str,
    kind: &str,
    grace_s: i32,
) -> Result<()> {
    c.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(group)
        .health_check_type(kind)
        .health_check_grace_period(grace_s)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("set the health-check type of", group, e))
}

/// Restricts the group to these subnets (an evacuated zone has none).
pub(crate) async fn set_subnets(c: &Clients, group: &str, subnets: &[String]) -> Result<()> {
    c.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(group)
        .vpc_zone_identifier(subnets.join(","))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("update subnets of", group, e))
}

/// The status AWS gives a group whose deletion has started.
const DELETE_IN_PROGRESS: &str = "Delete in progress";

/// Whether an Auto Scaling error says the group does not exist (Auto Scaling
/// answers `ValidationError` for that, and for other refusals too).
fn says_not_found(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("not found"))
}

/// Scales our group to zero and deletes it with its instances, then waits
/// until it is gone. A rerun while AWS is still deleting it waits for that.
pub(crate) async fn delete(c: &Clients, prefix: &str, name: &str) -> Result<Removed> {
    let members = match group(c, prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => {
            return Ok(Removed::foreign(
                ResourceKind::AutoScalingGroup,
                name,
                prefix,
            ));
        }
        Found::Ours(members) => members,
    };
    let deleting = describe(c, name)
        .await?
        .is_some_and(|g| g.status() == Some(DELETE_IN_PROGRESS));
    if !deleting {
        let r = c
            .asg
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(0)
            .max_size(0)
            .desired_capacity(0)
            .send()
            .await;
        match r {
            Ok(_) => {}
            Err(e) if says_not_found(e.message()) => return Ok(Removed::default()),
            // Refused while a deletion started meanwhile: the delete below decides.
            Err(e) if code(&e) == Some("ValidationError") => {}
            Err(e) => return Err(fail("scale to zero", name, e)),
        }
        match c
            .asg
            .delete_auto_scaling_group()
            .auto_scaling_group_name(name)
            .force_delete(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if says_not_found(e.message()) => return Ok(Removed::default()),
            Err(e) if e.message().is_some_and(|m| m.contains("in progress")) => {}
            Err(e) => return Err(fail("delete Auto Scaling group", name, e)),
        }
    }
    poll::until(
        &format!("Auto Scaling group {name} to be deleted"),
        Duration::from_secs(900),
        || async { Ok(describe(c, name).await?.is_none().then_some(())) },
    )
    .await
    .map_err(|e| Error::cloud("delete Auto Scaling group", name, e))?;
    let mut out = Removed::one(ResourceKind::AutoScalingGroup, name);
    out.deleted.extend(
        members
            .into_iter()
            .map(|m| Resource::new(ResourceKind::Instance, m.id)),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_not_yet_visible_profile_or_group_is_retried_at_creation() {
        assert!(not_yet_visible(
            "ValidationError: You must use a valid fully-formed launch template. Value (p-prof) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
        ));
        assert!(not_yet_visible(
            "ValidationError: You must use a valid fully-formed launch template. The security group 'sg-0123' does not exist in VPC 'vpc-1'"
        ));
        assert!(!not_yet_visible(
            "ValidationError: Max bound, 3, must be greater than or equal to min bound, 4"
        ));
    }

    #[test]
    fn only_not_found_means_the_group_is_gone() {
        assert!(says_not_found(Some(
            "AutoScalingGroup name not found - AutoScalingGroup 'g' not found"
        )));
        assert!(!says_not_found(Some(
            "An AutoScalingGroup with this name is pending delete"
        )));
        assert!(!says_not_found(None));
    }
}

//! EC2: the default network, the launch template, instances and their
//! profiles. (Our security groups and the port-80 rule: [`super::security_groups`].)

use super::ownership::Found;
use super::{Clients, TAG_KEY, attempt, code, fail, poll, zones};
use crate::cloud::{InstanceState, ResourceKind};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_ec2::types::{
    CreditSpecificationRequest, Filter, IamInstanceProfileAssociationState, InstanceType,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType, Tag,
    TagSpecification,
};
use std::time::Duration;

/// The default VPC and up to three of its default subnets (one per zone,
/// in zones that offer the instance type).
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// The default VPC.
    pub vpc: String,
    /// (zone, subnet id), sorted by zone.
    pub subnets: Vec<(String, String)>,
}

pub(super) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub(super) fn tag(prefix: &str) -> Tag {
    Tag::builder().key(TAG_KEY).value(prefix).build()
}

pub(super) fn tags(tags: &[Tag]) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    tags.iter().map(|t| (t.key(), t.value()))
}

pub(super) fn tagged(kind: ResourceType, prefix: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(tag(prefix))
        .build()
}

/// The default VPC's id.
pub async fn default_vpc(c: &Clients) -> Result<String> {
    let vpcs = c
        .ec2
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .map_err(|e| fail("find", "the default VPC", e))?;
    Ok(vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| {
            Error::cloud(
                "find",
                "the default VPC",
                "this region has none (create one with `aws ec2 create-default-vpc`)",
            )
        })?
        .to_string())
}

/// Finds the default network: the default VPC and up to three of its
/// default subnets in zones that offer the instance type (see [`zones`]).
pub(crate) async fn network(c: &Clients) -> Result<Network> {
    let vpc = default_vpc(c).await?;
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .map_err(|e| fail("find default subnets of", &vpc, e))?;
    let subnets: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .filter_map(|s| {
            Some((
                s.availability_zone()?.to_string(),
                s.subnet_id()?.to_string(),
            ))
        })
        .collect();
    if subnets.is_empty() {
        return Err(Error::cloud(
            "find default subnets of",
            &vpc,
            "there are none",
        ));
    }
    let offered = zones::offering(c, zones::INSTANCE_TYPE).await?;
    let subnets = zones::choose(&subnets, &offered, &c.region, zones::INSTANCE_TYPE)?;
    Ok(Network { vpc, subnets })
}

/// Creates the launch template: t3.micro, Amazon Linux 2023, IMDSv2 required,
/// the instance profile, and the user data that installs the server.
pub(crate) async fn create_launch_template(
    c: &Clients,
    names: &Names,
    ami: &str,
    security_group: &str,
) -> Result<()> {
    if launch_template(c, &names.prefix, &names.launch_template)
        .await?
        .adopt(
            ResourceKind::LaunchTemplate,
            &names.launch_template,
            &names.prefix,
        )?
        .is_some()
    {
        return Ok(());
    }
    let user_data = super::user_data::script(&names.prefix, &c.region);
    let data = RequestLaunchTemplateData::builder()
        .image_id(ami)
        .instance_type(InstanceType::T3Micro)
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(&names.profile)
                .build(),
        )
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .build(),
        )
        .security_group_ids(security_group)
        // T3 instances launch "unlimited" by default, which bills surplus
        // CPU credits under sustained load: a demo's load must not.
        .credit_specification(
            CreditSpecificationRequest::builder()
                .cpu_credits("standard")
                .build(),
        )
        .user_data(aws_smithy_types::base64::encode(user_data))
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .tags(tag(&names.prefix))
                .build(),
        )
        .build();
    let r = c
        .ec2
        .create_launch_template()
        .launch_template_name(&names.launch_template)
        .launch_template_data(data)
        .tag_specifications(tagged(ResourceType::LaunchTemplate, &names.prefix))
        .send()
        .await;
    r.map(|_| ())
        .map_err(|e| fail("create launch template", &names.launch_template, e))
}

/// The launch template.
pub(crate) async fn launch_template(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    match c
        .ec2
        .describe_launch_templates()
        .launch_template_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(match out.launch_templates().first() {
            None => Found::Absent,
            Some(t) => Found::tagged((), tags(t.tags()), prefix),
        }),
        Err(e) if is_not_found(code(&e)) => Ok(Found::Absent),
        Err(e) => Err(fail("describe launch template", name, e)),
    }
}

fn is_not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("NotFound") || c.contains("Malformed"))
}

/// Deletes the launch template; false if it did not exist.
pub(crate) async fn delete_launch_template(c: &Clients, name: &str) -> Result<bool> {
    match c
        .ec2
        .delete_launch_template()
        .launch_template_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(code(&e)) => Ok(false),
        Err(e) => Err(fail("delete launch template", name, e)),
    }
}

/// An instance as EC2 describes it.
#[derive(Debug, Clone)]
pub(crate) struct InstanceView {
    /// Instance id.
    pub id: String,
    /// Lifecycle state.
    pub state: InstanceState,
    /// The associated instance profile's name, if any.
    pub profile: Option<String>,
}

/// Describes instances by id. An id EC2 does not know yet (the group
/// launched it moments ago: EC2 is eventually consistent) is simply absent
/// from the answer: the ids go in a filter, which never fails with
/// `InvalidInstanceID.NotFound` as a list of ids does.
pub(crate) async fn describe(c: &Clients, ids: &[String]) -> Result<Vec<InstanceView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("instance-id")
                .set_values(Some(ids.to_vec()))
                .build(),
        )
        .send()
        .await
        .map_err(|e| fail("describe instances", &ids.join(", "), e))?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| InstanceView {
            id: i.instance_id().unwrap_or_default().to_string(),
            state: i
                .state()
                .and_then(|s| s.name())
                .map(InstanceState::from)
                .unwrap_or(InstanceState::Pending),
            profile: i
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .and_then(|arn| arn.rsplit('/').next())
                .map(str::to_string),
        })
        .collect())
}

/// Associates `profile` with the instance, replacing its current association,
/// or associating it where there is none. Retries while IAM propagates.
pub(crate) async fn replace_profile(c: &Clients, instance: &str, profile: &str) -> Result<()> {
    let current = poll::retry(CONSISTENCY, || async {
        c.ec2
            .describe_iam_instance_profile_associations()
            .filters(filter("instance-id", instance))
            .send()
            .await
            .map_err(|e| {
                attempt(
                    e,
                    INSTANCE_NOT_YET,
                    "describe instance profile associations of",
                    instance,
                )
            })
    })
    .await?;
    let association = current
        .iam_instance_profile_associations()
        .iter()
        .find(|a| {
            matches!(
                a.state(),
                Some(
                    IamInstanceProfileAssociationState::Associated
                        | IamInstanceProfileAssociationState::Associating
                )
            )
        })
        .and_then(|a| a.association_id())
        .map(str::to_string);
    let spec = aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
        .name(profile)
        .build();
    // A profile created moments ago may not be usable yet, an instance
    // launched moments ago not known yet: retry those.
    const TRANSIENT: &[&str] = &["InvalidParameterValue", "InvalidInstanceID.NotFound"];
    poll::retry(Duration::from_secs(60), || {
        let spec = spec.clone();
        let association = association.clone();
        async move {
            match association {
                Some(id) => c
                    .ec2
                    .replace_iam_instance_profile_association()
                    .association_id(id)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| attempt(e, TRANSIENT, "replace instance profile of", instance)),
                None => c
                    .ec2
                    .associate_iam_instance_profile()
                    .instance_id(instance)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        attempt(e, TRANSIENT, "associate instance profile with", instance)
                    }),
            }
        }
    })
    .await
}

/// Reboots an instance.
pub(crate) async fn reboot(c: &Clients, instance: &str) -> Result<()> {
    poll::retry(CONSISTENCY, || async {
        c.ec2
            .reboot_instances()
            .instance_ids(instance)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| attempt(e, INSTANCE_NOT_YET, "reboot instance", instance))
    })
    .await
}

/// How long a call retries while EC2 catches up with a resource created
/// moments ago (EC2's API is eventually consistent).
pub(super) const CONSISTENCY: Duration = Duration::from_secs(60);

/// The answer EC2 gives for an instance it does not know yet.
const INSTANCE_NOT_YET: &[&str] = &["InvalidInstanceID.NotFound"];

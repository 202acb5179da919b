//! Instance policies, roles and profiles in IAM (least privilege: `Query` on
//! the one table and `GetParameters` on the four parameters, the only calls
//! the instances make).

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, attempt, code, fail, poll};
use crate::cloud::{Resource, ResourceKind};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_iam::types::Tag;
use std::time::Duration;

/// How long a call waits for IAM to propagate a new role, policy or profile
/// (IAM is eventually consistent: a new entity can answer `NoSuchEntity` for
/// a few seconds).
const PROPAGATION: Duration = Duration::from_secs(90);

/// The trust policy: EC2 may assume the role. The service principal differs
/// in the China partition.
fn assume_role_policy(partition: &str) -> String {
    let principal = if partition == "aws-cn" {
        "ec2.amazonaws.com.cn"
    } else {
        "ec2.amazonaws.com"
    };
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

/// One instance identity: policy, role and profile names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity<'a> {
    /// The managed policy.
    pub policy: &'a str,
    /// The role the policy is attached to.
    pub role: &'a str,
    /// The instance profile holding the role.
    pub profile: &'a str,
}

impl<'a> Identity<'a> {
    /// The instances' identity.
    pub(crate) fn good(n: &'a Names) -> Self {
        Identity {
            policy: &n.policy,
            role: &n.role,
            profile: &n.profile,
        }
    }

    /// The bad-credentials identity (parameters only).
    pub(crate) fn bad(n: &'a Names) -> Self {
        Identity {
            policy: &n.bc_policy,
            role: &n.bc_role,
            profile: &n.bc_profile,
        }
    }
}

/// The instance policy: query the table (unless `with_table` is false, which
/// makes the bad-credentials policy) and read the four parameters.
pub(crate) fn policy_document(c: &Clients, names: &Names, with_table: bool) -> String {
    let params: Vec<String> = names
        .parameters()
        .iter()
        .map(|p| {
            format!(
                "arn:{}:ssm:{}:{}:parameter/{p}",
                c.partition, c.region, c.account
            )
        })
        .collect();
    let mut statements = vec![serde_json::json!({
        "Effect": "Allow",
        "Action": ["ssm:GetParameters"],
        "Resource": params,
    })];
    if with_table {
        statements.push(serde_json::json!({
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": format!("arn:{}:dynamodb:{}:{}:table/{}", c.partition, c.region, c.account, names.table),
        }));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn policy_arn(c: &Clients, name: &str) -> String {
    format!("arn:{}:iam::{}:policy/{name}", c.partition, c.account)
}

fn tag(prefix: &str) -> Result<Tag> {
    Tag::builder()
        .key(TAG_KEY)
        .value(prefix)
        .build()
        .map_err(|e| Error::cloud("build", "tag", e))
}

fn tags(tags: &[Tag]) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    tags.iter().map(|t| (Some(t.key()), Some(t.value())))
}

/// `Ok(None)` for IAM's "no such entity", the value otherwise.
fn found<T, E>(
    r: Result<T, aws_sdk_iam::error::SdkError<E>>,
    action: &str,
    what: &str,
) -> Result<Option<T>>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(fail(action, what, e)),
    }
}

/// Runs an IAM delete again while IAM answers `DeleteConflict`: a detach or
/// removal made moments ago has not propagated yet (bounded; the last answer
/// is returned either way).
async fn settle<T, E, F, Fut>(mut op: F) -> Result<T, aws_sdk_iam::error::SdkError<E>>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E>>>,
{
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match op().await {
            Err(e) if code(&e) == Some("DeleteConflict") && started.elapsed() < PROPAGATION => {
                tracing::debug!(?delay, "IAM delete conflict, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            r => return r,
        }
    }
}

/// The instance profile, with the roles it holds if it is ours.
pub(crate) async fn profile(c: &Clients, prefix: &str, name: &str) -> Result<Found<Vec<String>>> {
    let r = c
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    Ok(match found(r, "read instance profile", name)? {
        None => Found::Absent,
        Some(out) => match out.instance_profile() {
            None => Found::Absent,
            Some(p) => Found::tagged(
                p.roles()
                    .iter()
                    .map(|r| r.role_name().to_string())
                    .collect(),
                tags(p.tags()),
                prefix,
            ),
        },
    })
}

/// The role.
pub(crate) async fn role(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    let r = c.iam.get_role().role_name(name).send().await;
    Ok(match found(r, "read role", name)?.and_then(|o| o.role) {
        None => Found::Absent,
        Some(role) => Found::tagged((), tags(role.tags()), prefix),
    })
}

/// The managed policy.
pub(crate) async fn policy(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    let r = c
        .iam
        .get_policy()
        .policy_arn(policy_arn(c, name))
        .send()
        .await;
    Ok(
        match found(r, "read policy", name)?.and_then(|o| o.policy) {
            None => Found::Absent,
            Some(p) => Found::tagged((), tags(p.tags()), prefix),
        },
    )
}

/// Creates policy, role and instance profile (each only if missing; refuses
/// any that exists without our tag) and waits until the profile can be read.
pub(crate) async fn create_profile(
    c: &Clients,
    prefix: &str,
    id: Identity<'_>,
    document: String,
) -> Result<()> {
    if policy(c, prefix, id.policy)
        .await?
        .adopt(ResourceKind::IamPolicy, id.policy, prefix)?
        .is_none()
    {
        c.iam
            .create_policy()
            .policy_name(id.policy)
            .policy_document(document)
            .tags(tag(prefix)?)
            .send()
            .await
            .map_err(|e| fail("create policy", id.policy, e))?;
    }
    if role(c, prefix, id.role)
        .await?
        .adopt(ResourceKind::IamRole, id.role, prefix)?
        .is_none()
    {
        c.iam
            .create_role()
            .role_name(id.role)
            .assume_role_policy_document(assume_role_policy(&c.partition))
            .tags(tag(prefix)?)
            .send()
            .await
            .map_err(|e| fail("create role", id.role, e))?;
    }
    // A role or policy created moments ago may not be visible yet.
    poll::retry(PROPAGATION, || async {
        c.iam
            .attach_role_policy()
            .role_name(id.role)
            .policy_arn(policy_arn(c, id.policy))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| attempt(e, &["NoSuchEntity"], "attach policy to role", id.role))
    })
    .await?;
    let roles = match profile(c, prefix, id.profile).await?.adopt(
        ResourceKind::InstanceProfile,
        id.profile,
        prefix,
    )? {
        Some(roles) => roles,
        None => {
            c.iam
                .create_instance_profile()
                .instance_profile_name(id.profile)
                .tags(tag(prefix)?)
                .send()
                .await
                .map_err(|e| fail("create instance profile", id.profile, e))?;
            Vec::new()
        }
    };
    if !roles.iter().any(|r| r == id.role) {
        poll::retry(PROPAGATION, || async {
            match c
                .iam
                .add_role_to_instance_profile()
                .instance_profile_name(id.profile)
                .role_name(id.role)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                // A retry after a lost answer: the role is already in it.
                Err(e) if code(&e) == Some("LimitExceeded") => Ok(()),
                Err(e) => Err(attempt(
                    e,
                    &["NoSuchEntity"],
                    "add role to instance profile",
                    id.profile,
                )),
            }
        })
        .await?;
    }
    // The SDK's waiter gives up at once on a missing profile: poll instead.
    poll::until(
        &format!("instance profile {} to exist", id.profile),
        Duration::from_secs(60),
        || async { Ok(profile(c, prefix, id.profile).await?.ours().map(|_| ())) },
    )
    .await
}

/// Deletes profile, role and policy in IAM's order (only those tagged ours);
/// returns what was deleted and what was skipped.
pub(crate) async fn delete_profile(c: &Clients, prefix: &str, id: Identity<'_>) -> Result<Removed> {
    let mut out = Removed::default();
    let skip = |out: &mut Removed, kind: ResourceKind, name: &str| {
        out.skipped
            .extend(Removed::foreign(kind, name, prefix).skipped)
    };
    match profile(c, prefix, id.profile).await? {
        Found::Absent => {}
        Found::Foreign => skip(&mut out, ResourceKind::InstanceProfile, id.profile),
        Found::Ours(roles) => {
            for role in roles {
                let r = c
                    .iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(id.profile)
                    .role_name(&role)
                    .send()
                    .await;
                found(r, "remove role from instance profile", id.profile)?;
            }
            let r = settle(|| async {
                c.iam
                    .delete_instance_profile()
                    .instance_profile_name(id.profile)
                    .send()
                    .await
            })
            .await;
            if found(r, "delete instance profile", id.profile)?.is_some() {
                out.deleted
                    .push(Resource::new(ResourceKind::InstanceProfile, id.profile));
            }
        }
    }
    let arn = policy_arn(c, id.policy);
    match role(c, prefix, id.role).await? {
        Found::Absent => {}
        Found::Foreign => skip(&mut out, ResourceKind::IamRole, id.role),
        Found::Ours(()) => {
            let attached = c
                .iam
                .list_attached_role_policies()
                .role_name(id.role)
                .send()
                .await
                .map_err(|e| fail("list policies of role", id.role, e))?;
            for p in attached.attached_policies() {
                let r = c
                    .iam
                    .detach_role_policy()
                    .role_name(id.role)
                    .set_policy_arn(p.policy_arn().map(str::to_string))
                    .send()
                    .await;
                found(r, "detach policy from role", id.role)?;
            }
            let r = settle(|| async { c.iam.delete_role().role_name(id.role).send().await }).await;
            if found(r, "delete role", id.role)?.is_some() {
                out.deleted
                    .push(Resource::new(ResourceKind::IamRole, id.role));
            }
        }
    }
    match policy(c, prefix, id.policy).await? {
        Found::Absent => {}
        Found::Foreign => skip(&mut out, ResourceKind::IamPolicy, id.policy),
        Found::Ours(()) => {
            let r = settle(|| async { c.iam.delete_policy().policy_arn(&arn).send().await }).await;
            if found(r, "delete policy", id.policy)?.is_some() {
                out.deleted
                    .push(Resource::new(ResourceKind::IamPolicy, id.policy));
            }
        }
    }
    Ok(out)
}

/// The document of a policy's default version.
pub async fn policy_of(c: &Clients, policy: &str) -> Result<String> {
    let arn = policy_arn(c, policy);
    let p = c
        .iam
        .get_policy()
        .policy_arn(&arn)
        .send()
        .await
        .map_err(|e| fail("read policy", policy, e))?;
    let version = p
        .policy()
        .and_then(|p| p.default_version_id())
        .ok_or_else(|| Error::cloud("read policy", policy, "it has no default version"))?
        .to_string();
    let v = c
        .iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| fail("read policy version", policy, e))?;
    let doc = v
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default();
    // IAM returns the document URL-encoded.
    Ok(percent_encoding::percent_decode_str(doc)
        .decode_utf8_lossy()
        .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_policy_names_the_partitions_ec2_principal() {
        let global: serde_json::Value = serde_json::from_str(&assume_role_policy("aws")).unwrap();
        assert_eq!(
            global["Statement"][0]["Principal"]["Service"],
            "ec2.amazonaws.com"
        );
        let china: serde_json::Value = serde_json::from_str(&assume_role_policy("aws-cn")).unwrap();
        assert_eq!(
            china["Statement"][0]["Principal"]["Service"],
            "ec2.amazonaws.com.cn"
        );
        assert_eq!(china["Statement"][0]["Action"], "sts:AssumeRole");
    }
}

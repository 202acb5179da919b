//! Instance policies, roles and profiles in IAM (least privilege: the one
//! table and the three parameters).

use super::{Clients, TAG_KEY, code, fail, poll};
use crate::cloud::Resource;
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_iam::types::Tag;
use std::time::Duration;

const ASSUME_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The instance policy: read the table (unless `with_table` is false, which
/// makes the bad-credentials policy) and the three parameters.
pub fn policy_document(c: &Clients, names: &Names, with_table: bool) -> String {
    let params: Vec<String> = names
        .parameters()
        .iter()
        .map(|p| format!("arn:aws:ssm:{}:{}:parameter/{p}", c.region, c.account))
        .collect();
    let mut statements = vec![serde_json::json!({
        "Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters"],
        "Resource": params,
    })];
    if with_table {
        statements.push(serde_json::json!({
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"],
            "Resource": format!("arn:aws:dynamodb:{}:{}:table/{}", c.region, c.account, names.table),
        }));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn policy_arn(c: &Clients, name: &str) -> String {
    format!("arn:aws:iam::{}:policy/{name}", c.account)
}

fn tag(prefix: &str) -> Result<Tag> {
    Tag::builder()
        .key(TAG_KEY)
        .value(prefix)
        .build()
        .map_err(|e| Error::cloud("build", "tag", e))
}

fn exists_ok<T, E>(
    r: Result<T, aws_sdk_iam::error::SdkError<E>>,
    action: &str,
    what: &str,
) -> Result<()>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some("EntityAlreadyExists") => Ok(()),
        Err(e) => Err(fail(action, what, e)),
    }
}

/// Creates policy, role and instance profile (each only if missing) and waits
/// until the profile can be read back.
pub async fn create_profile(
    c: &Clients,
    prefix: &str,
    policy: &str,
    role: &str,
    profile: &str,
    document: String,
) -> Result<()> {
    let r = c
        .iam
        .create_policy()
        .policy_name(policy)
        .policy_document(document)
        .tags(tag(prefix)?)
        .send()
        .await;
    exists_ok(r, "create policy", policy)?;
    let r = c
        .iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(ASSUME_ROLE)
        .tags(tag(prefix)?)
        .send()
        .await;
    exists_ok(r, "create role", role)?;
    c.iam
        .attach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn(c, policy))
        .send()
        .await
        .map_err(|e| fail("attach policy to role", role, e))?;
    let r = c
        .iam
        .create_instance_profile()
        .instance_profile_name(profile)
        .tags(tag(prefix)?)
        .send()
        .await;
    exists_ok(r, "create instance profile", profile)?;
    let has_role = c
        .iam
        .get_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await
        .map_err(|e| fail("read instance profile", profile, e))?
        .instance_profile()
        .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role));
    if !has_role {
        c.iam
            .add_role_to_instance_profile()
            .instance_profile_name(profile)
            .role_name(role)
            .send()
            .await
            .map_err(|e| fail("add role to instance profile", profile, e))?;
    }
    // The SDK's waiter gives up at once on a missing profile: poll instead.
    poll::until(
        &format!("instance profile {profile} to exist"),
        Duration::from_secs(60),
        || async {
            match c
                .iam
                .get_instance_profile()
                .instance_profile_name(profile)
                .send()
                .await
            {
                Ok(_) => Ok(Some(())),
                Err(e) if code(&e) == Some("NoSuchEntity") => Ok(None),
                Err(e) => Err(fail("read instance profile", profile, e)),
            }
        },
    )
    .await
}

fn gone<T, E>(
    r: Result<T, aws_sdk_iam::error::SdkError<E>>,
    action: &str,
    what: &str,
) -> Result<bool>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some("NoSuchEntity") => Ok(false),
        Err(e) => Err(fail(action, what, e)),
    }
}

/// Deletes profile, role and policy in IAM's order; returns what existed.
pub async fn delete_profile(
    c: &Clients,
    policy: &str,
    role: &str,
    profile: &str,
) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    let r = c
        .iam
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await;
    gone(r, "remove role from instance profile", profile)?;
    let r = c
        .iam
        .delete_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await;
    if gone(r, "delete instance profile", profile)? {
        out.push(Resource::new("instance profile", profile));
    }
    let r = c
        .iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn(c, policy))
        .send()
        .await;
    gone(r, "detach policy from role", role)?;
    let r = c.iam.delete_role().role_name(role).send().await;
    if gone(r, "delete role", role)? {
        out.push(Resource::new("iam role", role));
    }
    let r = c
        .iam
        .delete_policy()
        .policy_arn(policy_arn(c, policy))
        .send()
        .await;
    if gone(r, "delete policy", policy)? {
        out.push(Resource::new("iam policy", policy));
    }
    Ok(out)
}

/// Whether the instance profile exists.
pub async fn profile_exists(c: &Clients, profile: &str) -> Result<bool> {
    let r = c
        .iam
        .get_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await;
    gone(r, "read instance profile", profile)
}

/// Whether the role and the policy exist.
pub async fn role_and_policy_exist(c: &Clients, role: &str, policy: &str) -> Result<(bool, bool)> {
    let r = c.iam.get_role().role_name(role).send().await;
    let role = gone(r, "read role", role)?;
    let r = c
        .iam
        .get_policy()
        .policy_arn(policy_arn(c, policy))
        .send()
        .await;
    Ok((role, gone(r, "read policy", policy)?))
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
        .unwrap_or("v1")
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
    Ok(percent_decode(doc))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_documents() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("{\"plain\":true}"), "{\"plain\":true}");
    }
}

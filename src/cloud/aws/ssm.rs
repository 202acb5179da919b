//! The four parameters in Systems Manager Parameter Store, and the public
//! parameter naming the current Amazon Linux 2023 AMI.

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, code, fail};
use crate::cloud::ResourceKind;
use crate::error::{Error, Result};
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};

/// The public parameter with the latest Amazon Linux 2023 AMI for x86_64.
pub(crate) const AMI_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// The parameter.
pub(crate) async fn parameter(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    match c
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
    {
        Ok(out) => Ok(Found::tagged(
            (),
            out.tag_list()
                .iter()
                .map(|t| (Some(t.key()), Some(t.value()))),
            prefix,
        )),
        Err(e) if matches!(code(&e), Some("InvalidResourceId" | "ParameterNotFound")) => {
            Ok(Found::Absent)
        }
        Err(e) => Err(fail("read tags of parameter", name, e)),
    }
}

/// Writes a parameter: created with the deployment tag, or overwritten when
/// it is ours (Parameter Store refuses tags together with overwrite). A
/// parameter with this name but without our tag is refused.
pub(crate) async fn put(c: &Clients, prefix: &str, name: &str, value: &str) -> Result<()> {
    let ours = parameter(c, prefix, name)
        .await?
        .adopt(ResourceKind::Parameter, name, prefix)?
        .is_some();
    let request = c
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String);
    if ours {
        request
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("set parameter", name, e))
    } else {
        let tag = Tag::builder()
            .key(TAG_KEY)
            .value(prefix)
            .build()
            .map_err(|e| Error::cloud("build", "tag", e))?;
        request
            .tags(tag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("create parameter", name, e))
    }
}

/// Reads parameters; `None` for each that does not exist.
pub(crate) async fn get(c: &Clients, names: &[&str]) -> Result<Vec<Option<String>>> {
    let out = c
        .ssm
        .get_parameters()
        .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .send()
        .await
        .map_err(|e| fail("read parameters", &names.join(", "), e))?;
    Ok(names
        .iter()
        .map(|n| {
            out.parameters()
                .iter()
                .find(|p| p.name() == Some(n))
                .and_then(|p| p.value().map(str::to_string))
        })
        .collect())
}

/// Deletes our parameters; skips any that are someone else's.
pub(crate) async fn delete(c: &Clients, prefix: &str, names: &[&str]) -> Result<Removed> {
    let mut out = Removed::default();
    let mut ours = Vec::new();
    for name in names {
        match parameter(c, prefix, name).await? {
            Found::Absent => {}
            Found::Foreign => {
                out = out.and(Removed::foreign(ResourceKind::Parameter, name, prefix))
            }
            Found::Ours(()) => ours.push(name.to_string()),
        }
    }
    if ours.is_empty() {
        return Ok(out);
    }
    let deleted = c
        .ssm
        .delete_parameters()
        .set_names(Some(ours.clone()))
        .send()
        .await
        .map_err(|e| fail("delete parameters", &ours.join(", "), e))?;
    for name in deleted.deleted_parameters() {
        out = out.and(Removed::one(ResourceKind::Parameter, name));
    }
    Ok(out)
}

/// The AMI id of the current Amazon Linux 2023.
pub async fn latest_ami(c: &Clients) -> Result<String> {
    let out = c
        .ssm
        .get_parameter()
        .name(AMI_PARAMETER)
        .send()
        .await
        .map_err(|e| fail("read AMI parameter", AMI_PARAMETER, e))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| Error::cloud("read AMI parameter", AMI_PARAMETER, "it has no value"))
}

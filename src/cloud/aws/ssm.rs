//! The three parameters in Systems Manager Parameter Store, and the public
//! parameter naming the current Amazon Linux 2023 AMI.

use super::{Clients, TAG_KEY, code, fail};
use crate::error::{Error, Result};
use aws_sdk_ssm::types::{ParameterType, Tag};

/// The public parameter with the latest Amazon Linux 2023 AMI for x86_64.
pub const AMI_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// Writes a parameter: created with the deployment tag, or overwritten
/// (Parameter Store refuses tags together with overwrite).
pub async fn put(c: &Clients, prefix: &str, name: &str, value: &str) -> Result<()> {
    let tag = Tag::builder()
        .key(TAG_KEY)
        .value(prefix)
        .build()
        .map_err(|e| Error::cloud("build", "tag", e))?;
    let created = c
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .tags(tag)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some("ParameterAlreadyExists") => c
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("set parameter", name, e)),
        Err(e) => Err(fail("create parameter", name, e)),
    }
}

/// Reads parameters; `None` for each that does not exist.
pub async fn get(c: &Clients, names: &[&str]) -> Result<Vec<Option<String>>> {
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

/// Deletes parameters; returns the names that existed.
pub async fn delete(c: &Clients, names: &[&str]) -> Result<Vec<String>> {
    let out = c
        .ssm
        .delete_parameters()
        .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .send()
        .await
        .map_err(|e| fail("delete parameters", &names.join(", "), e))?;
    Ok(out.deleted_parameters().to_vec())
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

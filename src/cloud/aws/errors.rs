//! SDK errors in one line, with the action and the resource they concern.

use super::poll::Attempt;
use crate::error::Error;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The error code of an SDK error, if the service sent one.
pub(crate) fn code<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_ec2::error::SdkError<E, R>,
) -> Option<&str> {
    e.code()
}

/// An SDK error in one line: the service's code and message, or the kind of
/// failure and its root cause (e.g. "dispatch failure (Connection refused)").
pub(crate) fn describe<E, R>(e: &aws_sdk_ec2::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // A denied call names the IAM action to grant.
    if let Some(sentence) = super::denied::sentence(e) {
        return sentence;
    }
    if let Some(code) = e.code() {
        return match e.message() {
            Some(m) => format!("{code}: {m}"),
            None => code.to_string(),
        };
    }
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let top = e.to_string();
    let root = root.to_string();
    if root == top {
        top
    } else {
        format!("{top} ({root})")
    }
}

/// A failed call as a library error naming the action and the resource.
pub(crate) fn fail<E, R>(
    action: &str,
    resource: &str,
    e: aws_sdk_ec2::error::SdkError<E, R>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::cloud(action, resource, describe(&e))
}

/// A failed attempt of a retried call: transient when the service's error code
/// is one of `transient` (eventual consistency), final otherwise.
pub(crate) fn attempt<E, R>(
    e: aws_sdk_ec2::error::SdkError<E, R>,
    transient: &[&str],
    action: &str,
    resource: &str,
) -> Attempt<Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retry = code(&e).is_some_and(|c| transient.contains(&c));
    let err = fail(action, resource, e);
    if retry {
        Attempt::Retry(err)
    } else {
        Attempt::Fail(err)
    }
}

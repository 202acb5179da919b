//! "Access denied" in one sentence that names the IAM action to grant.
//!
//! AWS words a denial differently per service: most say `User: ARN is not
//! authorized to perform: ACTION on resource: …` (sometimes naming an action
//! the call depends on, such as `iam:PassRole`); EC2 says only
//! `UnauthorizedOperation` with an encoded message. When the message names no
//! action, the action of the call itself is named, derived from the SDK's
//! error type (`aws_sdk_ec2::operation::create_launch_template::
//! CreateLaunchTemplateError` → `ec2:CreateLaunchTemplate`).

use aws_sdk_ec2::config::http::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where the policy the tool needs is, for the sentences.
pub(super) const POLICY_HINT: &str = "docs/aws-policy.json lists every action this tool needs, and `resilient preflight` checks them";

/// The error codes services answer a denied call with.
const CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];

/// The sentence for a denied call, or `None` when `e` is no denial.
pub(super) fn sentence<E, R>(e: &aws_sdk_ec2::error::SdkError<E, R>) -> Option<String>
where
    E: ProvideErrorMetadata + 'static,
    R: 'static,
{
    let (code, message) = match (e.code(), e.message()) {
        (Some(code), message) if CODES.contains(&code) => {
            (code.to_string(), message.unwrap_or_default().to_string())
        }
        // A denial in a format the SDK could not parse (moto answers JSON
        // services' denials in XML): read the raw answer.
        (None, _) => {
            let raw = e.raw_response()?;
            let raw = (raw as &dyn std::any::Any).downcast_ref::<HttpResponse>()?;
            if raw.status().as_u16() != 403 {
                return None;
            }
            let body = String::from_utf8_lossy(raw.body().bytes()?).into_owned();
            let code = CODES.iter().find(|c| body.contains(*c))?;
            (code.to_string(), body)
        }
        _ => return None,
    };
    let action = action_in(&message).unwrap_or_else(|| action_of::<E>());
    let who = principal_in(&message)
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    Some(format!(
        "your credentials{who} may not call {action} ({code}): grant it in your IAM policy ({POLICY_HINT})"
    ))
}

/// The action a denial message names: `… not authorized to perform: ACTION …`.
fn action_in(message: &str) -> Option<String> {
    let rest = message.split("not authorized to perform: ").nth(1)?;
    let action: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
        .collect();
    action.contains(':').then_some(action)
}

/// The principal a denial message names: `User: ARN is not authorized …`.
fn principal_in(message: &str) -> Option<String> {
    let rest = message.split("User: ").nth(1)?;
    let arn = rest.split_whitespace().next()?;
    arn.starts_with("arn:").then(|| arn.to_string())
}

/// The IAM action of the call that failed with error type `E`.
fn action_of<E: 'static>() -> String {
    action_of_type(std::any::type_name::<E>())
}

fn action_of_type(name: &str) -> String {
    let krate = name.split("::").next().unwrap_or_default();
    let service = match krate.strip_prefix("aws_sdk_").unwrap_or(krate) {
        "elasticloadbalancingv2" => "elasticloadbalancing",
        other => other,
    };
    let operation = name
        .rsplit("::")
        .next()
        .unwrap_or_default()
        .trim_end_matches('>');
    let operation = operation.strip_suffix("Error").unwrap_or(operation);
    format!("{service}:{operation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_comes_from_the_message_else_from_the_operation() {
        let m = "User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/x because no identity-based policy allows the iam:PassRole action";
        assert_eq!(action_in(m).as_deref(), Some("iam:PassRole"));
        assert_eq!(
            principal_in(m).as_deref(),
            Some("arn:aws:iam::123456789012:user/deployer")
        );
        assert_eq!(
            action_in(
                "User: arn:aws:iam::1:user/u is not authorized to perform: elasticloadbalancing:CreateLoadBalancer"
            ),
            Some("elasticloadbalancing:CreateLoadBalancer".into())
        );
        assert_eq!(
            action_in(
                "You are not authorized to perform this operation. Encoded authorization failure message: x"
            ),
            None
        );
        assert_eq!(
            action_of::<aws_sdk_ec2::operation::create_launch_template::CreateLaunchTemplateError>(
            ),
            "ec2:CreateLaunchTemplate"
        );
        assert_eq!(
            action_of::<aws_sdk_elasticloadbalancingv2::operation::add_tags::AddTagsError>(),
            "elasticloadbalancing:AddTags"
        );
        assert_eq!(
            action_of::<aws_sdk_ssm::operation::put_parameter::PutParameterError>(),
            "ssm:PutParameter"
        );
    }
}

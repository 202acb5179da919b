//! Every resource name of a deployment, derived from one prefix, and the AWS
//! naming rules the prefix must satisfy.

use crate::error::{Error, Result};
use serde::Serialize;

/// The names of everything a deployment creates, all derived from [`Names::prefix`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    /// The prefix every other name starts with.
    pub prefix: String,
    /// The recommendations table.
    pub table: String,
    /// The instances' IAM policy (read the table and the parameters).
    pub policy: String,
    /// The instances' IAM role.
    pub role: String,
    /// The instances' instance profile.
    pub profile: String,
    /// The bad-credentials policy (parameters only, no table).
    pub bc_policy: String,
    /// The bad-credentials role.
    pub bc_role: String,
    /// The bad-credentials instance profile.
    pub bc_profile: String,
    /// The launch template.
    pub launch_template: String,
    /// The Auto Scaling group.
    pub group: String,
    /// The target group.
    pub target_group: String,
    /// The load balancer.
    pub load_balancer: String,
    /// The load balancer's security group (port 80 from the user's /32 only).
    pub lb_security_group: String,
    /// The instances' security group (port 80 from the load balancer's group only).
    pub instance_security_group: String,
    /// The parameter naming the table the instances read.
    pub param_table: String,
    /// The parameter choosing `none` or `static` failure responses.
    pub param_failure_response: String,
    /// The parameter choosing `shallow` or `deep` health checks.
    pub param_health_check: String,
    /// The parameter holding the injected faults instances read (JSON: the
    /// dependency fault `{"latency_ms": …, "error_rate": …}`, and when set
    /// `"hang": [instance ids]` and `"crash": {instance id: token}`; see
    /// [`crate::service::Faults`]).
    pub param_fault: String,
}

/// The longest region name AWS uses today, for length checks of IAM names.
const LONGEST_REGION: &str = "ap-southeast-22";

impl Names {
    /// Derives every name from `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self::build(prefix, None)
    }

    /// Derives every name from `prefix`, with the region in the IAM names:
    /// IAM is global, so two regions deploying one prefix never share (or
    /// delete) each other's roles, policies and profiles.
    pub fn in_region(prefix: &str, region: &str) -> Self {
        Self::build(prefix, Some(region))
    }

    fn build(prefix: &str, region: Option<&str>) -> Self {
        let n = |suffix: &str| format!("{prefix}-{suffix}");
        let iam = |suffix: &str| match region {
            Some(r) => format!("{prefix}-{r}-{suffix}"),
            None => n(suffix),
        };
        Names {
            prefix: prefix.to_string(),
            table: n("recommendations"),
            policy: iam("pol"),
            role: iam("role"),
            profile: iam("prof"),
            bc_policy: iam("bc-pol"),
            bc_role: iam("bc-role"),
            bc_profile: iam("bc-prof"),
            launch_template: n("template"),
            group: n("group"),
            target_group: n("tg"),
            load_balancer: n("lb"),
            lb_security_group: n("lb-sg"),
            instance_security_group: n("instance-sg"),
            param_table: n("table"),
            param_failure_response: n("failure-response"),
            param_health_check: n("health-check"),
            param_fault: n("fault"),
        }
    }

    /// The four parameter names, in the order table, failure-response,
    /// health-check, fault (the order instances read them in).
    pub fn parameters(&self) -> [&str; 4] {
        [
            &self.param_table,
            &self.param_failure_response,
            &self.param_health_check,
            &self.param_fault,
        ]
    }

    /// Checks `prefix` against every naming rule its derived names meet on
    /// AWS, so a bad prefix fails in one sentence before anything is created.
    pub fn check_prefix(prefix: &str) -> Result<()> {
        let bad = |why: &str| {
            Err(Error::InvalidArgument(format!(
                "prefix `{prefix}` {why} (choose another with --prefix)"
            )))
        };
        if prefix.is_empty() || prefix.len() > 20 {
            return bad("must be 1 to 20 characters long");
        }
        if !prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad(
                "may hold only lower-case letters, digits and dashes (IAM names ignore case, so upper case could clash)",
            );
        }
        if prefix.starts_with('-') || prefix.ends_with('-') || prefix.contains("--") {
            return bad("must not start or end with a dash, nor hold two in a row");
        }
        if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
            return bad("must start with a letter");
        }
        let names = Names::in_region(prefix, LONGEST_REGION);
        for p in names.parameters() {
            if p.starts_with("aws") || p.starts_with("ssm") {
                return bad(&format!(
                    "makes the parameter name `{p}`, and names starting with `aws` or `ssm` are reserved"
                ));
            }
        }
        if names.load_balancer.starts_with("internal-") {
            return bad(&format!(
                "makes the load balancer name `{}`, and names starting with `internal-` are reserved",
                names.load_balancer
            ));
        }
        for sg in [&names.lb_security_group, &names.instance_security_group] {
            if sg.starts_with("sg-") {
                return bad(&format!(
                    "makes the security group name `{sg}`, and names starting with `sg-` are reserved"
                ));
            }
        }
        // Longest derived names against their limits (ELB 32, IAM role 64).
        let limits: [(&str, &String, usize); 3] = [
            ("load balancer", &names.load_balancer, 32),
            ("target group", &names.target_group, 32),
            ("IAM role", &names.bc_role, 64),
        ];
        for (kind, name, max) in limits {
            if name.len() > max {
                return bad(&format!(
                    "makes the {kind} name `{name}`, longer than AWS's {max} characters"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_starts_with_the_prefix() {
        let names = Names::new("demo");
        assert_eq!(names.group, "demo-group");
        assert_eq!(names.param_failure_response, "demo-failure-response");
        let json = serde_json::to_value(&names).unwrap();
        for (key, value) in json.as_object().unwrap() {
            assert!(value.as_str().unwrap().starts_with("demo"), "{key}");
        }
    }

    #[test]
    fn iam_names_carry_the_region_and_nothing_else_does() {
        let names = Names::in_region("demo", "eu-west-1");
        assert_eq!(names.role, "demo-eu-west-1-role");
        assert_eq!(names.bc_profile, "demo-eu-west-1-bc-prof");
        assert_eq!(names.policy, "demo-eu-west-1-pol");
        assert_eq!(names.table, "demo-recommendations");
        assert_eq!(names.lb_security_group, "demo-lb-sg");
        assert_ne!(
            Names::in_region("demo", "us-east-1").role,
            Names::in_region("demo", "us-west-2").role
        );
    }

    #[test]
    fn prefixes_that_break_an_aws_naming_rule_are_refused() {
        for ok in ["resilient-demo", "a", "demo2", "x1-y2-z3-abcdefghijk"] {
            assert!(Names::check_prefix(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "1 to 20"),
            ("abcdefghijklmnopqrstu", "1 to 20"),
            ("Demo", "lower-case"),
            ("de mo", "lower-case"),
            ("demo-", "dash"),
            ("-demo", "dash"),
            ("de--mo", "dash"),
            ("1demo", "start with a letter"),
            ("aws-demo", "`aws` or `ssm`"),
            ("ssmdemo", "`aws` or `ssm`"),
            ("internal", "`internal-`"),
            ("sg", "`sg-`"),
        ] {
            let e = Names::check_prefix(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.contains("--prefix"), "{e}");
        }
    }
}

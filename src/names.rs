//! Every resource name of a deployment, derived from one prefix.

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
    /// The parameter naming the table the instances read.
    pub param_table: String,
    /// The parameter choosing `none` or `static` failure responses.
    pub param_failure_response: String,
    /// The parameter choosing `shallow` or `deep` health checks.
    pub param_health_check: String,
}

impl Names {
    /// Derives every name from `prefix`.
    pub fn new(prefix: &str) -> Self {
        let n = |suffix: &str| format!("{prefix}-{suffix}");
        Names {
            prefix: prefix.to_string(),
            table: n("recommendations"),
            policy: n("pol"),
            role: n("role"),
            profile: n("prof"),
            bc_policy: n("bc-pol"),
            bc_role: n("bc-role"),
            bc_profile: n("bc-prof"),
            launch_template: n("template"),
            group: n("group"),
            target_group: n("tg"),
            load_balancer: n("lb"),
            param_table: n("table"),
            param_failure_response: n("failure-response"),
            param_health_check: n("health-check"),
        }
    }

    /// The three parameter names, in the order table, failure-response, health-check.
    pub fn parameters(&self) -> [&str; 3] {
        [
            &self.param_table,
            &self.param_failure_response,
            &self.param_health_check,
        ]
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
}

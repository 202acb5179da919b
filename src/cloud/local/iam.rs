//! Identity on the local cloud: instance profiles and what their policy allows.

use crate::service::DependencyError;
use crate::sync::{read, write};
use std::collections::HashMap;
use std::sync::RwLock;

/// What a profile's policy lets an instance read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The policy's name.
    pub name: String,
    /// Tables it may read.
    pub tables: Vec<String>,
    /// Parameters it may read.
    pub parameters: Vec<String>,
}

/// An instance profile with its role and the role's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The role's name.
    pub role: String,
    /// The role's policy.
    pub policy: Policy,
}

/// The instance profiles of the local cloud.
#[derive(Debug, Default)]
pub(crate) struct Iam {
    profiles: RwLock<HashMap<String, Profile>>,
}

impl Iam {
    /// Creates or replaces a profile.
    pub(crate) fn put_profile(&self, name: &str, profile: Profile) {
        write(&self.profiles).insert(name.to_string(), profile);
    }

    /// Whether the profile exists.
    pub(crate) fn has_profile(&self, name: &str) -> bool {
        read(&self.profiles).contains_key(name)
    }

    /// Checks that `profile` may read the table, as DynamoDB would.
    pub(crate) fn authorize_table(
        &self,
        profile: &str,
        table: &str,
    ) -> Result<(), DependencyError> {
        let allowed = read(&self.profiles)
            .get(profile)
            .is_some_and(|p| p.policy.tables.iter().any(|t| t == table));
        if allowed {
            Ok(())
        } else {
            Err(denied(profile, "dynamodb:Query", &format!("table/{table}")))
        }
    }

    /// Checks that `profile` may read every one of the parameters.
    pub(crate) fn authorize_parameters(
        &self,
        profile: &str,
        names: &[&str],
    ) -> Result<(), DependencyError> {
        let profiles = read(&self.profiles);
        let policy = profiles.get(profile).map(|p| &p.policy);
        for name in names {
            if !policy.is_some_and(|p| p.parameters.iter().any(|q| q == name)) {
                return Err(denied(
                    profile,
                    "ssm:GetParameters",
                    &format!("parameter/{name}"),
                ));
            }
        }
        Ok(())
    }
}

fn denied(profile: &str, action: &str, resource: &str) -> DependencyError {
    DependencyError {
        code: "AccessDeniedException".into(),
        message: format!(
            "instance profile {profile} is not authorized to perform {action} on resource {resource}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_decide_what_a_profile_reads() {
        let iam = Iam::default();
        iam.put_profile(
            "good",
            Profile {
                role: "r".into(),
                policy: Policy {
                    name: "p".into(),
                    tables: vec!["t".into()],
                    parameters: vec!["a".into(), "b".into()],
                },
            },
        );
        iam.put_profile(
            "bad",
            Profile {
                role: "r2".into(),
                policy: Policy {
                    name: "p2".into(),
                    tables: vec![],
                    parameters: vec!["a".into(), "b".into()],
                },
            },
        );
        assert!(iam.authorize_table("good", "t").is_ok());
        assert!(iam.authorize_table("good", "other").is_err());
        assert_eq!(
            iam.authorize_table("bad", "t").unwrap_err().code,
            "AccessDeniedException"
        );
        assert!(iam.authorize_parameters("bad", &["a", "b"]).is_ok());
        assert!(iam.authorize_parameters("good", &["a", "c"]).is_err());
        assert!(iam.authorize_table("missing", "t").is_err());
    }
}

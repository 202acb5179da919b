//! The states, reasons, lifecycles, health and resource kinds the cloud
//! reports, as enums whose string form is AWS's own word.
//!
//! Code compares variants; scripts, the journal and the terminal see the
//! words (`as_str`, `Display`, serde), exactly as AWS writes them. Enums fed
//! by AWS whose SDK type is open (AWS adds values without notice) keep an
//! `Other` variant carrying the word as sent, so nothing AWS says is lost.

/// A word that names none of an enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{word}`")]
pub struct UnknownWord {
    /// What the word should have named, e.g. "resource kind".
    pub what: &'static str,
    /// The word as given.
    pub word: String,
}

/// Defines `as_str`, `Display`, `FromStr` and serde as AWS's words for an
/// enum; `open` enums map unknown words to their `Other(String)` variant,
/// closed ones refuse them with [`UnknownWord`].
macro_rules! words {
    (open $ty:ident { $($var:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// AWS's word.
            pub fn as_str(&self) -> &str {
                match self {
                    $($ty::$var => $word,)+
                    $ty::Other(word) => word,
                }
            }
        }
        impl FromStr for $ty {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($word => $ty::$var,)+
                    other => $ty::Other(other.to_string()),
                })
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            /// Any word: these are the known ones.
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "examples": [$($word),+] })
            }
        }
        words!(@common $ty);
    };
    (closed $what:literal $ty:ident { $($var:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// AWS's word.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$var => $word,)+
                }
            }

            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];
        }
        impl FromStr for $ty {
            type Err = $crate::cloud::states::UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($ty::$var),)+
                    other => Err($crate::cloud::states::UnknownWord {
                        what: $what,
                        word: other.to_string(),
                    }),
                }
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            /// One of the words.
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [$($word),+] })
            }
        }
        words!(@common $ty);
    };
    (@common $ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = String::deserialize(d)?;
                word.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod instance;
mod refresh;
mod resource;
mod seen;
mod target;
mod tone;

pub use instance::{GroupHealth, InstanceState, health_or_blank};
pub use refresh::RefreshStatus;
pub use resource::ResourceKind;
pub use seen::{GONE, Seen};
pub use target::{TargetReason, TargetState};
pub use tone::Tone;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::fmt;
    use std::str::FromStr;

    fn round_trip<T>(value: T, word: &str)
    where
        T: Serialize + for<'de> Deserialize<'de> + FromStr + fmt::Display + PartialEq + fmt::Debug,
        T::Err: fmt::Debug,
    {
        assert_eq!(value.to_string(), word);
        assert_eq!(word.parse::<T>().unwrap(), value);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, format!("\"{word}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
    }

    #[test]
    fn refresh_statuses_are_auto_scalings_words() {
        for (status, word) in [
            (RefreshStatus::Pending, "Pending"),
            (RefreshStatus::InProgress, "InProgress"),
            (RefreshStatus::Successful, "Successful"),
            (RefreshStatus::Failed, "Failed"),
            (RefreshStatus::Cancelling, "Cancelling"),
            (RefreshStatus::Cancelled, "Cancelled"),
            (RefreshStatus::RollbackInProgress, "RollbackInProgress"),
            (RefreshStatus::RollbackFailed, "RollbackFailed"),
            (RefreshStatus::RollbackSuccessful, "RollbackSuccessful"),
            (RefreshStatus::Baking, "Baking"),
            (RefreshStatus::Other("Paused".into()), "Paused"),
        ] {
            round_trip(status, word);
        }
        assert!(RefreshStatus::RollbackInProgress.active());
        assert!(!RefreshStatus::RollbackSuccessful.active());
    }

    #[test]
    fn target_states_are_elbs_words() {
        for (state, word) in [
            (TargetState::Initial, "initial"),
            (TargetState::Healthy, "healthy"),
            (TargetState::Unhealthy, "unhealthy"),
            (TargetState::UnhealthyDraining, "unhealthy.draining"),
            (TargetState::Draining, "draining"),
            (TargetState::Unused, "unused"),
            (TargetState::Unavailable, "unavailable"),
            (TargetState::Other("hibernating".into()), "hibernating"),
        ] {
            round_trip(state, word);
        }
    }

    #[test]
    fn reasons_are_elbs_codes() {
        for (reason, word) in [
            (
                TargetReason::RegistrationInProgress,
                "Elb.RegistrationInProgress",
            ),
            (
                TargetReason::InitialHealthChecking,
                "Elb.InitialHealthChecking",
            ),
            (TargetReason::InternalError, "Elb.InternalError"),
            (
                TargetReason::ResponseCodeMismatch,
                "Target.ResponseCodeMismatch",
            ),
            (TargetReason::Timeout, "Target.Timeout"),
            (
                TargetReason::FailedHealthChecks,
                "Target.FailedHealthChecks",
            ),
            (TargetReason::NotRegistered, "Target.NotRegistered"),
            (TargetReason::NotInUse, "Target.NotInUse"),
            (
                TargetReason::DeregistrationInProgress,
                "Target.DeregistrationInProgress",
            ),
            (TargetReason::InvalidState, "Target.InvalidState"),
            (TargetReason::IpUnusable, "Target.IpUnusable"),
            (
                TargetReason::HealthCheckDisabled,
                "Target.HealthCheckDisabled",
            ),
            (TargetReason::Other("Elb.New".into()), "Elb.New"),
        ] {
            round_trip(reason, word);
        }
    }

    #[test]
    fn instance_states_are_ec2s_words() {
        for (state, word) in [
            (InstanceState::Pending, "pending"),
            (InstanceState::Running, "running"),
            (InstanceState::ShuttingDown, "shutting-down"),
            (InstanceState::Terminated, "terminated"),
            (InstanceState::Stopping, "stopping"),
            (InstanceState::Stopped, "stopped"),
            (InstanceState::Other("hibernated".into()), "hibernated"),
        ] {
            round_trip(state, word);
        }
        assert!(InstanceState::ShuttingDown.leaving());
        assert!(!InstanceState::Running.leaving());
    }

    #[test]
    fn group_health_and_kinds_refuse_unknown_words() {
        round_trip(GroupHealth::Healthy, "Healthy");
        round_trip(GroupHealth::Unhealthy, "Unhealthy");
        assert!("healthy".parse::<GroupHealth>().is_err());
        for kind in ResourceKind::ALL {
            round_trip(*kind, kind.as_str());
        }
        assert_eq!(
            ResourceKind::AutoScalingGroup.as_str(),
            "auto scaling group"
        );
        assert_eq!(
            "bucket".parse::<ResourceKind>().unwrap_err().to_string(),
            "unknown resource kind `bucket`"
        );
    }

    #[test]
    fn seen_writes_gone_and_blank_health() {
        round_trip(Seen::Now(TargetState::Healthy), "healthy");
        round_trip(Seen::<TargetState>::Gone, "gone");
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct H(#[serde(with = "health_or_blank")] Option<GroupHealth>);
        assert_eq!(serde_json::to_string(&H(None)).unwrap(), "\"\"");
        assert_eq!(serde_json::from_str::<H>("\"\"").unwrap(), H(None));
        assert_eq!(
            serde_json::from_str::<H>("\"Healthy\"").unwrap(),
            H(Some(GroupHealth::Healthy))
        );
    }

    #[test]
    fn tones_cover_every_known_word() {
        assert_eq!(Tone::of_word("healthy"), Some(Tone::Good));
        assert_eq!(Tone::of_word("Healthy"), Some(Tone::Good));
        assert_eq!(Tone::of_word("Unhealthy"), Some(Tone::Bad));
        assert_eq!(Tone::of_word("shutting-down"), Some(Tone::Leaving));
        assert_eq!(Tone::of_word("unused"), Some(Tone::Idle));
        assert_eq!(Tone::of_word("terminated"), Some(Tone::Gone));
        assert_eq!(Tone::of_word("gone"), Some(Tone::Gone));
        assert_eq!(Tone::of_word("200"), None);
    }
}

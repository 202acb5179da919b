//! The states, reasons, lifecycles, health and resource kinds the cloud
//! reports, as enums whose string form is AWS's own word.
//!
//! Code compares variants; scripts, the journal and the terminal see the
//! words (`as_str`, `Display`, serde), exactly as AWS writes them. Enums fed
//! by AWS whose SDK type is open (AWS adds values without notice) keep an
//! `Other` variant carrying the word as sent, so nothing AWS says is lost.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

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
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($ty::$var),)+
                    other => Err(UnknownWord {
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

/// A load balancer target's health state, as ELB names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetState {
    /// Registered, first health checks under way.
    Initial,
    /// Passing its health checks: receives traffic.
    Healthy,
    /// Failing its health checks.
    Unhealthy,
    /// Unhealthy and being deregistered (AWS's `unhealthy.draining`).
    UnhealthyDraining,
    /// Being deregistered: finishing its connections.
    Draining,
    /// The target group receives no traffic (no listener uses it), or the
    /// target is in a zone the load balancer does not serve.
    Unused,
    /// Health checks are disabled, or the state could not be read.
    Unavailable,
    /// A state this version does not know: ELB's list of states is open
    /// (the SDK's enum is), so a newer word is kept as sent.
    Other(String),
}

words!(open TargetState {
    Initial => "initial",
    Healthy => "healthy",
    Unhealthy => "unhealthy",
    UnhealthyDraining => "unhealthy.draining",
    Draining => "draining",
    Unused => "unused",
    Unavailable => "unavailable",
});

/// Why a target is not healthy: ELB's reason code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetReason {
    /// `Elb.RegistrationInProgress`: no health check has gone out yet.
    RegistrationInProgress,
    /// `Elb.InitialHealthChecking`: the first checks are under way.
    InitialHealthChecking,
    /// `Elb.InternalError`: ELB itself failed.
    InternalError,
    /// `Target.ResponseCodeMismatch`: the check got an unexpected status.
    ResponseCodeMismatch,
    /// `Target.Timeout`: the check got no answer in time.
    Timeout,
    /// `Target.FailedHealthChecks`: the checks failed (e.g. refused connections).
    FailedHealthChecks,
    /// `Target.NotRegistered`: not registered with the target group.
    NotRegistered,
    /// `Target.NotInUse`: the target group receives no traffic.
    NotInUse,
    /// `Target.DeregistrationInProgress`: draining.
    DeregistrationInProgress,
    /// `Target.InvalidState`: the instance is stopped or terminated.
    InvalidState,
    /// `Target.IpUnusable`: the target's address cannot be used.
    IpUnusable,
    /// `Target.HealthCheckDisabled`: health checks are off.
    HealthCheckDisabled,
    /// A reason code this version does not know: ELB's list is open (the
    /// SDK's enum is), so a newer code is kept as sent.
    Other(String),
}

words!(open TargetReason {
    RegistrationInProgress => "Elb.RegistrationInProgress",
    InitialHealthChecking => "Elb.InitialHealthChecking",
    InternalError => "Elb.InternalError",
    ResponseCodeMismatch => "Target.ResponseCodeMismatch",
    Timeout => "Target.Timeout",
    FailedHealthChecks => "Target.FailedHealthChecks",
    NotRegistered => "Target.NotRegistered",
    NotInUse => "Target.NotInUse",
    DeregistrationInProgress => "Target.DeregistrationInProgress",
    InvalidState => "Target.InvalidState",
    IpUnusable => "Target.IpUnusable",
    HealthCheckDisabled => "Target.HealthCheckDisabled",
});

/// An instance's lifecycle state, as EC2 names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstanceState {
    /// Launched, not yet running.
    Pending,
    /// Running (its server may still be booting).
    Running,
    /// Terminating.
    ShuttingDown,
    /// Gone (EC2 lists it for a while).
    Terminated,
    /// Stopping.
    Stopping,
    /// Stopped.
    Stopped,
    /// A state this version does not know: EC2's list is open (the SDK's
    /// enum is), so a newer word is kept as sent.
    Other(String),
}

words!(open InstanceState {
    Pending => "pending",
    Running => "running",
    ShuttingDown => "shutting-down",
    Terminated => "terminated",
    Stopping => "stopping",
    Stopped => "stopped",
});

impl InstanceState {
    /// Whether the instance is on its way out or gone (shutting down or
    /// terminated): nothing done to it matters any more.
    pub fn leaving(&self) -> bool {
        matches!(
            self,
            InstanceState::ShuttingDown | InstanceState::Terminated
        )
    }
}

/// The Auto Scaling group's view of an instance's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupHealth {
    /// The group keeps it.
    Healthy,
    /// The group replaces it.
    Unhealthy,
}

words!(closed "group health" GroupHealth {
    Healthy => "Healthy",
    Unhealthy => "Unhealthy",
});

/// The kind of a resource a deployment owns, plans or deletes, in the
/// words `inspect::resources()`, `deploy::plan()` and destroy show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// The DynamoDB table.
    Table,
    /// An IAM policy.
    IamPolicy,
    /// An IAM role.
    IamRole,
    /// An instance profile.
    InstanceProfile,
    /// The launch template.
    LaunchTemplate,
    /// The Auto Scaling group.
    AutoScalingGroup,
    /// An instance of the group.
    Instance,
    /// A public IPv4 address (billed on AWS).
    PublicIpv4Address,
    /// A Parameter Store parameter.
    Parameter,
    /// The target group.
    TargetGroup,
    /// The load balancer.
    LoadBalancer,
    /// The load balancer's listener.
    Listener,
    /// A security group.
    SecurityGroup,
    /// A rule of a security group (the opened port).
    SecurityGroupRule,
}

words!(closed "resource kind" ResourceKind {
    Table => "table",
    IamPolicy => "iam policy",
    IamRole => "iam role",
    InstanceProfile => "instance profile",
    LaunchTemplate => "launch template",
    AutoScalingGroup => "auto scaling group",
    Instance => "instance",
    PublicIpv4Address => "public ipv4 address",
    Parameter => "parameter",
    TargetGroup => "target group",
    LoadBalancer => "load balancer",
    Listener => "listener",
    SecurityGroup => "security group",
    SecurityGroupRule => "security group rule",
});

impl ResourceKind {
    /// The kind in a sentence, with AWS's capitals (`Auto Scaling group`,
    /// `IAM role`); [`ResourceKind::as_str`] is the listed word.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::AutoScalingGroup => "Auto Scaling group",
            ResourceKind::IamPolicy => "IAM policy",
            ResourceKind::IamRole => "IAM role",
            other => other.as_str(),
        }
    }
}

/// How a state reads at a glance: the one rule the terminal's colours and
/// the report's lanes share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Serving: `healthy`, `running`, `Healthy`.
    Good,
    /// Failing: `unhealthy`, `Unhealthy`.
    Bad,
    /// Starting: `initial`, `pending`.
    Starting,
    /// On its way out: `draining`, `shutting-down`, `stopping`.
    Leaving,
    /// Not in use: `unused`, `unavailable`, `stopped`.
    Idle,
    /// Gone: `terminated`, or no longer listed ([`GONE`]).
    Gone,
}

impl Tone {
    /// The tone of a target state.
    pub fn of_target(state: &TargetState) -> Option<Tone> {
        Some(match state {
            TargetState::Healthy => Tone::Good,
            TargetState::Unhealthy => Tone::Bad,
            TargetState::Initial => Tone::Starting,
            TargetState::Draining | TargetState::UnhealthyDraining => Tone::Leaving,
            TargetState::Unused | TargetState::Unavailable => Tone::Idle,
            TargetState::Other(_) => return None,
        })
    }

    /// The tone of an instance lifecycle state.
    pub fn of_instance(state: &InstanceState) -> Option<Tone> {
        Some(match state {
            InstanceState::Running => Tone::Good,
            InstanceState::Pending => Tone::Starting,
            InstanceState::ShuttingDown | InstanceState::Stopping => Tone::Leaving,
            InstanceState::Stopped => Tone::Idle,
            InstanceState::Terminated => Tone::Gone,
            InstanceState::Other(_) => return None,
        })
    }

    /// The tone of a group health.
    pub fn of_health(health: GroupHealth) -> Tone {
        match health {
            GroupHealth::Healthy => Tone::Good,
            GroupHealth::Unhealthy => Tone::Bad,
        }
    }

    /// The tone of any of these words (a target state, an instance state,
    /// a group health, or [`GONE`]), as a table cell or a journal line holds
    /// it; `None` for any other text.
    pub fn of_word(word: &str) -> Option<Tone> {
        if word == GONE {
            return Some(Tone::Gone);
        }
        let Ok(target) = word.parse::<TargetState>();
        let Ok(instance) = word.parse::<InstanceState>();
        Tone::of_target(&target)
            .or_else(|| Tone::of_instance(&instance))
            .or_else(|| word.parse().ok().map(Tone::of_health))
    }
}

/// What a watcher last saw of a target or an instance: its state, or that
/// it went (the journal's word `gone`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seen<S> {
    /// It is there, in this state.
    Now(S),
    /// It is no longer listed.
    Gone,
}

/// The journal's word for a target or instance that went.
pub const GONE: &str = "gone";

impl<S: fmt::Display> fmt::Display for Seen<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen::Now(s) => s.fmt(f),
            Seen::Gone => f.write_str(GONE),
        }
    }
}

impl<S: Serialize> Serialize for Seen<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            Seen::Now(state) => state.serialize(s),
            Seen::Gone => s.serialize_str(GONE),
        }
    }
}

impl<S: FromStr> FromStr for Seen<S> {
    type Err = S::Err;
    fn from_str(word: &str) -> Result<Self, Self::Err> {
        if word == GONE {
            return Ok(Seen::Gone);
        }
        word.parse().map(Seen::Now)
    }
}

impl<'de, S: FromStr> Deserialize<'de> for Seen<S>
where
    S::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

/// A state's word, or [`GONE`].
impl<S: schemars::JsonSchema> schemars::JsonSchema for Seen<S> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Seen{}", S::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let state = generator.subschema_for::<S>();
        schemars::json_schema!({ "anyOf": [state, { "const": GONE }] })
    }
}

/// Serde for an optional [`GroupHealth`] written as its word, or `""` when
/// absent (an instance that went has no health; the journal writes `""`).
pub mod health_or_blank {
    use super::GroupHealth;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the word, or `""`.
    pub fn serialize<S: Serializer>(h: &Option<GroupHealth>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(h.map_or("", |h| h.as_str()))
    }

    /// The JSON Schema of the field: the word, or `""`.
    pub fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let health = generator.subschema_for::<GroupHealth>();
        schemars::json_schema!({ "anyOf": [health, { "const": "" }] })
    }

    /// Reads the word; `""` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GroupHealth>, D::Error> {
        let word = String::deserialize(d)?;
        if word.is_empty() {
            return Ok(None);
        }
        word.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

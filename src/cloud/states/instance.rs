//! An instance's lifecycle state (EC2) and health (Auto Scaling).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

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

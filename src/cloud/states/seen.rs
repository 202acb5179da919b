//! A state, or that its target or instance went.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

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

//! An event line: its time and what happened — an event kind this version
//! knows, or one from a newer version, kept as it was written and skipped
//! by readers.

use crate::events::{Event, EventKind};
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One event of a journal, at its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    /// What happened (`event`: the kind, and the kind's fields).
    #[serde(flatten)]
    pub kind: Kind,
}

/// What happened: a kind this version knows, or one it does not.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An event kind of this version.
    Known(EventKind),
    /// An event kind of a newer version: kept, and skipped by readers.
    Unknown(UnknownKind),
}

/// An event kind this version does not know, as it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKind {
    /// Its name (`event`).
    pub event: String,
    /// Its other fields.
    pub fields: Map<String, Value>,
}

impl Entry {
    /// The event, when this version knows its kind.
    pub fn known(&self) -> Option<&EventKind> {
        match &self.kind {
            Kind::Known(kind) => Some(kind),
            Kind::Unknown(_) => None,
        }
    }
}

impl From<Event> for Entry {
    fn from(event: Event) -> Self {
        Entry {
            t_ms: event.t_ms,
            kind: Kind::Known(event.kind),
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Kind::Known(kind) => kind.serialize(serializer),
            Kind::Unknown(unknown) => {
                let mut map = serializer.serialize_map(Some(unknown.fields.len() + 1))?;
                map.serialize_entry("event", &unknown.event)?;
                for (key, value) in &unknown.fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Kind {
    /// A kind named in [`EventKind::KINDS`] must have its fields right (an
    /// error otherwise); any other kind is kept as an [`UnknownKind`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Map::<String, Value>::deserialize(deserializer)?;
        let event = match fields.get("event") {
            Some(Value::String(event)) => event.clone(),
            Some(_) => return Err(D::Error::custom("`event` is not a string")),
            None => return Err(D::Error::missing_field("event")),
        };
        if EventKind::KINDS.contains(&event.as_str()) {
            EventKind::deserialize(Value::Object(fields))
                .map(Kind::Known)
                .map_err(|e| D::Error::custom(format!("a `{event}` event: {e}")))
        } else {
            fields.remove("event");
            Ok(Kind::Unknown(UnknownKind { event, fields }))
        }
    }
}

impl JsonSchema for Kind {
    /// Described as this version's kinds: a newer version's schema
    /// describes its own.
    fn schema_name() -> Cow<'static, str> {
        EventKind::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EventKind::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_kind_reads_back_as_written() {
        let entry = Entry::from(Event {
            t_ms: 7,
            kind: EventKind::Fault {
                what: "deep health checks".into(),
                undo: crate::events::Undo::rollback(),
                change: false,
            },
        });
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            text,
            r#"{"t_ms":7,"event":"fault","what":"deep health checks","undo":"rollback"}"#
        );
        assert_eq!(serde_json::from_str::<Entry>(&text).unwrap(), entry);
    }

    #[test]
    fn an_unknown_kind_is_kept_with_its_fields() {
        let text = r#"{"t_ms":9,"event":"lightning","volts":3,"where":{"az":"a"}}"#;
        let entry: Entry = serde_json::from_str(text).unwrap();
        assert_eq!(entry.known(), None);
        let Kind::Unknown(unknown) = &entry.kind else {
            panic!("{entry:?}")
        };
        assert_eq!(unknown.event, "lightning");
        assert_eq!(unknown.fields["volts"], 3);
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            serde_json::from_str::<Value>(text).unwrap(),
            "written back as it was"
        );
    }

    #[test]
    fn a_known_kind_with_wrong_fields_is_an_error() {
        let e = serde_json::from_str::<Entry>(r#"{"t_ms":1,"event":"fault","wat":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a `fault` event") && e.contains("what"), "{e}");
        assert!(serde_json::from_str::<Entry>(r#"{"t_ms":1}"#).is_err());
    }
}

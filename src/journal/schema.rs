//! The JSON Schema of a journal line, generated from the types that write
//! and read it: printed by `resilient journal-schema`, kept in
//! `docs/journal.schema.json` (a test fails when that file is out of step).

use super::line::Line;

/// The JSON Schema (draft 2020-12) of one journal line, pretty-printed,
/// with a final newline.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Line);
    schema.insert(
        "title".into(),
        format!("resilient journal line (schema {})", super::SCHEMA).into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use serde_json::Value;

    const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/journal.schema.json");

    #[test]
    fn the_schema_in_docs_is_in_step_with_the_types() {
        let written = std::fs::read_to_string(FILE).unwrap_or_default();
        assert!(
            written == json_schema(),
            "docs/journal.schema.json is out of step with the journal's types: update it with\n  cargo run -- journal-schema > docs/journal.schema.json"
        );
    }

    /// Every `"event": {"const": …}` in the schema.
    fn event_consts(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("event")
                    .and_then(|e| e.get("const"))
                    .and_then(Value::as_str)
                {
                    out.push(name.to_string());
                }
                map.values().for_each(|v| event_consts(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| event_consts(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_known_kinds_are_exactly_the_kinds_of_the_enum() {
        let schema: Value = serde_json::from_str(&json_schema()).unwrap();
        let mut found = Vec::new();
        event_consts(&schema, &mut found);
        found.sort();
        let mut known: Vec<String> = EventKind::KINDS.iter().map(|k| k.to_string()).collect();
        known.sort();
        assert_eq!(
            found, known,
            "EventKind::KINDS is out of step with EventKind"
        );
    }
}

//! How the REPL shows a value: tables for target health, instances and
//! resources; indented JSON for other maps and arrays.

use crate::terminal::render_table;
use rhai::{Array, Dynamic, Map};

/// Column sets for arrays of well-known maps: (keys that identify it, columns).
const TABLES: [(&[&str], &[&str]); 4] = [
    (
        &["state", "reason"],
        &["id", "port", "state", "reason", "description"],
    ),
    (
        &["az", "health"],
        &["id", "az", "state", "health", "profile"],
    ),
    (&["kind", "usd_per_hour"], &["kind", "name", "usd_per_hour"]),
    (&["kind", "name"], &["kind", "name"]),
];

fn table_columns(rows: &Array) -> Option<&'static [&'static str]> {
    let first = rows.first()?.read_lock::<Map>()?;
    TABLES
        .iter()
        .find(|(keys, _)| keys.iter().all(|k| first.contains_key(*k)))
        .map(|(_, cols)| *cols)
}

/// The text to print for a value; `None` for `()`.
pub(super) fn render(value: &Dynamic) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if value.is_string() {
        return Some(format!("{:?}", value.to_string()));
    }
    if let Some(rows) = value.read_lock::<Array>()
        && let Some(columns) = table_columns(&rows)
    {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        return Some(render_table(&rows, &columns));
    }
    if value.is_map() || value.is_array() {
        if let Ok(json) = rhai::serde::from_dynamic::<serde_json::Value>(value)
            && let Ok(text) = serde_json::to_string_pretty(&json)
        {
            return Some(text);
        }
        return Some(format!("{value:#?}"));
    }
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_health_is_a_table_and_maps_are_json() {
        colored::control::set_override(false);
        let engine = rhai::Engine::new();
        let targets: Dynamic = engine
            .eval(r#"[#{id: "i-1", port: 80, state: "healthy", reason: (), description: ()}]"#)
            .unwrap();
        let shown = render(&targets).unwrap();
        assert!(
            shown.contains("state") && shown.contains("i-1") && shown.contains('┆'),
            "{shown}"
        );
        let map: Dynamic = engine.eval("#{a: 1, b: [true]}").unwrap();
        assert_eq!(
            render(&map).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}"
        );
        assert_eq!(render(&Dynamic::UNIT), None);
        assert_eq!(render(&Dynamic::from("x")).unwrap(), "\"x\"");
    }
}

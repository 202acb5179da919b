//! Standard functions replaced so no script can crash or hang the process
//! through them: each does what Rhai's own does, but checks the sandbox's
//! limits before the work instead of after it, and never follows a closure's
//! captured values (a map that holds itself through a closure).

use super::Limits;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

/// How deep `to_json` goes into nested arrays and maps.
pub(super) const MAX_JSON_DEPTH: usize = 256;

/// Registers the guarded functions over the standard ones.
pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("to_json", to_json);
    engine.register_fn("replace", replace);
}

/// `map.to_json()`: the map as JSON. Functions and closures are written as
/// their name (their captured values are not followed, so a map that holds
/// itself through a closure is written once, not forever); nesting deeper
/// than [`MAX_JSON_DEPTH`] is an error instead of a stack overflow.
fn to_json(map: &mut Map) -> Result<String, Box<EvalAltResult>> {
    let mut out = String::new();
    write_map(map, 0, &mut out)?;
    Ok(out)
}

fn too_deep() -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(
        format!("to_json: values nested deeper than {MAX_JSON_DEPTH} levels").into(),
        Position::NONE,
    )
    .into()
}

fn write_map(map: &Map, depth: usize, out: &mut String) -> Result<(), Box<EvalAltResult>> {
    if depth >= MAX_JSON_DEPTH {
        return Err(too_deep());
    }
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(k.as_str()).to_string());
        out.push(':');
        write_value(v, depth + 1, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_value(v: &Dynamic, depth: usize, out: &mut String) -> Result<(), Box<EvalAltResult>> {
    if depth >= MAX_JSON_DEPTH {
        return Err(too_deep());
    }
    if v.is_shared() {
        // A captured variable: read through its lock (never this map's own:
        // closures are not followed, so no cycle reaches here).
        return write_value(&v.flatten_clone(), depth, out);
    }
    if let Some(map) = v.read_lock::<Map>() {
        return write_map(&map, depth, out);
    }
    if let Some(array) = v.read_lock::<rhai::Array>() {
        out.push('[');
        for (i, item) in array.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(item, depth + 1, out)?;
        }
        out.push(']');
        return Ok(());
    }
    let json = if v.is_unit() {
        serde_json::Value::Null
    } else if let Ok(b) = v.as_bool() {
        b.into()
    } else if let Ok(i) = v.as_int() {
        i.into()
    } else if let Ok(f) = v.as_float() {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    } else if let Some(s) = v.read_lock::<ImmutableString>() {
        s.as_str().into()
    } else if let Some(f) = v.read_lock::<rhai::FnPtr>() {
        // The function's name only: its captured values are not followed.
        format!("Fn({})", f.fn_name()).into()
    } else {
        v.to_string().into()
    };
    out.push_str(&json.to_string());
    Ok(())
}

/// `s.replace(find, with)`: replaces every `find` in the string, after
/// checking the result fits the sandbox's string limit (Rhai's own builds
/// the whole result first: `s.replace("", t)` on large strings could ask
/// for terabytes).
fn replace(
    s: &mut ImmutableString,
    find: ImmutableString,
    with: ImmutableString,
) -> Result<(), Box<EvalAltResult>> {
    let occurrences = if find.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(find.as_str()).count()
    };
    let size =
        (s.len() - occurrences * find.len()).saturating_add(occurrences.saturating_mul(with.len()));
    if size > Limits::MAX_STRING_SIZE {
        return Err(EvalAltResult::ErrorDataTooLarge(
            format!("Length of string (replace would make {size} bytes)"),
            Position::NONE,
        )
        .into());
    }
    if occurrences > 0 {
        *s = s.replace(find.as_str(), with.as_str()).into();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut engine = Engine::new();
        register(&mut engine);
        engine
    }

    #[test]
    fn to_json_writes_what_rhai_writes_for_plain_values() {
        let json: String = engine()
            .eval(r#"#{a: 1, b: [true, (), 2.5, "x\"y"], c: #{d: "e"}}.to_json()"#)
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": 1, "b": [true, null, 2.5, "x\"y"], "c": {"d": "e"}})
        );
    }

    #[test]
    fn a_map_that_holds_itself_through_a_closure_is_written_once() {
        let json: String = engine()
            .eval("let m = #{n: 1}; m.f = || m; m.to_json()")
            .unwrap();
        assert!(json.starts_with(r#"{"f":"Fn("#), "{json}");
        assert!(json.ends_with(r#"","n":1}"#), "{json}");
    }

    #[test]
    fn nesting_beyond_the_depth_is_an_error() {
        let err = engine()
            .eval::<String>("let m = #{}; for i in 0..300 { m = #{m: m}; } m.to_json()")
            .unwrap_err();
        assert!(err.to_string().contains("nested deeper than 256"), "{err}");
    }

    #[test]
    fn replace_checks_the_size_before_building_it() {
        let mut e = engine();
        e.set_max_string_size(Limits::MAX_STRING_SIZE);
        let err = e
            .eval::<()>(r#"let s = "x"; for i in 0..22 { s += s; } let t = s; s.replace("", t);"#)
            .unwrap_err();
        assert!(err.to_string().contains("Length of string"), "{err}");
        let s: String = e
            .eval(r#"let s = "a-b-c"; s.replace("-", "--"); s.replace("", "."); s"#)
            .unwrap();
        assert_eq!(s, ".a.-.-.b.-.-.c.");
    }
}

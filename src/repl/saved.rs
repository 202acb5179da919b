//! What `:save` writes: the session's inputs as a script that replays it.
//! Each input is kept as the session ran it, made to stand in a file: a
//! statement that ended without `;` gets one, a function defined again keeps
//! only its last definition, a file brought in by `:load` or `:run` is
//! inlined, and an input that failed is kept as a comment (what it did
//! before its error happened, but is not replayed).

use rhai::Engine;
use std::collections::HashSet;

/// One input of the session, as it will be saved.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Input {
    /// Ran without error: replayed.
    Ran(String),
    /// A file's text `:load` or `:run` brought in (the command, the file).
    File(String, String),
    /// Failed with this error: kept as a comment.
    Failed(String, String),
}

impl Input {
    /// An input that ran.
    pub(super) fn ran(text: &str) -> Self {
        Input::Ran(text.to_string())
    }
}

/// The script replaying `inputs`, functions resolved with `engine`'s parser.
pub(super) fn script(engine: &Engine, inputs: &[Input]) -> String {
    // The last definition of each function wins, as in the session: earlier
    // inputs that only define functions defined again later are left out.
    let signatures: Vec<Vec<(String, usize)>> = inputs
        .iter()
        .map(|i| match i {
            Input::Ran(text) | Input::File(_, text) => functions(engine, text),
            Input::Failed(..) => Vec::new(),
        })
        .collect();
    let mut out = String::new();
    for (k, input) in inputs.iter().enumerate() {
        let later: HashSet<&(String, usize)> = signatures[k + 1..].iter().flatten().collect();
        let redefined = |text: &str| {
            !signatures[k].is_empty()
                && signatures[k].iter().all(|s| later.contains(s))
                && only_functions(engine, text)
        };
        match input {
            Input::Ran(text) if redefined(text) => {
                out.push_str("// (a function defined again later)\n");
                out.push_str(&commented(text));
            }
            Input::Ran(text) => out.push_str(&terminated(text)),
            Input::File(command, text) => {
                out.push_str(&format!("// {command} (inlined)\n"));
                out.push_str(&terminated(text));
                out.push_str(&format!("// end of {command}\n"));
            }
            Input::Failed(text, error) => {
                let first = error.lines().next().unwrap_or_default();
                out.push_str(&format!(
                    "// failed, not replayed (what it did before the error happened): {first}\n"
                ));
                out.push_str(&commented(text));
            }
        }
    }
    out
}

/// The functions `text` defines: (name, number of parameters).
fn functions(engine: &Engine, text: &str) -> Vec<(String, usize)> {
    engine.compile(text).map_or_else(
        |_| Vec::new(),
        |ast| {
            ast.iter_functions()
                .map(|f| (f.name.to_string(), f.params.len()))
                .collect()
        },
    )
}

/// Whether `text` does nothing but define functions.
fn only_functions(engine: &Engine, text: &str) -> bool {
    engine
        .compile(text)
        .is_ok_and(|ast| ast.statements().is_empty())
}

/// `text` ending as a statement in a file must: with `;` unless it ends a
/// block (a REPL input may leave out the last one).
fn terminated(text: &str) -> String {
    let trimmed = text.trim_end();
    let mut out = trimmed.to_string();
    if !(trimmed.is_empty() || trimmed.ends_with(';') || trimmed.ends_with('}')) {
        out.push(';');
    }
    out.push('\n');
    out
}

/// `text` as comment lines.
fn commented(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("// {l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_script_replays_what_the_session_did() {
        let engine = Engine::new();
        let inputs = vec![
            Input::ran("let x = 1"),
            Input::ran("fn f() { 1 }"),
            Input::Failed(
                "x = x + no_such()".into(),
                "error: function not found".into(),
            ),
            Input::ran("fn f() { 2 }"),
            Input::File(":load lib.rhai".into(), "fn g() { 3 }\nlet y = 4".into()),
            Input::ran("let z = x + f() + g() + y"),
            Input::ran("z"),
        ];
        let text = script(&engine, &inputs);
        assert!(text.contains("let x = 1;\n"), "{text}");
        assert!(
            text.contains("// fn f() { 1 }"),
            "the first f is left out:\n{text}"
        );
        assert!(text.contains("// x = x + no_such()"), "{text}");
        assert!(
            text.contains("// :load lib.rhai (inlined)\nfn g() { 3 }\nlet y = 4;\n"),
            "{text}"
        );
        let z: i64 = engine.eval(&text).unwrap();
        assert_eq!(z, 10, "the script replays the session:\n{text}");
    }
}

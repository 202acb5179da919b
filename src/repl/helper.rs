//! Line editing help: completion, hints and multi-line input decided by the
//! Rhai parser.

use rhai::{Engine, LexError, ParseError, ParseErrorType};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The REPL's own commands.
pub(super) const COMMANDS: [&str; 8] = [
    ":help", ":load", ":run", ":save", ":journal", ":scope", ":backend", ":quit",
];

/// Whether a parse error means the input is unfinished: the parser ran off the
/// end of the buffer (an open block, call, array or map), or a backtick string
/// is still open. Any other error is real and reported at once. Decided from
/// the error's kind and position, never its wording.
pub(super) fn incomplete(err: &ParseError, buffer: &str) -> bool {
    let pos = err.position();
    match err.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        ParseErrorType::BadInput(LexError::UnterminatedString) => {
            let opener = pos
                .line()
                .and_then(|l| buffer.lines().nth(l.saturating_sub(1)))
                .and_then(|line| {
                    line.chars()
                        .nth(pos.position().unwrap_or(1).saturating_sub(1))
                });
            opener == Some('`')
        }
        _ => {
            // The parser reports a missing closer at the end of input, past
            // the last line (or at no position at all).
            let lines = buffer.trim_end_matches('\n').lines().count();
            pos.is_none() || pos.line().is_some_and(|l| l > lines)
        }
    }
}

/// What can be completed: modules and their functions, globals, variables.
#[derive(Debug, Default, Clone)]
pub(super) struct Words {
    /// Module name → function names.
    pub modules: BTreeMap<String, Vec<String>>,
    /// Global function names.
    pub globals: Vec<String>,
    /// Variables in scope (updated after every input).
    pub variables: Vec<String>,
    /// `module::name` → signature, for hints.
    pub signatures: BTreeMap<String, String>,
}

/// The rustyline helper of the REPL.
pub(super) struct ReplHelper {
    words: Arc<Mutex<Words>>,
    parser: Engine,
    color: bool,
}

impl ReplHelper {
    /// A helper completing from `words`.
    pub(super) fn new(words: Arc<Mutex<Words>>, color: bool) -> Self {
        let mut parser = Engine::new_raw();
        parser.set_max_expr_depths(128, 64);
        ReplHelper {
            words,
            parser,
            color,
        }
    }

    fn words(&self) -> Words {
        crate::sync::lock(&self.words).clone()
    }
}

/// Where the word under the cursor starts (letters, digits, `_`, `:`).
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// Completions for `word`, sorted.
pub(super) fn candidates(words: &Words, word: &str, at_line_start: bool) -> Vec<String> {
    if word.starts_with(':') && at_line_start {
        return COMMANDS
            .iter()
            .filter(|c| c.starts_with(word))
            .map(|c| c.to_string())
            .collect();
    }
    if let Some((module, prefix)) = word.split_once("::") {
        return words
            .modules
            .get(module)
            .map(|fns| {
                fns.iter()
                    .filter(|f| f.starts_with(prefix))
                    .map(|f| format!("{module}::{f}("))
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut out: Vec<String> = words
        .modules
        .keys()
        .filter(|m| m.starts_with(word))
        .map(|m| format!("{m}::"))
        .chain(
            words
                .globals
                .iter()
                .filter(|g| g.starts_with(word))
                .map(|g| format!("{g}(")),
        )
        .chain(
            words
                .variables
                .iter()
                .filter(|v| v.starts_with(word))
                .cloned(),
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = word_start(line, pos);
        let word = &line[start..pos];
        let at_line_start = line[..start].trim().is_empty();
        let found = candidates(&self.words(), word, at_line_start)
            .into_iter()
            .map(|c| Pair {
                display: c.trim_end_matches('(').to_string(),
                replacement: c,
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    /// Shows the signature of a function once its name is typed, or the rest
    /// of the only possible completion.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        let words = self.words();
        let before = line[..pos].trim_end_matches('(');
        let start = word_start(before, before.len());
        let word = &before[start..];
        if word.contains("::") {
            if let Some(sig) = words.signatures.get(word) {
                let args = sig.split_once('(').map(|(_, rest)| rest).unwrap_or("");
                return Some(if line.ends_with('(') {
                    args.to_string()
                } else {
                    format!("({args}")
                });
            }
        }
        if word.len() < 2 {
            return None;
        }
        let found = candidates(&words, word, line[..start].trim().is_empty());
        match found.as_slice() {
            [only] if only.len() > word.len() => Some(only[word.len()..].to_string()),
            _ => None,
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') {
            return Ok(ValidationResult::Valid(None));
        }
        Ok(match self.parser.compile(input) {
            Err(e) if incomplete(&e, input) => ValidationResult::Incomplete,
            _ => ValidationResult::Valid(None),
        })
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        let mut w = Words::default();
        w.modules
            .insert("deploy".into(), vec!["all".into(), "table".into()]);
        w.modules.insert("destroy".into(), vec!["all".into()]);
        w.globals.push("wait_until".into());
        w.variables.push("depth".into());
        w
    }

    #[test]
    fn completes_modules_functions_variables_and_commands() {
        let w = words();
        assert_eq!(
            candidates(&w, "de", false),
            vec!["deploy::", "depth", "destroy::"]
        );
        assert_eq!(candidates(&w, "deploy::t", false), vec!["deploy::table("]);
        assert_eq!(candidates(&w, "wa", false), vec!["wait_until("]);
        assert_eq!(candidates(&w, ":he", true), vec![":help"]);
        assert!(candidates(&w, "nothing::x", false).is_empty());
    }

    #[test]
    fn unfinished_input_continues_and_real_errors_do_not() {
        let e = Engine::new_raw();
        for unfinished in [
            "fn f() {\n",
            "let a = [1,\n",
            "call(1,\n",
            "let m = #{a: 1,\n",
            "let s = `abc\n",
        ] {
            let err = e.compile(unfinished).unwrap_err();
            assert!(incomplete(&err, unfinished), "{unfinished:?}: {err}");
        }
        for broken in ["let y = (1 + ;\n", "let s = \"abc\n", "}\n"] {
            let err = e.compile(broken).unwrap_err();
            assert!(!incomplete(&err, broken), "{broken:?}: {err}");
        }
    }

    #[test]
    fn word_under_cursor() {
        assert_eq!(word_start("let x = deploy::al", 18), 8);
        assert_eq!(word_start(":he", 3), 0);
    }
}

//! Script errors as people read them: message, file, line, column, the line
//! itself and a caret under the spot.

use crate::session::interrupt::Halt;
use colored::Colorize;
use rhai::{EvalAltResult, ParseError, Position};
use std::fmt;
use std::path::{Path, PathBuf};

/// A script error located in a file (or in REPL input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// What went wrong, without position.
    pub message: String,
    /// The file, or a pseudo-name such as `<repl>`.
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<u32>,
    /// 1-based column, if known.
    pub column: Option<u32>,
    /// The offending line's text, if it could be read.
    pub source_line: Option<String>,
    /// Calls that led there, innermost last: `in call to function `x``.
    pub context: Vec<String>,
    /// Set when the script did not fail but was halted from outside: Ctrl-C,
    /// or a stop condition (boxed: rare, and errors stay small).
    pub halt: Option<Box<Halt>>,
}

impl ScriptError {
    /// An error with no position (e.g. a file that cannot be read).
    pub fn plain(file: &str, message: impl Into<String>) -> Self {
        ScriptError {
            message: message.into(),
            file: file.to_string(),
            line: None,
            column: None,
            source_line: None,
            context: Vec::new(),
            halt: None,
        }
    }

    /// From a parse error in `file` whose text is `source` (when already read).
    pub fn from_parse(err: &ParseError, file: &str, source: Option<&str>) -> Self {
        let mut e = Self::plain(file, err.err_type().to_string());
        e.locate(file, err.position(), source);
        e
    }

    /// From a runtime error of a script read from `file` (`source` its text,
    /// for input that is not a file).
    pub fn from_eval(err: EvalAltResult, file: &str, source: Option<&str>) -> Self {
        let mut context = Vec::new();
        let mut current_file = file.to_string();
        let mut current_source = source.map(str::to_string);
        let mut located: Option<(String, Option<String>, Position)> = None;
        let mut err = err;
        loop {
            let pos = err.position();
            if !pos.is_none() {
                located = Some((current_file.clone(), current_source.clone(), pos));
            }
            match err {
                EvalAltResult::ErrorInFunctionCall(name, src, inner, _) => {
                    if !name.starts_with('$') {
                        context.push(format!("in call to function `{name}`"));
                    }
                    if !src.is_empty() && src != current_file {
                        current_file = src;
                        current_source = None;
                    }
                    err = *inner;
                }
                EvalAltResult::ErrorInModule(path, inner, _) => {
                    context.push(format!("in module `{}`", display_path(Path::new(&path))));
                    current_file = path;
                    current_source = None;
                    err = *inner;
                }
                other => {
                    err = other;
                    break;
                }
            }
        }
        let mut innermost = err;
        innermost.set_position(Position::NONE);
        // Why the engine was halted, by type: Ctrl-C or a stop condition.
        let halt = match &innermost {
            EvalAltResult::ErrorTerminated(why, _) => why.clone().try_cast::<Halt>(),
            _ => None,
        };
        let message = match &innermost {
            _ if halt.is_some() => halt.iter().map(Halt::to_string).collect(),
            EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
            EvalAltResult::ErrorTerminated(why, _) if why.is_string() => why.to_string(),
            EvalAltResult::ErrorDataTooLarge(what, _) => format!(
                "{what} too large: the script went past a sandbox limit (strings {} MiB, arrays {} items, maps {} entries)",
                crate::host::Limits::MAX_STRING_SIZE >> 20,
                crate::host::Limits::MAX_ARRAY_SIZE,
                crate::host::Limits::MAX_MAP_SIZE
            ),
            EvalAltResult::ErrorTooManyOperations(_) => {
                "Too many operations: the script went past its operation budget (raise it with --max-operations, 0 for none)".to_string()
            }
            other => other.to_string(),
        };
        let mut e = Self::plain(file, message);
        e.context = context;
        e.halt = halt.map(Box::new);
        if let Some((f, src, pos)) = located {
            e.locate(&f, pos, src.as_deref());
        }
        e
    }

    fn locate(&mut self, file: &str, pos: Position, source: Option<&str>) {
        self.file = display_path(Path::new(file));
        self.line = pos.line().map(|l| l as u32);
        self.column = pos.position().map(|c| c as u32);
        if let Some(line) = pos.line() {
            let text = match source {
                Some(s) => Some(s.to_string()),
                None => {
                    crate::files::read_text(Path::new(file), crate::files::MAX_SCRIPT_BYTES).ok()
                }
            };
            self.source_line =
                text.and_then(|t| t.lines().nth(line.saturating_sub(1)).map(str::to_string));
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", "error".red().bold(), self.message.bold())?;
        let location = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        };
        writeln!(f, "  {} {location}", "-->".blue().bold())?;
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let gutter = " ".repeat(line.to_string().len());
            let col = self.column.unwrap_or(1).max(1) as usize;
            // Keep tabs so the caret lines up under the same characters.
            let pad: String = text
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{gutter} {}", "|".blue().bold())?;
            writeln!(
                f,
                "{} {} {text}",
                line.to_string().blue().bold(),
                "|".blue().bold()
            )?;
            writeln!(
                f,
                "{gutter} {} {pad}{}",
                "|".blue().bold(),
                "^".red().bold()
            )?;
        }
        for c in &self.context {
            writeln!(f, "  {} {c}", "=".blue().bold())?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}

/// A display name for a script path: relative to the current directory when possible.
pub(super) fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_has_line_column_and_caret() {
        colored::control::set_override(false);
        let engine = rhai::Engine::new();
        let src = "let x = 1;\nlet y = (2 + ;\n";
        let err = engine.compile(src).unwrap_err();
        let e = ScriptError::from_parse(&err, "t.rhai", Some(src));
        assert_eq!(e.file, "t.rhai");
        assert_eq!(e.line, Some(2));
        let shown = e.to_string();
        assert!(shown.contains("t.rhai:2:"), "{shown}");
        assert!(shown.contains("let y = (2 + ;"), "{shown}");
        assert!(shown.contains('^'), "{shown}");
    }

    #[test]
    fn runtime_error_inside_a_function_points_into_it() {
        colored::control::set_override(false);
        let engine = rhai::Engine::new();
        let src = "fn f() {\n  throw \"boom\";\n}\nf();\n";
        let err = engine.run(src).unwrap_err();
        let e = ScriptError::from_eval(*err, "t.rhai", Some(src));
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("boom"));
        assert!(e.context.iter().any(|c| c.contains("`f`")));
        assert_eq!(e.halt, None);
    }

    #[test]
    fn a_halt_is_recognised_by_its_type_not_its_words() {
        let halted = |halt: Halt| {
            let err = EvalAltResult::ErrorTerminated(rhai::Dynamic::from(halt), Position::NONE);
            ScriptError::from_eval(err, "t.rhai", None)
        };
        let e = halted(Halt::Stopped("success rate 0.20 < 0.9".into()));
        assert_eq!(
            e.halt.as_deref(),
            Some(&Halt::Stopped("success rate 0.20 < 0.9".into()))
        );
        assert_eq!(e.message, "stopped: success rate 0.20 < 0.9");
        let e = halted(Halt::Interrupted);
        assert_eq!(e.halt.as_deref(), Some(&Halt::Interrupted));
        assert_eq!(e.message, "interrupted (Ctrl-C, SIGTERM or SIGHUP)");
        // A script's own words about stopping are only words.
        let engine = rhai::Engine::new();
        let err = engine
            .run("throw \"stop condition: made up\";")
            .unwrap_err();
        assert_eq!(ScriptError::from_eval(*err, "t.rhai", None).halt, None);
    }
}

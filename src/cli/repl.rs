//! A minimal REPL: one input at a time, multi-line when the parser wants more,
//! variables kept between inputs.

use anyhow::Result;
use resilient::{Host, HostOptions};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use std::process::ExitCode;

/// Whether the parse error means the input is unfinished: the parser ran off
/// the end of the buffer (an open block, call, array, map or string).
fn incomplete(err: &rhai::ParseError, buffer: &str) -> bool {
    let text = err.err_type().to_string().to_ascii_lowercase();
    if text.contains("end of input") {
        return true;
    }
    // Only backtick strings may span lines; an open "…" string is a real error.
    if text.contains("open string") {
        let pos = err.position();
        let opener = pos
            .line()
            .and_then(|l| buffer.lines().nth(l - 1))
            .and_then(|line| {
                line.chars()
                    .nth(pos.position().unwrap_or(1).saturating_sub(1))
            });
        return opener == Some('`');
    }
    let lines = buffer.trim_end_matches('\n').lines().count();
    err.position().line().is_some_and(|l| l > lines)
}

/// Runs the REPL until `:quit` or end of input.
pub fn run(options: HostOptions) -> Result<ExitCode> {
    let mut host = Host::new(options)?;
    let mut editor = DefaultEditor::new()?;
    println!(
        "resilient {} — type Rhai, e.g. deploy::all(); :quit to leave",
        env!("CARGO_PKG_VERSION")
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "» " } else { "… " };
        match editor.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && (trimmed == ":quit" || trimmed == ":q") {
                    break;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if let Err(e) = host
                    .engine()
                    .compile_with_scope(&rhai::Scope::new(), &buffer)
                    && incomplete(&e, &buffer)
                {
                    continue;
                }
                let input = std::mem::take(&mut buffer);
                let _ = editor.add_history_entry(input.trim_end());
                match host.eval(&input, "<repl>") {
                    Ok(v) if !v.is_unit() => println!("{v:#?}"),
                    Ok(_) => {}
                    Err(e) => eprint!("{e}"),
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if host.session().has_resources().unwrap_or(false) {
        println!("Stopping what is still running on the local cloud.");
    }
    host.shutdown()?;
    Ok(ExitCode::SUCCESS)
}

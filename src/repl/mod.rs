//! The interactive REPL: history, completion, hints, multi-line input decided
//! by the Rhai parser, `:commands`, and Ctrl-C that stops a running call
//! without losing the session.

mod commands;
pub(crate) mod gather;
mod guardrail;
mod helper;
mod render;
mod scan;

use crate::host::Host;
use crate::host::docs::{FunctionDoc, function_docs};
use colored::Colorize;
use helper::{ReplHelper, Words};
use rustyline::Editor;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The environment variable that overrides where history is kept (empty: none).
pub const HISTORY_ENV: &str = "RESILIENT_HISTORY";

/// Where history is kept: `$RESILIENT_HISTORY`, else the user's data directory.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(HISTORY_ENV) {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("resilient").join("history.txt"))
}

fn words_from(docs: &[FunctionDoc]) -> Words {
    let mut w = Words::default();
    for d in docs {
        match &d.module {
            Some(m) => {
                let fns = w.modules.entry(m.clone()).or_default();
                if !fns.contains(&d.name) {
                    fns.push(d.name.clone());
                }
            }
            None => {
                if !w.globals.contains(&d.name) {
                    w.globals.push(d.name.clone());
                }
            }
        }
        w.signatures
            .entry(d.qualified_name())
            .or_insert_with(|| d.signature.clone());
    }
    w
}

/// Runs the REPL on `host` until `:quit` or Ctrl-D.
pub fn run(mut host: Host) -> rustyline::Result<()> {
    host.interrupt_on_ctrl_c(false);
    let docs = function_docs(host.engine());
    let words = Arc::new(Mutex::new(words_from(&docs)));
    let color = crate::term::stdout_color();
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(5_000)?
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ReplHelper::new(words.clone(), color)));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let settings = host.session().settings();
    crate::outln!(
        "resilient {} on the {} cloud — :help for help, Tab to complete, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION"),
        settings.backend
    );
    // At a terminal the helper's validator already hands over whole inputs;
    // piped input arrives line by line, so unfinished inputs are gathered here.
    let mut gather = gather::Gatherer::default();
    let mut transcript = commands::Transcript::default();
    let mut piped =
        (!std::io::stdin().is_terminal()).then(|| PipedLines::new(std::io::stdin().lock()));
    let guardrail = guardrail::Guardrail::watch(host.session().clone());
    loop {
        let shown = if gather.is_pending() {
            "… ".to_string()
        } else {
            prompt(color)
        };
        let read = match &mut piped {
            Some(lines) => lines.next(),
            None => editor.readline(&shown),
        };
        match read {
            Ok(read) => {
                let Some(line) = gather.push(&read) else {
                    continue;
                };
                let _ = editor.add_history_entry(line.trim_end());
                let turn = guardrail.turn.clone();
                let _running = crate::sync::lock(&turn);
                // A stop that tripped just now is handled before the input
                // (which would clear it) runs.
                guardrail::handle(host.session());
                if line.trim_start().starts_with(':') {
                    if commands::run(&mut host, &line, &docs, &mut transcript)
                        == commands::Next::Quit
                    {
                        break;
                    }
                } else {
                    match host.eval(&line, "<repl>") {
                        Ok(v) => {
                            transcript.inputs.push(line.clone());
                            if let Some(text) = render::render(&v) {
                                crate::outln!("{text}");
                            }
                        }
                        Err(e) => crate::err!("{e}"),
                    }
                }
                // A stop condition that ended this input: rolled back now.
                guardrail::handle(host.session());
                let vars: Vec<String> = host
                    .scope_mut()
                    .iter()
                    .map(|(n, _, _)| n.to_string())
                    .collect();
                crate::sync::lock(&words).variables = vars;
            }
            Err(ReadlineError::Interrupted) => gather.clear(),
            Err(ReadlineError::Eof) => {
                // An input left open at the end is run, so its error shows.
                if gather.is_pending() {
                    if let Err(e) = host.eval(gather.pending(), "<repl>") {
                        crate::err!("{e}");
                    }
                }
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    farewell(&mut host, &transcript);
    Ok(())
}

/// Lines of piped input. rustyline's own reader for a pipe re-validates the
/// whole input at every line (quadratic for a pasted block) and ends the
/// session at the first byte that is not UTF-8; here the gatherer decides
/// when an input is whole, and such bytes become U+FFFD with a warning.
struct PipedLines<R> {
    reader: R,
    line: usize,
    bytes: Vec<u8>,
}

impl<R: std::io::BufRead> PipedLines<R> {
    fn new(reader: R) -> Self {
        PipedLines {
            reader,
            line: 0,
            bytes: Vec::new(),
        }
    }

    /// The next line without its line ending; `Eof` at the end.
    fn next(&mut self) -> rustyline::Result<String> {
        self.bytes.clear();
        if self.reader.read_until(b'\n', &mut self.bytes)? == 0 {
            return Err(ReadlineError::Eof);
        }
        self.line += 1;
        let mut end = self.bytes.len();
        while end > 0 && matches!(self.bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let text = String::from_utf8_lossy(&self.bytes[..end]);
        if let std::borrow::Cow::Owned(_) = text {
            eprintln!(
                "warning: input line {} is not valid UTF-8; the bytes that are not were replaced with U+FFFD",
                self.line
            );
        }
        Ok(text.into_owned())
    }
}

fn prompt(color: bool) -> String {
    if color {
        format!("{} ", "resilient>".cyan().bold())
    } else {
        "resilient> ".to_string()
    }
}

/// Says what is still deployed, finishes the journal, and stops what lives
/// only in this process.
fn farewell(host: &mut Host, transcript: &commands::Transcript) {
    host.session().interrupt().clear();
    let session = host.session().clone();
    if let Some(journal) = &transcript.journal {
        let left = session.resources().unwrap_or_default();
        journal.finish(crate::journal::RunOutcome::new(
            0,
            &session.checks().all(),
            &left,
        ));
        if let Some(e) = journal.write_error() {
            crate::errln!("the journal is incomplete: a line could not be written ({e})");
        }
    }
    let Some(cloud) = session.cloud_if_created() else {
        return;
    };
    let outlives = cloud.outlives_process();
    let left = session
        .block_on(async move { cloud.resources().await })
        .unwrap_or_default();
    if left.is_empty() {
        return;
    }
    if outlives {
        crate::outln!(
            "{} resources of this deployment still exist on AWS: run destroy::all() (or `resilient run scripts/destroy.rhai --backend aws`) to delete them.",
            left.len()
        );
    } else {
        crate::outln!(
            "{} resources still ran on the local cloud; they stop with this session (destroy::all() tears them down explicitly).",
            left.len()
        );
    }
    let _ = host.shutdown();
}

//! The interactive REPL: history, completion, hints, multi-line input decided
//! by the Rhai parser, `:commands`, and Ctrl-C that stops a running call
//! without losing the session.

mod commands;
pub(crate) mod gather;
mod guardrail;
mod helper;
mod reader;
mod render;
mod saved;
mod scan;

use crate::host::Host;
use crate::host::docs::{FunctionDoc, function_docs};
use colored::Colorize;
use helper::Words;
use rustyline::error::ReadlineError;
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

/// Runs the REPL on `host` until `:quit`, Ctrl-D, SIGTERM or SIGHUP.
pub fn run(mut host: Host) -> rustyline::Result<()> {
    let docs = function_docs(host.engine());
    let words = Arc::new(Mutex::new(words_from(&docs)));
    let color = crate::term::stdout_color();
    let settings = host.session().settings();
    crate::outln!(
        "resilient {} on the {} cloud — :help for help, Tab to complete, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION"),
        settings.backend
    );
    let history = history_path();
    let input = reader::Reader::start(words.clone(), color, history.clone())?;
    let signals = reader::Signals::install(host.session().interrupt().flag());
    // At a terminal the helper's validator already hands over whole inputs;
    // piped input arrives line by line, so unfinished inputs are gathered here.
    let mut gather = gather::Gatherer::default();
    let mut transcript = commands::Transcript::default();
    let guardrail = guardrail::Guardrail::watch(host.session().clone());
    let mut left_by_signal = false;
    loop {
        let shown = if gather.is_pending() {
            "… ".to_string()
        } else {
            prompt(color)
        };
        let read = match input.read(shown, || signals.leaving()) {
            Some(read) => read,
            None => {
                left_by_signal = true;
                break;
            }
        };
        match read {
            Ok(read) => {
                let Some(line) = gather.push(&read) else {
                    continue;
                };
                input.remember(line.trim_end());
                let turn = guardrail.turn.clone();
                let _running = crate::sync::lock(&turn);
                signals.busy(true);
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
                            transcript.inputs.push(saved::Input::ran(&line));
                            if let Some(text) = render::render(&v) {
                                crate::outln!("{text}");
                            }
                        }
                        Err(e) => {
                            crate::err!("{e}");
                            // Kept (as a comment) only if it parsed: it ran,
                            // and may have changed the deployment.
                            if host.engine().compile(&line).is_ok() {
                                transcript
                                    .inputs
                                    .push(saved::Input::Failed(line.clone(), e.to_string()));
                            }
                        }
                    }
                }
                // A stop condition that ended this input: rolled back now.
                guardrail::handle(host.session());
                drop_deep_values(&mut host);
                signals.busy(false);
                if signals.leaving() {
                    left_by_signal = true;
                    break;
                }
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
    drop(guardrail);
    input.finish(left_by_signal);
    let by_signal = left_by_signal.then(|| signals.why());
    if let Some(why) = by_signal {
        crate::errln!("\n{why}: leaving the REPL");
    }
    farewell(&mut host, &transcript, by_signal);
    if left_by_signal {
        crate::Exit::Interrupted.now();
    }
    Ok(())
}

fn prompt(color: bool) -> String {
    if color {
        format!("{} ", "resilient>".cyan().bold())
    } else {
        "resilient> ".to_string()
    }
}

/// Takes out of the scope, with a word, every variable whose value nests
/// deeper than the REPL keeps from one input to the next (a chain of
/// closures grown input by input would overflow the stack when dropped):
/// the operation budget bounds only what one input builds.
fn drop_deep_values(host: &mut Host) {
    use crate::host::depth::{MAX_KEPT_DEPTH, deeper_than, dismantle};
    let deep = |v: &rhai::Dynamic| deeper_than(v, MAX_KEPT_DEPTH);
    if !host.scope_mut().iter_raw().any(|(_, _, v)| deep(v)) {
        return;
    }
    let mut kept = rhai::Scope::new();
    for (name, value, _) in std::mem::take(host.scope_mut()) {
        if deep(&value) {
            dismantle(value);
            crate::errln!(
                "{} `{name}` is dropped: its value nests more than {MAX_KEPT_DEPTH} levels deep (closures capturing closures, arrays within arrays), deeper than the REPL keeps between inputs",
                "warning:".yellow().bold()
            );
        } else if value.is_read_only() {
            kept.push_constant_dynamic(name, value);
        } else {
            kept.push_dynamic(name, value);
        }
    }
    *host.scope_mut() = kept;
}

/// Rolls back the faults the session left injected, says what is still
/// deployed, finishes the journal (its outcome as a run's: 130 when a signal
/// ended the session, 3 when a check failed), and stops what lives only in
/// this process.
fn farewell(host: &mut Host, transcript: &commands::Transcript, by_signal: Option<&str>) {
    host.session().interrupt().clear();
    let session = host.session().clone();
    // Nothing a session injected outlives it (the rollback event says what).
    if !session.ledger().is_empty()
        && let Err(e) = session.rollback_faults()
    {
        crate::errln!(
            "{} could not roll back the faults: {e}; destroy the deployment",
            "error:".red().bold()
        );
    }
    if let Some(journal) = &transcript.journal {
        let left = session.resources().unwrap_or_default();
        let checks = session.checks().all();
        let failed = checks.iter().filter(|c| !c.passed).count();
        let (exit, reason) = if let Some(why) = by_signal {
            (crate::Exit::Interrupted, Some(why.to_string()))
        } else if failed > 0 {
            (
                crate::Exit::CheckFailed,
                Some(format!("{failed} of {} checks failed", checks.len())),
            )
        } else {
            (crate::Exit::Success, None)
        };
        journal
            .finish(crate::journal::RunOutcome::new(exit.code(), &checks, &left).because(reason));
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

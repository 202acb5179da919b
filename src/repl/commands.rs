//! The REPL's `:commands`.

use super::helper::COMMANDS;
use crate::host::Host;
use crate::host::docs::{FunctionDoc, module_summary};
use colored::Colorize;
use std::path::Path;

/// What the loop does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Read the next input.
    Continue,
    /// Leave the REPL.
    Quit,
}

/// What a REPL session keeps for `:save` and `:journal`.
#[derive(Default)]
pub(super) struct Transcript {
    /// The session's inputs, in order, as `:save` writes them.
    pub inputs: Vec<super::saved::Input>,
    /// The journal `:journal` opened, finished when the session ends.
    pub journal: Option<std::sync::Arc<crate::journal::Journal>>,
}

/// Runs one `:command` line.
pub(super) fn run(
    host: &mut Host,
    line: &str,
    docs: &[FunctionDoc],
    transcript: &mut Transcript,
) -> Next {
    let mut parts = line.trim().splitn(2, char::is_whitespace);
    let command = parts.next().unwrap_or("");
    let arg = parts.next().map(str::trim).unwrap_or("");
    match command {
        ":help" | ":h" if arg.is_empty() => crate::outln!("{}", overview(docs)),
        ":help" | ":h" => crate::outln!("{}", help_for(arg, docs)),
        ":quit" | ":q" | ":exit" => return Next::Quit,
        ":load" if !arg.is_empty() => {
            if let Some(text) = load(host, Path::new(arg)) {
                transcript
                    .inputs
                    .push(super::saved::Input::File(format!(":load {arg}"), text));
            }
        }
        ":run" if !arg.is_empty() => {
            let text = crate::files::read_text(Path::new(arg), crate::files::MAX_SCRIPT_BYTES);
            match host.run_file(Path::new(arg)) {
                Ok(v) => {
                    if let Ok(text) = text {
                        transcript
                            .inputs
                            .push(super::saved::Input::File(format!(":run {arg}"), text));
                    }
                    if let Some(text) = super::render::render(&v) {
                        crate::outln!("{text}");
                    }
                }
                Err(e) => crate::err!("{e}"),
            }
        }
        ":save" if !arg.is_empty() => save(host, Path::new(arg), &transcript.inputs),
        ":journal" if !arg.is_empty() => journal(host, Path::new(arg), transcript),
        ":load" | ":run" | ":save" | ":journal" => crate::errln!(
            "{} {command} needs a file: {command} FILE",
            "error:".red().bold()
        ),
        ":scope" => scope(host),
        ":backend" => backend(host, arg),
        other => {
            let hint = nearest(other, &COMMANDS)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            crate::errln!(
                "{} unknown command `{other}`{hint} (:help lists them)",
                "error:".red().bold()
            );
        }
    }
    Next::Continue
}

/// Every module with a one-line summary of each function, then the commands.
pub(super) fn overview(docs: &[FunctionDoc]) -> String {
    let mut out = String::new();
    let mut current: Option<Option<String>> = None;
    for d in docs {
        if current.as_ref() != Some(&d.module) {
            current = Some(d.module.clone());
            let title = match &d.module {
                Some(m) => format!("{m}:: — {}", module_summary(m)),
                None => "global functions".into(),
            };
            out.push_str(&format!("\n{}\n", title.bold()));
        }
        out.push_str(&format!("  {:<28} {}\n", d.name, d.summary().dimmed()));
    }
    out.push_str(&format!("\n{}\n", "commands".bold()));
    for (c, what) in [
        (
            ":help [NAME]",
            "this overview, or one function's signature and documentation",
        ),
        (
            ":load FILE",
            "run a file here: its functions and variables stay available",
        ),
        (":run FILE", "run a file on its own, like `resilient run`"),
        (":scope", "the variables defined so far"),
        (
            ":save FILE",
            "write this session's inputs that ran without error as a script",
        ),
        (
            ":journal FILE",
            "write the session's journal (JSON Lines) from now on",
        ),
        (
            ":backend [NAME]",
            "show the settings, or switch backend before deploying",
        ),
        (":quit", "leave (Ctrl-D too)"),
    ] {
        out.push_str(&format!("  {c:<28} {}\n", what.dimmed()));
    }
    out
}

/// The signature(s) and documentation of `name` (`module::fn`, `fn` or `module`).
pub(super) fn help_for(name: &str, docs: &[FunctionDoc]) -> String {
    let name = name.trim().trim_end_matches("()").trim_end_matches("::");
    let matches: Vec<&FunctionDoc> = docs
        .iter()
        .filter(|d| {
            d.qualified_name() == name || d.name == name || d.module.as_deref() == Some(name)
        })
        .collect();
    if matches.is_empty() {
        let names: Vec<String> = docs.iter().map(FunctionDoc::qualified_name).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = nearest(name, &refs)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return format!("no function or module named `{name}`{hint}");
    }
    matches
        .iter()
        .map(|d| format!("{}\n{}\n", d.signature.bold(), indent(&d.doc)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the inputs that ran without error, in order, as a runnable script.
fn save(host: &Host, path: &Path, inputs: &[super::saved::Input]) {
    let settings = host.session().settings();
    let when = crate::journal::now_rfc3339();
    let mut text = format!(
        "// Saved from a resilient REPL session on {when} (backend {}, prefix {}).\n// The inputs that ran without error, in order. Run it with:\n//   resilient run {} --backend {} --prefix {}\n\n",
        settings.backend,
        settings.prefix,
        path.display(),
        settings.backend,
        settings.prefix
    );
    text.push_str(&super::saved::script(host.engine(), inputs));
    match std::fs::write(path, text) {
        Ok(()) => crate::outln!("saved {} input(s) to {}", inputs.len(), path.display()),
        Err(e) => crate::errln!(
            "{} cannot write {}: {e}",
            "error:".red().bold(),
            path.display()
        ),
    }
}

/// Starts writing the session's journal.
fn journal(host: &Host, path: &Path, transcript: &mut Transcript) {
    if transcript.journal.is_some() {
        crate::errln!(
            "{} a journal is already being written",
            "error:".red().bold()
        );
        return;
    }
    match crate::journal::Journal::create(path, &host.session().settings(), None) {
        Ok(j) => {
            let j = std::sync::Arc::new(j);
            host.add_sink(j.clone());
            transcript.journal = Some(j);
            crate::outln!("writing the journal to {}", path.display());
        }
        Err(e) => crate::errln!(
            "{} cannot write {}: {e}",
            "error:".red().bold(),
            path.display()
        ),
    }
}

/// Runs a file in the session; its text if it ran without error.
fn load(host: &mut Host, path: &Path) -> Option<String> {
    let text = match crate::files::read_text(path, crate::files::MAX_SCRIPT_BYTES) {
        Ok(t) => t,
        Err(e) => {
            crate::errln!(
                "{} cannot read {}: {e}",
                "error:".red().bold(),
                path.display()
            );
            return None;
        }
    };
    let source = path
        .canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .to_string();
    match host.eval(&text, &source) {
        Ok(_) => {
            crate::outln!("loaded {}", path.display());
            Some(text)
        }
        Err(e) => {
            crate::err!("{e}");
            None
        }
    }
}

fn scope(host: &mut Host) {
    let vars: Vec<String> = host
        .scope_mut()
        .iter()
        .map(|(name, constant, value)| {
            let kind = if constant { "const" } else { "let" };
            let mut shown = value.to_string().replace('\n', " ");
            if shown.chars().count() > 60 {
                shown = format!("{}…", shown.chars().take(60).collect::<String>());
            }
            format!("  {kind} {name}: {} = {shown}", value.type_name())
        })
        .collect();
    if vars.is_empty() {
        crate::outln!("no variables yet");
    } else {
        crate::outln!("{}", vars.join("\n"));
    }
}

fn backend(host: &mut Host, arg: &str) {
    let session = host.session().clone();
    if !arg.is_empty() {
        let mut settings = session.settings();
        match arg.parse().and_then(|b| {
            settings.backend = b;
            session.configure(settings)
        }) {
            Ok(()) => {}
            Err(e) => {
                crate::errln!("{} {e}", "error:".red().bold());
                return;
            }
        }
    }
    let s = session.settings();
    crate::outln!(
        "backend {}, prefix {}, time scale {}, {} instances",
        s.backend.as_str().bold(),
        s.prefix,
        s.time_scale,
        s.instances
    );
}

/// The closest candidate by edit (Levenshtein) distance, if reasonably close.
pub(super) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_command() {
        assert_eq!(nearest(":hlep", &COMMANDS), Some(":help"));
        assert_eq!(nearest(":scop", &COMMANDS), Some(":scope"));
        assert_eq!(nearest(":zzzzzzzz", &COMMANDS), None);
    }
}

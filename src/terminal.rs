//! The terminal renderer: the one place that prints what a run does. It is a
//! [`Sink`] of the event stream; prompts (the only input) live here too.
//! Color is decided by `colored` (off when stdout is not a terminal or
//! `NO_COLOR` is set).

use crate::cloud::states::Tone;
use crate::events::{Event, EventKind, Sink, Style};
use crate::{out, outln};
use colored::Colorize;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use rhai::{Array, Dynamic, Map};
use std::io::BufRead;

/// Prints every event for a person watching; at a terminal, long waits show
/// a spinner each (several at once: concurrent deploy steps, a background
/// load beside a wait) with what is awaited, its state and the elapsed time.
/// Nothing of it goes into pipes or logs.
#[derive(Debug)]
pub(crate) struct Terminal {
    spinners: std::sync::Mutex<Spinners>,
    interactive: bool,
}

/// The spinners turning now, by what they wait for.
#[derive(Debug, Default)]
struct Spinners {
    multi: indicatif::MultiProgress,
    active: Vec<(String, indicatif::ProgressBar)>,
}

impl Default for Terminal {
    fn default() -> Self {
        use std::io::IsTerminal;
        Terminal {
            spinners: std::sync::Mutex::default(),
            interactive: std::io::stdout().is_terminal(),
        }
    }
}

impl Spinners {
    fn update(&mut self, kind: &EventKind) {
        match kind {
            EventKind::WaitStart { what } => {
                let bar = self.multi.add(indicatif::ProgressBar::new_spinner());
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                {
                    bar.set_style(style);
                }
                bar.set_message(what.clone());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                self.active.push((what.clone(), bar));
            }
            EventKind::WaitProgress { what, state } => {
                if let Some((_, bar)) = self.active.iter().rev().find(|(w, _)| w == what) {
                    bar.set_message(format!("{what}: {state}"));
                }
            }
            EventKind::WaitEnd { what, .. } => {
                if let Some(pos) = self.active.iter().rposition(|(w, _)| w == what) {
                    let (_, bar) = self.active.remove(pos);
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            _ => {}
        }
    }
}

impl Sink for Terminal {
    fn event(&self, event: &Event) {
        if !self.interactive {
            return self.print(event);
        }
        let mut spinners = crate::sync::lock(&self.spinners);
        spinners.update(&event.kind);
        if spinners.active.is_empty() {
            self.print(event);
        } else {
            // Lines printed while spinners turn go above them.
            spinners.multi.suspend(|| self.print(event));
        }
    }
}

impl Terminal {
    fn print(&self, event: &Event) {
        match &event.kind {
            EventKind::Heading { text } => {
                outln!();
                let text = shown(text);
                outln!("{}", text.bold().cyan());
                outln!("{}", "─".repeat(text.chars().count().min(78)).cyan());
            }
            EventKind::Text { style, text } => match (style, shown(text)) {
                (Style::Say, text) => outln!("{text}"),
                (Style::Note, text) => outln!("{}", text.dimmed()),
                (Style::Good, text) => outln!("{} {text}", "✔".green().bold()),
                (Style::Bad, text) => outln!("{} {text}", "✘".red().bold()),
                (Style::Warn, text) => outln!("{} {}", "!".yellow().bold(), text.yellow()),
            },
            EventKind::Table { columns, rows } => {
                let rows = rhai::serde::to_dynamic(rows)
                    .ok()
                    .and_then(|d| d.into_array().ok())
                    .unwrap_or_default();
                outln!("{}", render_table(&rows, columns));
            }
            EventKind::Step { what, ms } => {
                outln!("  {} {what} {}", "✔".green(), format!("({ms} ms)").dimmed())
            }
            EventKind::Check {
                name, passed: true, ..
            } => outln!("{} check: {}", "✔".green().bold(), shown(name)),
            EventKind::Check {
                name,
                passed: false,
                detail,
            } => outln!(
                "{} check failed: {}: {}",
                "✘".red().bold(),
                shown(name),
                shown(detail).red()
            ),
            EventKind::Deleted { kind, name } => {
                outln!("  {} deleted {kind} {name}", "✔".green())
            }
            EventKind::Skipped { kind, name, reason } => {
                outln!("  {} skipped {kind} {name}: {reason}", "!".yellow())
            }
            EventKind::Rollback {
                faults,
                error: None,
            } => outln!(
                "{}",
                format!(
                    "rolled back the faults this run left: {}",
                    faults.join(", ")
                )
                .dimmed()
            ),
            EventKind::Objective { objective } => outln!(
                "{}",
                format!("objective: {}", objective.describe()).dimmed()
            ),
            // Said on stderr by the command line, with what to do.
            EventKind::Rollback { error: Some(_), .. } => {}
            // Destroy's error lists these; loads, faults and resets speak
            // through the script's own narrative; prompts print as they ask.
            EventKind::Left { .. }
            | EventKind::Load { .. }
            | EventKind::LoadWindow { .. }
            | EventKind::Fault { .. }
            | EventKind::Reset
            | EventKind::Target { .. }
            | EventKind::Request { .. }
            | EventKind::WaitStart { .. }
            | EventKind::WaitProgress { .. }
            | EventKind::WaitEnd { .. }
            | EventKind::Instance { .. }
            | EventKind::Prompt { .. } => {}
        }
    }
}

/// Reads one line from stdin; `None` at end of input.
pub(crate) fn read_line() -> Option<String> {
    crate::term::flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Shows a prompt (no newline) and reads the answer.
pub(crate) fn ask(prompt: &str) -> Option<String> {
    out!("{prompt}");
    read_line()
}

/// Shows a line that is part of a prompt (a menu entry, a retry hint, the
/// answer batch mode took).
pub(crate) fn prompt_line(text: &str) {
    outln!("{text}");
}

/// Text a script wrote, made safe for a terminal: control characters
/// (escape sequences that would move the cursor, retitle the window or
/// clear the screen) are shown escaped, e.g. `\u{1b}`; line breaks and tabs
/// stay.
pub(crate) fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Renders rows (maps) as a table with the given column order; cells that name a
/// target state or an HTTP status are colored.
pub(crate) fn render_table(rows: &Array, columns: &[String]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns.iter().map(|c| Cell::new(shown(c))));
    let color = colored::control::SHOULD_COLORIZE.should_colorize();
    for row in rows {
        let map = row.read_lock::<Map>();
        table.add_row(columns.iter().map(|c| {
            let v = map
                .as_ref()
                .and_then(|m| m.get(c.as_str()).cloned())
                .unwrap_or(Dynamic::UNIT);
            let text = if v.is_unit() {
                String::new()
            } else {
                shown(&v.to_string()).into_owned()
            };
            let cell = Cell::new(&text);
            if !color {
                return cell;
            }
            match (Tone::of_word(&text), text.as_str()) {
                (Some(Tone::Good), _) | (None, "200") => cell.fg(Color::Green),
                (Some(Tone::Bad | Tone::Gone), _) | (None, "502" | "503" | "504") => {
                    cell.fg(Color::Red)
                }
                (Some(Tone::Starting | Tone::Leaving | Tone::Idle), _) => cell.fg(Color::Yellow),
                (None, _) => cell,
            }
        }));
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_sequences_a_script_writes_are_shown_escaped() {
        assert_eq!(shown("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            shown("\u{1b}]0;owned\u{7}\u{1b}[2Jhi\r"),
            "\\u{1b}]0;owned\\u{7}\\u{1b}[2Jhi\\r"
        );
        assert_eq!(shown("\u{9b}31m"), "\\u{9b}31m", "C1 controls too");
    }
}

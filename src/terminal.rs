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
#[derive(Debug)]
struct Spinners {
    multi: indicatif::MultiProgress,
    active: Vec<(String, indicatif::ProgressBar)>,
}

impl Default for Spinners {
    fn default() -> Self {
        use std::io::IsTerminal;
        let target = match std::io::stderr().is_terminal() {
            true => indicatif::ProgressDrawTarget::term_like(Box::new(Stderr)),
            false => indicatif::ProgressDrawTarget::hidden(),
        };
        Spinners {
            multi: indicatif::MultiProgress::with_draw_target(target),
            active: Vec::new(),
        }
    }
}

/// Where spinners are drawn: standard error, every write error ignored. A
/// terminal that went away (a closed window, an ssh drop: EIO) must not stop
/// the run half-way, or a drawing thread that unwraps the error.
#[derive(Debug, Clone, Copy)]
struct Stderr;

impl Stderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
        Ok(())
    }
}

impl indicatif::TermLike for Stderr {
    fn width(&self) -> u16 {
        // SAFETY: TIOCGWINSZ fills the winsize it is given.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        match unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut size) } {
            0 if size.ws_col > 0 => size.ws_col,
            _ => 80,
        }
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}A"))
        }
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}B"))
        }
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}C"))
        }
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}D"))
        }
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let _ = std::io::stderr().flush();
        Ok(())
    }
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
            EventKind::Refresh {
                id,
                status,
                percentage_complete,
                instances_to_update,
                reason,
            } => outln!(
                "{}",
                format!(
                    "  instance refresh {}: {status}, {percentage_complete} % complete, {instances_to_update} to update{}",
                    short_id(id),
                    reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
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

/// What waiting for an answer came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A line (trimmed).
    Line(String),
    /// The end of input.
    End,
    /// `halted` said the run is being halted before a line came.
    Halted,
}

/// Shows a prompt (no newline) and waits for a line on stdin, looking at
/// `halted` ten times a second: Ctrl-C or SIGTERM at the prompt ends the wait
/// at once instead of after the next Enter. (At a terminal a line is there
/// to read only once it is complete, so the read that follows does not block.)
pub(crate) fn ask_until(prompt: &str, halted: &dyn Fn() -> bool) -> Reply {
    out!("{prompt}");
    crate::term::flush();
    loop {
        if halted() {
            return Reply::Halted;
        }
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut fd, 1, 100) };
        if ready > 0 {
            if fd.revents & libc::POLLHUP != 0 {
                // The terminal was hung up (a closed window, an ssh drop):
                // SIGHUP is on its way, and halts the run, not the end of input.
                let hung = std::time::Instant::now();
                while hung.elapsed() < std::time::Duration::from_secs(1) {
                    if halted() {
                        return Reply::Halted;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            if halted() {
                return Reply::Halted;
            }
            return match read_line() {
                Some(line) => Reply::Line(line),
                None => Reply::End,
            };
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // stdin cannot be polled (closed): read as before.
            return match read_line() {
                Some(line) => Reply::Line(line),
                None => Reply::End,
            };
        }
    }
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

/// The first block of a refresh id (enough to tell refreshes apart).
fn short_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
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

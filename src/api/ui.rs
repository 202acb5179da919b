//! `ui::` — what the person watching sees: headings, explanations, prompts and
//! tables. In batch mode (`--yes`, or stdin not a terminal) prompts take their
//! default answer and say so.

use colored::Colorize;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use rhai::plugin::*;
use rhai::{Array, Map};
use std::io::BufRead;

/// Prints a finished step, e.g. `✔ table resilient-demo-recommendations (3 ms)`.
pub fn step(what: &str, millis: u128) {
    crate::outln!(
        "  {} {what} {}",
        "✔".green(),
        format!("({millis} ms)").dimmed()
    );
}

/// Reads one line from stdin; `None` at end of input.
fn read_line() -> Option<String> {
    crate::term::flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Renders rows (maps) as a table with the given column order; cells that name a
/// target state or an HTTP status are colored.
pub fn render_table(rows: &Array, columns: &[String]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns.iter().map(Cell::new));
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
                v.to_string()
            };
            let cell = Cell::new(&text);
            if !color {
                return cell;
            }
            match text.as_str() {
                "healthy" | "Healthy" | "running" | "200" => cell.fg(Color::Green),
                "unhealthy" | "Unhealthy" | "502" | "503" | "504" | "terminated" => {
                    cell.fg(Color::Red)
                }
                "initial" | "draining" | "pending" | "shutting-down" | "unused" => {
                    cell.fg(Color::Yellow)
                }
                _ => cell,
            }
        }));
    }
    table.to_string()
}

/// Column order for a table: `columns` if given, else the first row's keys.
fn columns_of(rows: &Array) -> Vec<String> {
    rows.first()
        .and_then(|r| {
            r.read_lock::<Map>()
                .map(|m| m.keys().map(|k| k.to_string()).collect())
        })
        .unwrap_or_default()
}

#[export_module]
pub mod api {
    use super::*;
    use crate::api::session;

    /// Prints a heading: the start of a stage or a part of the demo.
    pub fn heading(text: &str) {
        crate::outln!();
        crate::outln!("{}", text.bold().cyan());
        crate::outln!("{}", "─".repeat(text.chars().count().min(78)).cyan());
    }

    /// Prints a line of text.
    pub fn say(text: &str) {
        crate::outln!("{text}");
    }

    /// Prints an explanation, dimmed.
    pub fn note(text: &str) {
        crate::outln!("{}", text.dimmed());
    }

    /// Prints a good outcome, in green with a check mark.
    pub fn good(text: &str) {
        crate::outln!("{} {text}", "✔".green().bold());
    }

    /// Prints a bad outcome, in red with a cross.
    pub fn bad(text: &str) {
        crate::outln!("{} {text}", "✘".red().bold());
    }

    /// Prints a warning, in yellow.
    pub fn warn(text: &str) {
        crate::outln!("{} {}", "!".yellow().bold(), text.yellow());
    }

    /// Waits for Enter; in batch mode continues at once.
    #[rhai_fn(return_raw)]
    pub fn pause(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        if session(&ctx)?.batch() {
            return Ok(());
        }
        crate::out!("{}", "Press Enter to continue… ".dimmed());
        read_line();
        Ok(())
    }

    /// Asks a yes/no question, answered `yes` by default (and in batch mode).
    #[rhai_fn(return_raw)]
    pub fn confirm(ctx: NativeCallContext, question: &str) -> Result<bool, Box<EvalAltResult>> {
        confirm_or(ctx, question, true)
    }

    /// Asks a yes/no question with the given default answer (taken in batch mode).
    #[rhai_fn(name = "confirm", return_raw)]
    pub fn confirm_or(
        ctx: NativeCallContext,
        question: &str,
        default: bool,
    ) -> Result<bool, Box<EvalAltResult>> {
        let hint = if default { "[Y/n]" } else { "[y/N]" };
        if session(&ctx)?.batch() {
            let answer = if default { "yes" } else { "no" };
            crate::outln!(
                "{question} {hint} {}",
                format!("{answer} (batch mode)").dimmed()
            );
            return Ok(default);
        }
        loop {
            crate::out!("{question} {hint} ");
            match read_line().map(|l| l.to_ascii_lowercase()) {
                None => return Ok(default),
                Some(l) if l.is_empty() => return Ok(default),
                Some(l) if l == "y" || l == "yes" => return Ok(true),
                Some(l) if l == "n" || l == "no" => return Ok(false),
                Some(_) => crate::outln!("{}", "Please answer y or n.".yellow()),
            }
        }
    }

    /// Shows a numbered menu and returns the index (from 0) of the choice; the
    /// first option is the default (taken in batch mode).
    #[rhai_fn(return_raw)]
    pub fn choose(
        ctx: NativeCallContext,
        title: &str,
        options: Array,
    ) -> Result<i64, Box<EvalAltResult>> {
        choose_or(ctx, title, options, 0)
    }

    /// Shows a numbered menu and returns the index (from 0) of the choice;
    /// `default` is taken on an empty answer and in batch mode.
    #[rhai_fn(name = "choose", return_raw)]
    pub fn choose_or(
        ctx: NativeCallContext,
        title: &str,
        options: Array,
        default: i64,
    ) -> Result<i64, Box<EvalAltResult>> {
        if options.is_empty() {
            return Err(crate::api::fail(
                &ctx,
                "ui::choose needs at least one option",
            ));
        }
        if !(0..options.len() as i64).contains(&default) {
            return Err(crate::api::fail(
                &ctx,
                format!(
                    "ui::choose: default {default} is not an option index (0..={})",
                    options.len() - 1
                ),
            ));
        }
        crate::outln!("{}", title.bold());
        for (i, o) in options.iter().enumerate() {
            let marker = if i as i64 == default { "*" } else { " " };
            crate::outln!(" {marker}{}. {o}", i + 1);
        }
        if session(&ctx)?.batch() {
            crate::outln!(
                "{}",
                format!("→ {} (batch mode)", options[default as usize]).dimmed()
            );
            return Ok(default);
        }
        loop {
            crate::out!("Your choice [{}]: ", default + 1);
            match read_line() {
                None => return Ok(default),
                Some(l) if l.is_empty() => return Ok(default),
                Some(l) => match l.parse::<usize>() {
                    Ok(n) if (1..=options.len()).contains(&n) => return Ok(n as i64 - 1),
                    _ => crate::outln!(
                        "{}",
                        format!("Please enter a number from 1 to {}.", options.len()).yellow()
                    ),
                },
            }
        }
    }

    /// Prints an array of maps as a table, columns in the first row's key order.
    pub fn table(rows: Array) {
        let columns = columns_of(&rows);
        crate::outln!("{}", render_table(&rows, &columns));
    }

    /// Prints an array of maps as a table with these columns, in this order.
    #[rhai_fn(name = "table")]
    pub fn table_with(rows: Array, columns: Array) {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        crate::outln!("{}", render_table(&rows, &columns));
    }

    /// Whether prompts answer themselves (batch mode).
    #[rhai_fn(return_raw)]
    pub fn is_batch(ctx: NativeCallContext) -> Result<bool, Box<EvalAltResult>> {
        Ok(session(&ctx)?.batch())
    }
}

//! `ui::` — what the person watching sees: headings, explanations, prompts and
//! tables. In batch mode (`--yes`, or stdin not a terminal) prompts take their
//! default answer and say so.

use crate::events::{EventKind, Style};
use crate::terminal::{ask, prompt_line};
use colored::Colorize;
use rhai::plugin::*;
use rhai::{Array, Map};

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

    /// Shows a heading: the start of a stage or a part of the demo.
    #[rhai_fn(return_raw)]
    pub fn heading(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        session(&ctx)?.publish(EventKind::Heading { text: text.into() });
        Ok(())
    }

    /// Shows a line of text.
    #[rhai_fn(return_raw)]
    pub fn say(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Say, text)
    }

    /// Shows an explanation, dimmed.
    #[rhai_fn(return_raw)]
    pub fn note(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Note, text)
    }

    /// Shows a good outcome, in green with a check mark.
    #[rhai_fn(return_raw)]
    pub fn good(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Good, text)
    }

    /// Shows a bad outcome, in red with a cross.
    #[rhai_fn(return_raw)]
    pub fn bad(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Bad, text)
    }

    /// Shows a warning, in yellow.
    #[rhai_fn(return_raw)]
    pub fn warn(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Warn, text)
    }

    /// Waits for Enter; in batch mode continues at once.
    #[rhai_fn(return_raw)]
    pub fn pause(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        if session(&ctx)?.batch() {
            return Ok(());
        }
        ask(&"Press Enter to continue… ".dimmed().to_string());
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
        let s = session(&ctx)?;
        let answer = if s.batch() {
            let answer = if default { "yes" } else { "no" };
            prompt_line(&format!(
                "{question} {hint} {}",
                format!("{answer} (batch mode)").dimmed()
            ));
            default
        } else {
            loop {
                match ask(&format!("{question} {hint} ")).map(|l| l.to_ascii_lowercase()) {
                    None => break default,
                    Some(l) if l.is_empty() => break default,
                    Some(l) if l == "y" || l == "yes" => break true,
                    Some(l) if l == "n" || l == "no" => break false,
                    Some(_) => prompt_line(&"Please answer y or n.".yellow().to_string()),
                }
            }
        };
        s.publish(EventKind::Prompt {
            question: question.into(),
            answer: if answer { "yes" } else { "no" }.into(),
        });
        Ok(answer)
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
        prompt_line(&title.bold().to_string());
        for (i, o) in options.iter().enumerate() {
            let marker = if i as i64 == default { "*" } else { " " };
            prompt_line(&format!(" {marker}{}. {o}", i + 1));
        }
        let s = session(&ctx)?;
        let choice = if s.batch() {
            prompt_line(
                &format!("→ {} (batch mode)", options[default as usize])
                    .dimmed()
                    .to_string(),
            );
            default
        } else {
            loop {
                match ask(&format!("Your choice [{}]: ", default + 1)) {
                    None => break default,
                    Some(l) if l.is_empty() => break default,
                    Some(l) => match l.parse::<usize>() {
                        Ok(n) if (1..=options.len()).contains(&n) => break n as i64 - 1,
                        _ => prompt_line(
                            &format!("Please enter a number from 1 to {}.", options.len())
                                .yellow()
                                .to_string(),
                        ),
                    },
                }
            }
        };
        s.publish(EventKind::Prompt {
            question: title.into(),
            answer: options[choice as usize].to_string(),
        });
        Ok(choice)
    }

    /// Shows an array of maps as a table, columns in the first row's key order.
    #[rhai_fn(return_raw)]
    pub fn table(ctx: NativeCallContext, rows: Array) -> Result<(), Box<EvalAltResult>> {
        let columns = columns_of(&rows);
        super::table_event(&ctx, rows, columns)
    }

    /// Shows an array of maps as a table with these columns, in this order.
    #[rhai_fn(name = "table", return_raw)]
    pub fn table_with(
        ctx: NativeCallContext,
        rows: Array,
        columns: Array,
    ) -> Result<(), Box<EvalAltResult>> {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        super::table_event(&ctx, rows, columns)
    }

    /// Whether prompts answer themselves (batch mode).
    #[rhai_fn(return_raw)]
    pub fn is_batch(ctx: NativeCallContext) -> Result<bool, Box<EvalAltResult>> {
        Ok(session(&ctx)?.batch())
    }
}

fn text(ctx: &NativeCallContext, style: Style, text: &str) -> Result<(), Box<EvalAltResult>> {
    crate::api::session(ctx)?.publish(EventKind::Text {
        style,
        text: text.into(),
    });
    Ok(())
}

fn table_event(
    ctx: &NativeCallContext,
    rows: Array,
    columns: Vec<String>,
) -> Result<(), Box<EvalAltResult>> {
    let rows = rhai::serde::from_dynamic::<serde_json::Value>(&rows.into())
        .map_err(|e| crate::api::fail(ctx, e))?;
    crate::api::session(ctx)?.publish(EventKind::Table { columns, rows });
    Ok(())
}

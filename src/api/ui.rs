//! `ui::` — what the person watching sees: headings, explanations, prompts and
//! tables. Prompts are asked through the session's answerer, which the host
//! chose: the terminal, or in batch mode (`--yes`, or stdin not a terminal)
//! the default answers, said so; an embedder answers them itself.

use crate::events::{EventKind, Style};
use crate::session::prompt::{Answer, Question};
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
    pub(crate) fn heading(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        session(&ctx)?.publish(EventKind::Heading { text: text.into() });
        Ok(())
    }

    /// Shows a line of text.
    #[rhai_fn(return_raw)]
    pub(crate) fn say(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Say, text)
    }

    /// Shows an explanation, dimmed.
    #[rhai_fn(return_raw)]
    pub(crate) fn note(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Note, text)
    }

    /// Shows a good outcome, in green with a check mark.
    #[rhai_fn(return_raw)]
    pub(crate) fn good(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Good, text)
    }

    /// Shows a bad outcome, in red with a cross.
    #[rhai_fn(return_raw)]
    pub(crate) fn bad(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Bad, text)
    }

    /// Shows a warning, in yellow.
    #[rhai_fn(return_raw)]
    pub(crate) fn warn(ctx: NativeCallContext, text: &str) -> Result<(), Box<EvalAltResult>> {
        super::text(&ctx, Style::Warn, text)
    }

    /// Waits for Enter; in batch mode continues at once.
    #[rhai_fn(return_raw)]
    pub(crate) fn pause(ctx: NativeCallContext) -> Result<(), Box<EvalAltResult>> {
        super::ask(&ctx, &Question::Pause).map(|_| ())
    }

    /// Asks a yes/no question, answered `yes` by default (and in batch mode).
    #[rhai_fn(return_raw)]
    pub(crate) fn confirm(
        ctx: NativeCallContext,
        question: &str,
    ) -> Result<bool, Box<EvalAltResult>> {
        confirm_or(ctx, question, true)
    }

    /// Asks a yes/no question with the given default answer (taken in batch mode).
    #[rhai_fn(name = "confirm", return_raw)]
    pub(crate) fn confirm_or(
        ctx: NativeCallContext,
        question: &str,
        default: bool,
    ) -> Result<bool, Box<EvalAltResult>> {
        let question = Question::Confirm {
            text: question.into(),
            default,
        };
        Ok(super::ask(&ctx, &question)? == Answer::Confirm(true))
    }

    /// Shows a numbered menu and returns the index (from 0) of the choice; the
    /// first option is the default (taken in batch mode).
    #[rhai_fn(return_raw)]
    pub(crate) fn choose(
        ctx: NativeCallContext,
        title: &str,
        options: Array,
    ) -> Result<i64, Box<EvalAltResult>> {
        choose_or(ctx, title, options, 0)
    }

    /// Shows a numbered menu and returns the index (from 0) of the choice;
    /// `default` is taken on an empty answer and in batch mode.
    #[rhai_fn(name = "choose", return_raw)]
    pub(crate) fn choose_or(
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
        let question = Question::Choose {
            title: title.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
            default: default as usize,
        };
        match super::ask(&ctx, &question)? {
            Answer::Choose(i) => Ok(i as i64),
            _ => Ok(default),
        }
    }

    /// Shows an array of maps as a table, columns in the first row's key order.
    #[rhai_fn(return_raw)]
    pub(crate) fn table(ctx: NativeCallContext, rows: Array) -> Result<(), Box<EvalAltResult>> {
        let columns = columns_of(&rows);
        super::table_event(&ctx, rows, columns)
    }

    /// Shows an array of maps as a table with these columns, in this order.
    #[rhai_fn(name = "table", return_raw)]
    pub(crate) fn table_with(
        ctx: NativeCallContext,
        rows: Array,
        columns: Array,
    ) -> Result<(), Box<EvalAltResult>> {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        super::table_event(&ctx, rows, columns)
    }

    /// Whether prompts answer themselves (batch mode).
    #[rhai_fn(return_raw)]
    pub(crate) fn is_batch(ctx: NativeCallContext) -> Result<bool, Box<EvalAltResult>> {
        Ok(session(&ctx)?.answerer().takes_defaults())
    }
}

/// Asks `question` through the session's answerer and journals the answer
/// (a pause is not journalled); an answer that does not fit is an error. An
/// interrupt at the prompt (Ctrl-C, SIGTERM, SIGHUP) or before it ends the
/// script there, as it ends a cloud call.
fn ask(ctx: &NativeCallContext, question: &Question) -> Result<Answer, Box<EvalAltResult>> {
    let s = crate::api::session(ctx)?;
    let halted = || s.interrupt().is_set();
    let answer = match halted() {
        true => None,
        false => s.answerer().answer_until(question, &halted),
    };
    let answer = match answer {
        Some(answer) if !halted() => answer,
        _ => return crate::api::lift(ctx, Err(s.interrupt().halt().to_error())),
    };
    if !question.accepts(answer) {
        return Err(crate::api::fail(
            ctx,
            format!("the host's answerer gave {answer:?} to the question {question:?}"),
        ));
    }
    let asked = match question {
        Question::Pause => return Ok(answer),
        Question::Confirm { text, .. } => text,
        Question::Choose { title, .. } => title,
    };
    s.publish(EventKind::Prompt {
        question: asked.clone(),
        answer: question.answer_words(answer),
    });
    Ok(answer)
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

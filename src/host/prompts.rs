//! The terminal front end's answerers of script prompts: the person at the
//! terminal ([`TerminalAnswerer`], for `resilient run` and the REPL), or the
//! default answers said on the terminal ([`BatchAnswerer`], for `--yes` or
//! input that is not a terminal).

use crate::session::prompt::{Answer, Answerer, Question};
use crate::terminal::{Reply, ask_until, prompt_line};
use colored::Colorize;

/// Asks the person at the terminal and reads the answer from stdin (an
/// empty answer or the end of input takes the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalAnswerer;

/// Takes every default answer and says so on the terminal, as `(batch mode)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchAnswerer;

impl Answerer for TerminalAnswerer {
    fn answer(&self, question: &Question) -> Answer {
        self.answer_until(question, &|| false)
            .unwrap_or_else(|| question.default_answer())
    }

    /// Waits for the person's answer, or for the interrupt (Ctrl-C, SIGTERM,
    /// SIGHUP at the prompt ends the run there).
    fn answer_until(&self, question: &Question, halted: &dyn Fn() -> bool) -> Option<Answer> {
        let ask = |prompt: &str| match ask_until(prompt, halted) {
            Reply::Line(line) => Some(Some(line)),
            Reply::End => Some(None),
            Reply::Halted => None,
        };
        Some(match question {
            Question::Pause => {
                ask(&"Press Enter to continue… ".dimmed().to_string())?;
                Answer::Continue
            }
            Question::Confirm { text, default } => {
                let hint = hint(*default);
                loop {
                    match ask(&format!("{text} {hint} "))?.map(|l| l.to_ascii_lowercase()) {
                        None => break Answer::Confirm(*default),
                        Some(l) if l.is_empty() => break Answer::Confirm(*default),
                        Some(l) if l == "y" || l == "yes" => break Answer::Confirm(true),
                        Some(l) if l == "n" || l == "no" => break Answer::Confirm(false),
                        Some(_) => prompt_line(&"Please answer y or n.".yellow().to_string()),
                    }
                }
            }
            Question::Choose {
                title,
                options,
                default,
            } => {
                show_menu(title, options, *default);
                loop {
                    match ask(&format!("Your choice [{}]: ", default + 1))? {
                        None => break Answer::Choose(*default),
                        Some(l) if l.is_empty() => break Answer::Choose(*default),
                        Some(l) => match l.parse::<usize>() {
                            Ok(n) if (1..=options.len()).contains(&n) => {
                                break Answer::Choose(n - 1);
                            }
                            _ => prompt_line(
                                &format!("Please enter a number from 1 to {}.", options.len())
                                    .yellow()
                                    .to_string(),
                            ),
                        },
                    }
                }
            }
        })
    }
}

impl Answerer for BatchAnswerer {
    fn answer(&self, question: &Question) -> Answer {
        let answer = question.default_answer();
        match question {
            Question::Pause => {}
            Question::Confirm { text, default } => prompt_line(&format!(
                "{text} {} {}",
                hint(*default),
                format!("{} (batch mode)", question.answer_words(answer)).dimmed()
            )),
            Question::Choose {
                title,
                options,
                default,
            } => {
                show_menu(title, options, *default);
                prompt_line(
                    &format!("→ {} (batch mode)", question.answer_words(answer))
                        .dimmed()
                        .to_string(),
                );
            }
        }
        answer
    }

    fn takes_defaults(&self) -> bool {
        true
    }
}

/// The `[Y/n]` hint of a yes/no question with this default.
fn hint(default: bool) -> &'static str {
    if default { "[Y/n]" } else { "[y/N]" }
}

/// Shows a numbered menu, the default marked.
fn show_menu(title: &str, options: &[String], default: usize) {
    prompt_line(&title.bold().to_string());
    for (i, o) in options.iter().enumerate() {
        let marker = if i == default { "*" } else { " " };
        prompt_line(&format!(" {marker}{}. {o}", i + 1));
    }
}

//! Questions a script asks the person running it (`ui::pause`,
//! `ui::confirm`, `ui::choose`), and who answers them: the script API asks
//! through the session, the host decides who answers (the terminal, batch
//! mode's default answers, or an embedder's own [`Answerer`]).

/// A question a script asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// `ui::pause()`: wait until the person is ready to go on.
    Pause,
    /// `ui::confirm(question, default)`: yes or no.
    Confirm {
        /// The question.
        text: String,
        /// The answer taken when none is given.
        default: bool,
    },
    /// `ui::choose(title, options, default)`: one option of a menu.
    Choose {
        /// What the menu is about.
        title: String,
        /// The options, in order.
        options: Vec<String>,
        /// The index of the option taken when none is given.
        default: usize,
    },
}

/// An answer to a [`Question`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Go on (the answer to [`Question::Pause`]).
    Continue,
    /// Yes (`true`) or no (the answer to [`Question::Confirm`]).
    Confirm(bool),
    /// The index of the option chosen (the answer to [`Question::Choose`]).
    Choose(usize),
}

impl Question {
    /// The answer taken when none is given (batch mode, end of input, an
    /// embedder that answers nothing).
    pub fn default_answer(&self) -> Answer {
        match self {
            Question::Pause => Answer::Continue,
            Question::Confirm { default, .. } => Answer::Confirm(*default),
            Question::Choose { default, .. } => Answer::Choose(*default),
        }
    }

    /// Whether `answer` answers this question (the right kind, an option
    /// that exists).
    pub fn accepts(&self, answer: Answer) -> bool {
        match (self, answer) {
            (Question::Pause, Answer::Continue) => true,
            (Question::Confirm { .. }, Answer::Confirm(_)) => true,
            (Question::Choose { options, .. }, Answer::Choose(i)) => i < options.len(),
            _ => false,
        }
    }

    /// The answer in the words the journal keeps: `yes`/`no`, the option
    /// chosen, or `continue`.
    pub fn answer_words(&self, answer: Answer) -> String {
        match (self, answer) {
            (Question::Choose { options, .. }, Answer::Choose(i)) => {
                options.get(i).cloned().unwrap_or_default()
            }
            (_, Answer::Confirm(true)) => "yes".into(),
            (_, Answer::Confirm(false)) => "no".into(),
            _ => "continue".into(),
        }
    }
}

/// Answers the questions scripts ask. The host holds one per session: the
/// terminal front end reads the answers from the terminal, batch mode takes
/// the defaults, an embedder supplies its own (see `HostOptions::answerer`).
/// Called from the thread running the script; it may block as long as it
/// needs, but an answerer that waits on a person should look at `halted`
/// ([`Answerer::answer_until`]): a run interrupted at a prompt ends there.
pub trait Answerer: Send + Sync {
    /// The answer to `question`; one that does not fit the question (another
    /// kind, an option that does not exist) is a script error at the call.
    fn answer(&self, question: &Question) -> Answer;

    /// The answer to `question`, or `None` once `halted` says the run is
    /// being halted (Ctrl-C, SIGTERM, SIGHUP at the prompt) before one came.
    /// By default it asks [`Answerer::answer`], which does not look; the
    /// caller looks again once the answer is in.
    fn answer_until(&self, question: &Question, halted: &dyn Fn() -> bool) -> Option<Answer> {
        let _ = halted;
        Some(self.answer(question))
    }

    /// Whether every answer is the question's default (batch mode):
    /// `ui::is_batch()` tells scripts, so they skip menus they would
    /// otherwise loop on.
    fn takes_defaults(&self) -> bool {
        false
    }
}

/// Takes every question's default answer, saying nothing: what an embedder
/// gets when it sets no answerer. Never blocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultAnswers;

impl Answerer for DefaultAnswers {
    fn answer(&self, question: &Question) -> Answer {
        question.default_answer()
    }

    fn takes_defaults(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Question {
        Question::Choose {
            title: "next".into(),
            options: vec!["a".into(), "b".into()],
            default: 1,
        }
    }

    #[test]
    fn default_answers_fit_their_questions() {
        for q in [
            Question::Pause,
            Question::Confirm {
                text: "go?".into(),
                default: false,
            },
            menu(),
        ] {
            assert!(q.accepts(DefaultAnswers.answer(&q)), "{q:?}");
        }
        assert_eq!(menu().default_answer(), Answer::Choose(1));
        assert_eq!(menu().answer_words(Answer::Choose(0)), "a");
    }

    #[test]
    fn answers_of_another_kind_or_out_of_range_are_refused() {
        assert!(!menu().accepts(Answer::Choose(2)));
        assert!(!menu().accepts(Answer::Confirm(true)));
        assert!(!Question::Pause.accepts(Answer::Choose(0)));
    }
}

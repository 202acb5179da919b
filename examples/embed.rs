//! Embedding the `resilient` host in another Rust program: build a host, add
//! your own script function, your own event sink and your own answerer of
//! the script's prompts, and drive the local cloud from a script.
//!
//!     cargo run --example embed
//!
//! Nothing here reads the terminal: with `quiet` and no answerer every prompt
//! would take its default answer; this program answers them itself.

use resilient::events::{Event, EventKind, Sink};
use resilient::host::{Answer, Answerer, Question};
use resilient::settings::Settings;
use resilient::{Host, HostOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Counts the deploy steps and deleted resources the run reports, and keeps
/// the prompts the journal would keep (question, answer).
#[derive(Default)]
pub struct Counter {
    /// Deploy steps done.
    pub steps: AtomicUsize,
    /// Resources deleted.
    pub deleted: AtomicUsize,
    /// Every prompt answered: (question, answer).
    pub prompts: Mutex<Vec<(String, String)>>,
}

impl Sink for Counter {
    fn event(&self, event: &Event) {
        match &event.kind {
            EventKind::Step { .. } => {
                self.steps.fetch_add(1, Ordering::Relaxed);
            }
            EventKind::Deleted { .. } => {
                self.deleted.fetch_add(1, Ordering::Relaxed);
            }
            EventKind::Prompt { question, answer } => self
                .prompts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((question.clone(), answer.clone())),
            _ => {}
        }
    }
}

/// This program's answers to the script's questions: the busiest load on
/// the menu, and yes to tearing the deployment down (the script's defaults
/// are the lightest load and no).
pub struct Decisions;

impl Answerer for Decisions {
    fn answer(&self, question: &Question) -> Answer {
        match question {
            Question::Choose { options, .. } => Answer::Choose(options.len() - 1),
            Question::Confirm { text, .. } => Answer::Confirm(text.contains("Tear")),
            Question::Pause => Answer::Continue,
        }
    }
}

/// What the run reports.
pub struct Summary {
    /// The script's own sentence.
    pub text: String,
    /// What the sink counted.
    pub counter: Arc<Counter>,
}

/// The script: its questions are answered by [`Decisions`].
const SCRIPT: &str = r#"
    deploy::all();
    let sizes = [10, 50];
    let n = sizes[ui::choose("How many requests?", ["10", "50"])];
    let stats = load::run(#{ requests: n, concurrency: 5 });
    if ui::confirm("Tear the deployment down now?", false) {
        destroy::all();
    }
    `${stats.count} requests, ${percent(stats.success_rate)} answered, p99 ${stats.p99_ms} ms`
"#;

/// Builds the host, runs the script, and returns what it reported.
pub fn run() -> Result<Summary, Box<dyn std::error::Error>> {
    let mut host = Host::new(HostOptions {
        settings: Settings::default(),
        // Nothing printed: this program reports through its own sink.
        quiet: true,
        // Nobody at a terminal: this program answers the prompts.
        answerer: Some(Arc::new(Decisions)),
        ..Default::default()
    })?;
    let counter = Arc::new(Counter::default());
    host.add_sink(counter.clone());
    // Your own functions sit beside the built-in modules.
    host.engine_mut()
        .register_fn("percent", |x: f64| format!("{:.1}%", x * 100.0));
    let text = host.eval(SCRIPT, "<embed>")?.to_string();
    Ok(Summary { text, counter })
}

fn main() {
    match run() {
        Ok(Summary { text, counter }) => println!(
            "{text}; {} deploy steps, {} resources deleted, prompts answered: {:?}",
            counter.steps.load(Ordering::Relaxed),
            counter.deleted.load(Ordering::Relaxed),
            counter.prompts.lock().unwrap_or_else(|p| p.into_inner()),
        ),
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}

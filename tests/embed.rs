//! Embedding: prompts go through the host. An embedder's answerer answers
//! them (the example `examples/embed.rs` runs here as it runs alone), an
//! embedder without one gets the default answers without anything blocking
//! or printing, and every answer is journalled as a prompt event.

mod common;

#[allow(dead_code)]
#[path = "../examples/embed.rs"]
mod embed;

use resilient::events::{Event, EventKind, Sink};
use resilient::host::{Answer, Answerer, Question};
use resilient::{Host, HostOptions};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The prompt events a run published: (question, answer).
#[derive(Default)]
struct Prompts(Mutex<Vec<(String, String)>>);

impl Sink for Prompts {
    fn event(&self, event: &Event) {
        if let EventKind::Prompt { question, answer } = &event.kind {
            self.0
                .lock()
                .unwrap()
                .push((question.clone(), answer.clone()));
        }
    }
}

impl Prompts {
    fn taken(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

fn quiet_host(answerer: Option<Arc<dyn Answerer>>) -> (Host, Arc<Prompts>) {
    let host = Host::new(HostOptions {
        quiet: true,
        answerer,
        ..Default::default()
    })
    .expect("host");
    let prompts = Arc::new(Prompts::default());
    host.add_sink(prompts.clone());
    (host, prompts)
}

fn pair(q: &str, a: &str) -> (String, String) {
    (q.to_string(), a.to_string())
}

#[test]
fn the_embedding_example_answers_the_scripts_prompts_itself() {
    let summary = embed::run().expect("the example runs");
    assert!(summary.text.starts_with("50 requests"), "{}", summary.text);
    let counter = &summary.counter;
    assert!(counter.steps.load(Ordering::Relaxed) > 0);
    // It said yes to tearing down, which the script's default would not.
    assert!(counter.deleted.load(Ordering::Relaxed) > 0);
    assert_eq!(
        *counter.prompts.lock().unwrap(),
        [
            pair("How many requests?", "50"),
            pair("Tear the deployment down now?", "yes")
        ]
    );
}

#[test]
fn without_an_answerer_prompts_take_their_defaults_at_once() {
    let (mut host, prompts) = quiet_host(None);
    let answers: Vec<String> = common::from(common::eval(
        &mut host,
        r#"ui::pause();
           [ui::confirm("go on?"), ui::confirm("really?", false),
            ui::choose("which?", ["a", "b", "c"], 2), ui::is_batch()].map(|v| `${v}`)"#,
    ));
    assert_eq!(answers, ["true", "false", "2", "true"]);
    assert_eq!(
        prompts.taken(),
        [
            pair("go on?", "yes"),
            pair("really?", "no"),
            pair("which?", "c")
        ]
    );
}

/// Answers every menu with its first option and every question with no;
/// or, misbehaving, a menu option that does not exist.
struct Fixed {
    misfit: bool,
}

impl Answerer for Fixed {
    fn answer(&self, question: &Question) -> Answer {
        match question {
            Question::Choose { options, .. } if self.misfit => Answer::Choose(options.len()),
            Question::Choose { .. } => Answer::Choose(0),
            Question::Confirm { .. } => Answer::Confirm(false),
            Question::Pause => Answer::Continue,
        }
    }
}

#[test]
fn an_embedders_answers_are_taken_and_journalled_and_a_misfit_is_an_error() {
    let (mut host, prompts) = quiet_host(Some(Arc::new(Fixed { misfit: false })));
    let answers: Vec<String> = common::from(common::eval(
        &mut host,
        r#"[ui::confirm("go on?"), ui::choose("which?", ["a", "b"], 1), ui::is_batch()]
              .map(|v| `${v}`)"#,
    ));
    assert_eq!(answers, ["false", "0", "false"]);
    assert_eq!(prompts.taken(), [pair("go on?", "no"), pair("which?", "a")]);

    let (mut host, prompts) = quiet_host(Some(Arc::new(Fixed { misfit: true })));
    let e = common::eval_err(&mut host, r#"ui::choose("which?", ["a", "b"])"#);
    assert!(e.message.contains("answerer"), "{e}");
    assert_eq!(e.line, Some(1), "{e}");
    assert!(prompts.taken().is_empty());
}

#[test]
fn batch_mode_takes_the_defaults_even_with_an_answerer() {
    let mut host = Host::new(HostOptions {
        batch: true,
        quiet: true,
        answerer: Some(Arc::new(Fixed { misfit: false })),
        ..Default::default()
    })
    .expect("host");
    let answer: String = common::from(common::eval(
        &mut host,
        r#"`${ui::confirm("go on?")} ${ui::is_batch()}`"#,
    ));
    assert_eq!(answer, "true true");
}

#[test]
fn an_embedder_tells_a_halted_run_from_a_failed_one_by_type() {
    use resilient::Halt;
    let (mut host, _) = quiet_host(None);
    let session = host.session().clone();
    // A stop condition while the script waits: the wait ends, halted.
    let stopper = std::thread::spawn({
        let session = session.clone();
        move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            session.interrupt().stop("stop condition: test".into());
        }
    });
    let e = common::eval_err(&mut host, "wait_until(|| false, 60000)");
    stopper.join().unwrap();
    assert_eq!(
        e.halt.as_deref(),
        Some(&Halt::Stopped("stop condition: test".into())),
        "{e}"
    );
    assert_eq!(e.message, "stopped: stop condition: test");
    // Ctrl-C while the script computes: the engine stops it, halted.
    let flag = session.interrupt().flag();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let e = common::eval_err(&mut host, "let n = 0; loop { n += 1; }");
    interrupter.join().unwrap();
    assert_eq!(e.halt.as_deref(), Some(&Halt::Interrupted), "{e}");
    // A script's own error is not a halt, whatever it says.
    let e = common::eval_err(&mut host, r#"throw "stopped: stop condition: made up""#);
    assert_eq!(e.halt, None, "{e}");
}

/// Waits for a person who never answers, looking at the interrupt.
struct Absent;

impl Answerer for Absent {
    fn answer(&self, question: &Question) -> Answer {
        question.default_answer()
    }

    fn answer_until(&self, _: &Question, halted: &dyn Fn() -> bool) -> Option<Answer> {
        while !halted() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        None
    }
}

/// Answers only once the run has been interrupted meanwhile (an answerer
/// that does not look at the interrupt).
struct Late(std::sync::OnceLock<Arc<std::sync::atomic::AtomicBool>>);

impl Answerer for Late {
    fn answer(&self, _: &Question) -> Answer {
        if let Some(flag) = self.0.get() {
            flag.store(true, Ordering::SeqCst);
        }
        Answer::Confirm(true)
    }
}

#[test]
fn an_interrupt_at_a_prompt_ends_the_run_there() {
    use resilient::Halt;
    // The answerer waits; Ctrl-C (the flag) ends the wait and the script.
    let (mut host, prompts) = quiet_host(Some(Arc::new(Absent)));
    let flag = host.session().interrupt().flag();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let e = common::eval_err(
        &mut host,
        r#"ui::choose("next", ["a", "b"], 0); ui::say("went on")"#,
    );
    interrupter.join().unwrap();
    assert_eq!(e.halt.as_deref(), Some(&Halt::Interrupted), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(prompts.taken().is_empty(), "no answer is journalled");
    // An answer that comes after the interrupt is not taken either: the
    // caller looks again once it is in.
    let late = Arc::new(Late(std::sync::OnceLock::new()));
    let (mut host, prompts) = quiet_host(Some(late.clone()));
    late.0.set(host.session().interrupt().flag()).unwrap();
    let e = common::eval_err(&mut host, r#"ui::confirm("go?", false)"#);
    assert_eq!(e.halt.as_deref(), Some(&Halt::Interrupted), "{e}");
    assert!(prompts.taken().is_empty());
}

//! A stop condition that trips while the REPL waits for the next input (a
//! background load's `stop_below`): announced and its faults rolled back at
//! once, as a run does — not silently cleared by the next input.

use crate::session::Session;
use colored::Colorize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often an idle REPL looks at the stop conditions.
const EVERY: Duration = Duration::from_millis(100);

/// Watches the session's stop conditions while no input runs.
pub(super) struct Guardrail {
    /// Held while an input runs (the input's own end handles a stop then).
    pub(super) turn: Arc<Mutex<()>>,
    alive: Arc<AtomicBool>,
}

impl Guardrail {
    /// Starts watching `session`.
    pub(super) fn watch(session: Arc<Session>) -> Self {
        let turn = Arc::new(Mutex::new(()));
        let alive = Arc::new(AtomicBool::new(true));
        let (t, a) = (turn.clone(), alive.clone());
        let _ = std::thread::Builder::new()
            .name("guardrail".into())
            .spawn(move || {
                while a.load(Ordering::Relaxed) {
                    std::thread::sleep(EVERY);
                    // An input running holds the turn; its end handles it.
                    if let Ok(_idle) = t.try_lock() {
                        handle(&session);
                    }
                }
            });
        Guardrail { turn, alive }
    }
}

impl Drop for Guardrail {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
    }
}

/// If a stop condition tripped: says so, rolls back the faults, and clears
/// it so the session goes on. True if one had tripped.
pub(super) fn handle(session: &Session) -> bool {
    let Some(reason) = session.interrupt().stop_reason() else {
        return false;
    };
    crate::errln!("\n{} stopped by a guardrail: {reason}", "!".yellow().bold());
    // The rollback event says what was rolled back; a failure is said here.
    if let Err(e) = session.rollback_faults() {
        crate::errln!(
            "{} could not roll back the faults: {e}; run `failure::reset()`",
            "error:".red().bold()
        );
    }
    session.interrupt().clear();
    true
}

//! Debug builds only: makes the interpreter die on purpose, in one of the
//! ways a real one dies, when a script says `crash here` — for the crash
//! matrix of the supervisor's tests (tests/supervisor.rs). The death is
//! real (a stack overflow, an abort, memory refused under a limit, a panic);
//! only its moment is chosen. Release builds have no such hook.

use resilient::events::{Event, EventKind, Sink};

/// What `RESILIENT_DEBUG_CRASH` names: how the interpreter dies.
#[derive(Debug, Clone, Copy)]
enum Death {
    /// Recursion until the interpreter's stack meets its guard page
    /// (SIGSEGV: the stack is mapped by `main`, so Rust's handler, which
    /// knows only threads' own stacks, says nothing).
    StackOverflow,
    /// `abort()` (SIGABRT).
    Abort,
    /// Allocating until the memory limit refuses (Rust aborts: SIGABRT).
    Memory,
    /// A panic on the script's thread.
    Panic,
}

/// Dies as told when a script says `crash here` (`ui::say("crash here")`).
#[derive(Debug)]
struct CrashHook(Death);

/// Adds the hook to the host when `RESILIENT_DEBUG_CRASH` names a death
/// (`stack-overflow`, `abort`, `memory`, `panic`), in debug builds.
pub(super) fn install(host: &resilient::Host) {
    if !cfg!(debug_assertions) {
        return;
    }
    let death = match std::env::var("RESILIENT_DEBUG_CRASH").as_deref() {
        Ok("stack-overflow") => Death::StackOverflow,
        Ok("abort") => Death::Abort,
        Ok("memory") => Death::Memory,
        Ok("panic") => Death::Panic,
        _ => return,
    };
    host.add_sink(std::sync::Arc::new(CrashHook(death)));
}

impl Sink for CrashHook {
    fn event(&self, event: &Event) {
        let EventKind::Text { text, .. } = &event.kind else {
            return;
        };
        if text != "crash here" {
            return;
        }
        match self.0 {
            Death::StackOverflow => {
                std::hint::black_box(deeper(std::hint::black_box(1)));
            }
            Death::Abort => std::process::abort(),
            Death::Memory => {
                let mut held: Vec<Vec<u8>> = Vec::new();
                loop {
                    held.push(vec![0u8; 16 << 20]);
                    std::hint::black_box(&held);
                }
            }
            Death::Panic => panic!("a panic on the script's thread (RESILIENT_DEBUG_CRASH)"),
        }
    }
}

/// Recursion without end, each frame holding a page.
#[allow(unconditional_recursion)]
fn deeper(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 512]);
    deeper(frame[7] + 1) + frame[3]
}

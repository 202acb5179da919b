//! Waiting in tests for something that happens by itself: one poll loop
//! with a deadline and a failure message that says what never happened,
//! how long it was given and what was seen last.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// Calls `probe` every `every` until it returns `Ok`, and returns that
/// value. `Err` means "not yet", and carries what was seen instead; when
/// `within` has passed the test fails with `what`, the time given, the
/// number of looks and the last thing seen. A probe may assert too (what
/// must hold at every look, not only at the end).
pub fn eventually<T, E: Debug>(
    what: &str,
    within: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Result<T, E>,
) -> T {
    let started = Instant::now();
    let mut looks = 0;
    loop {
        looks += 1;
        let seen = match probe() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if started.elapsed() >= within {
            panic!(
                "{what}: not within {within:?} ({looks} looks, {:?} in all); last seen: {seen:?}",
                started.elapsed()
            );
        }
        std::thread::sleep(every);
    }
}

/// [`eventually`] for a plain condition: waits until `condition` holds.
pub fn eventually_true(
    what: &str,
    within: Duration,
    every: Duration,
    mut condition: impl FnMut() -> bool,
) {
    eventually(what, within, every, || {
        if condition() { Ok(()) } else { Err("false") }
    })
}

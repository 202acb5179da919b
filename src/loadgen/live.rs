//! Windows reported while a load runs: each window's figures go to a sink
//! once the window is over (with one window of grace for requests still in
//! flight), so a journal holds what customers saw even if the run is killed
//! before the load ends. The load's final statistics stay the reference: a
//! request slower than the grace counts there, not in its live window.

use super::stats::{Outcome, Window, summarize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Receives each window of a running load once it is over.
pub type WindowSink = Arc<dyn Fn(Window) + Send + Sync>;

/// The outcomes of windows not yet reported.
pub(super) struct Live {
    width: Duration,
    sink: WindowSink,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    outcomes: Vec<Outcome>,
    /// Windows before this index have been reported.
    next: u128,
}

impl Live {
    pub(super) fn new(width: Duration, sink: WindowSink) -> Self {
        Live {
            width: width.max(Duration::from_millis(1)),
            sink,
            pending: Mutex::default(),
        }
    }

    fn index(&self, at: Duration) -> u128 {
        at.as_millis() / self.width.as_millis()
    }

    /// Keeps an outcome for its window (dropped if that window was reported).
    pub(super) fn record(&self, o: &Outcome) {
        let mut p = crate::sync::lock(&self.pending);
        if self.index(o.at) >= p.next {
            p.outcomes.push(o.clone());
        }
    }

    /// Reports every window before `upto`, in order.
    pub(super) fn flush(&self, upto: u128) {
        let ready = {
            let mut p = crate::sync::lock(&self.pending);
            let (ready, later): (Vec<Outcome>, Vec<Outcome>) = std::mem::take(&mut p.outcomes)
                .into_iter()
                .partition(|o| self.index(o.at) < upto);
            p.outcomes = later;
            p.next = p.next.max(upto);
            ready
        };
        for w in summarize(&ready, Duration::ZERO, self.width).windows {
            (self.sink)(w);
        }
    }

    /// Reports window k at the end of window k + 1, until `done`; then the rest.
    pub(super) async fn report(self: Arc<Self>, started: Instant, done: CancellationToken) {
        let mut k: u32 = 1;
        loop {
            let at = started + self.width * (k + 1);
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => self.flush(u128::from(k)),
                _ = done.cancelled() => break,
            }
            k += 1;
        }
        self.flush(u128::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Outcome {
        Outcome {
            at: Duration::from_millis(ms),
            status: 200,
            latency: Duration::from_millis(1),
            instance: None,
            fallback: false,
        }
    }

    #[test]
    fn windows_are_reported_once_in_order_and_late_outcomes_are_dropped() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let live = Live::new(
            Duration::from_millis(100),
            Arc::new(move |w: Window| s.lock().unwrap().push((w.start_ms, w.count))),
        );
        for ms in [5, 50, 120, 250] {
            live.record(&at(ms));
        }
        live.flush(2);
        live.record(&at(60)); // window 0 was reported: too late
        live.record(&at(130));
        live.flush(u128::MAX);
        assert_eq!(*seen.lock().unwrap(), vec![(0, 2), (100, 1), (200, 1)]);
    }
}

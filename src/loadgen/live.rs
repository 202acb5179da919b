//! Windows reported while a load runs: each window's figures go to a sink
//! once the window is over (with one window of grace for requests still in
//! flight), so a journal holds what customers saw even if the run is killed
//! before the load ends. The load's final statistics stay the reference: a
//! request slower than the grace counts there, not in its live window.

use super::stats::Outcome;
use super::windows::{Window, Windows};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Receives each window of a running load once it is over.
pub type WindowSink = Arc<dyn Fn(Window) + Send + Sync>;

/// The windows not yet reported.
pub(super) struct Live {
    width: Duration,
    sink: WindowSink,
    pending: Mutex<Pending>,
}

struct Pending {
    windows: Windows,
    /// Windows before this index have been reported.
    next: u64,
}

impl Live {
    pub(super) fn new(width: Duration, sink: WindowSink) -> Self {
        let windows = Windows::new(width);
        Live {
            width: Duration::from_millis(windows.width_ms()),
            sink,
            pending: Mutex::new(Pending { windows, next: 0 }),
        }
    }

    /// Counts an outcome into its window (dropped if that window was reported).
    pub(super) fn record(&self, o: &Outcome) {
        let mut p = crate::sync::lock(&self.pending);
        if p.windows.index(o.at) >= p.next {
            p.windows.add_outcome(o);
        }
    }

    /// Reports every window before `upto`, in order.
    pub(super) fn flush(&self, upto: u64) {
        let ready = {
            let mut p = crate::sync::lock(&self.pending);
            p.next = p.next.max(upto);
            p.windows.take_before(upto)
        };
        for w in ready.into_windows() {
            (self.sink)(w);
        }
    }

    /// Reports window k at the end of window k + 1, until `done`; then the rest.
    pub(super) async fn report(self: Arc<Self>, started: Instant, done: CancellationToken) {
        let mut k: u32 = 1;
        loop {
            let at = started + self.width * (k + 1);
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => self.flush(u64::from(k)),
                _ = done.cancelled() => break,
            }
            k += 1;
        }
        self.flush(u64::MAX);
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
            version: None,
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
        live.flush(u64::MAX);
        assert_eq!(*seen.lock().unwrap(), vec![(0, 2), (100, 1), (200, 1)]);
    }
}

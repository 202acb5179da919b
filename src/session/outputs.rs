//! Where a session's events go: the event stream every action is published
//! on, and the background recorder of target and instance states that feeds
//! it.

use crate::cloud::Cloud;
use crate::events::{Bus, EventKind};
use crate::recorder::Recorder;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The event stream and the state recorder (with its background watcher).
pub struct Outputs {
    bus: Arc<Bus>,
    /// What was last seen of targets and instances (fed by the watcher and
    /// the script's own looks).
    recorder: Arc<Recorder>,
    /// Stops the background watcher, once started.
    watcher: Mutex<Option<CancellationToken>>,
}

impl Default for Outputs {
    fn default() -> Self {
        let bus: Arc<Bus> = Arc::default();
        Outputs {
            recorder: Arc::new(Recorder::new(bus.clone())),
            bus,
            watcher: Mutex::new(None),
        }
    }
}

impl Outputs {
    /// The event stream.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Publishes an event to every sink.
    pub fn publish(&self, kind: EventKind) {
        self.bus.publish(kind);
    }

    /// The state recorder, when some sink wants state changes.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.bus.wants_state().then_some(self.recorder.as_ref())
    }

    /// Starts watching `cloud` on `runtime` for state changes, if a sink
    /// wants them and the watcher is not running yet.
    pub fn start_recorder(&self, cloud: &Arc<dyn Cloud>, runtime: &tokio::runtime::Handle) {
        if !self.bus.wants_state() {
            return;
        }
        let mut slot = crate::sync::lock(&self.watcher);
        if slot.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        runtime.spawn(crate::recorder::watch(
            cloud.clone(),
            self.recorder.clone(),
            stop.clone(),
        ));
        *slot = Some(stop);
    }
}

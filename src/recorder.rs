//! Watches a deployment in the background and publishes every change of a
//! target's health or an instance's state, so a journal has continuous lanes
//! even when the script never looks. It runs only while some sink wants
//! state changes ([`crate::events::Sink::wants_state`]).

use crate::cloud::{Cloud, InstanceInfo, TargetHealth};
use crate::error::Error;
use crate::events::{Bus, EventKind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What was last seen of each target: (state, reason).
type Targets = BTreeMap<String, (String, Option<String>)>;
/// What was last seen of each instance: (az, state, health).
type Instances = BTreeMap<String, (String, String, String)>;

/// The last state seen of every target and instance, and where changes go.
/// Both the background watcher and the script's own looks
/// (`inspect::targets()`, `inspect::instances()`) feed it, so a change the
/// script saw is recorded even if it lasted less than a watch interval.
pub struct Recorder {
    bus: Arc<Bus>,
    targets: Mutex<Targets>,
    instances: Mutex<Instances>,
}

impl Recorder {
    /// A recorder publishing on `bus`.
    pub fn new(bus: Arc<Bus>) -> Self {
        Recorder {
            bus,
            targets: Mutex::default(),
            instances: Mutex::default(),
        }
    }

    /// Records the targets as seen now.
    pub fn targets(&self, seen: &[TargetHealth]) {
        let now: Targets = seen
            .iter()
            .map(|t| (t.id.clone(), (t.state.clone(), t.reason.clone())))
            .collect();
        let mut last = crate::sync::lock(&self.targets);
        publish_changes(&last, &now, |id, v| {
            let (state, reason) = v.cloned().unwrap_or(("gone".into(), None));
            self.bus.publish(EventKind::Target {
                id: id.to_string(),
                state,
                reason,
            })
        });
        *last = now;
    }

    /// Records the instances as seen now.
    pub fn instances(&self, seen: &[InstanceInfo]) {
        let now: Instances = seen
            .iter()
            .map(|i| {
                (
                    i.id.clone(),
                    (i.az.clone(), i.state.clone(), i.health.clone()),
                )
            })
            .collect();
        let mut last = crate::sync::lock(&self.instances);
        publish_changes(&last, &now, |id, v| {
            let (az, state, health) = v.cloned().unwrap_or_else(|| {
                let az = last_az(&last, id);
                (az, "gone".into(), String::new())
            });
            self.bus.publish(EventKind::Instance {
                id: id.to_string(),
                az,
                state,
                health,
            })
        });
        *last = now;
    }
}

fn last_az(last: &Instances, id: &str) -> String {
    last.get(id).map(|b| b.0.clone()).unwrap_or_default()
}

/// Looks every [`Cloud::watch_interval`] until `stop`.
pub async fn watch(cloud: Arc<dyn Cloud>, recorder: Arc<Recorder>, stop: CancellationToken) {
    loop {
        if let Some(now) = seen(cloud.targets().await) {
            recorder.targets(&now);
        }
        if let Some(now) = seen(cloud.instances().await) {
            recorder.instances(&now);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(cloud.watch_interval()) => {}
        }
    }
}

/// What a look saw: nothing deployed counts as empty; another error (a
/// network blip) as not seen at all.
fn seen<T>(result: crate::Result<Vec<T>>) -> Option<Vec<T>> {
    match result {
        Ok(v) => Some(v),
        Err(Error::NotDeployed { .. }) => Some(Vec::new()),
        Err(_) => None,
    }
}

/// Calls `publish(id, new value)` for every key that appeared or changed, and
/// `publish(id, None)` for every key that went.
fn publish_changes<V: PartialEq>(
    before: &BTreeMap<String, V>,
    now: &BTreeMap<String, V>,
    mut publish: impl FnMut(&str, Option<&V>),
) {
    for (id, v) in now {
        if before.get(id) != Some(v) {
            publish(id, Some(v));
        }
    }
    for id in before.keys().filter(|id| !now.contains_key(*id)) {
        publish(id, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_appearances_and_departures_are_published() {
        let before = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 2)]);
        let now = BTreeMap::from([
            ("a".to_string(), 1),
            ("b".to_string(), 3),
            ("c".to_string(), 4),
        ]);
        let mut got = Vec::new();
        publish_changes(&before, &now, |id, v| {
            got.push((id.to_string(), v.copied()))
        });
        assert_eq!(
            got,
            vec![("b".to_string(), Some(3)), ("c".to_string(), Some(4))]
        );
        let mut got = Vec::new();
        publish_changes(&now, &before, |id, v| {
            got.push((id.to_string(), v.copied()))
        });
        assert!(got.contains(&("c".to_string(), None)));
    }
}

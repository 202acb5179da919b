//! Watches a deployment in the background and publishes every change of a
//! target's health or an instance's state, so a journal has continuous lanes
//! even when the script never looks. It runs only while some sink wants
//! state changes ([`crate::events::Sink::wants_state`]).

use crate::cloud::states::Seen;
use crate::cloud::{
    Cloud, GroupHealth, InstanceInfo, InstanceState, TargetHealth, TargetReason, TargetState,
};
use crate::error::Error;
use crate::events::{Bus, EventKind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What was last seen of each target: (state, reason).
type Targets = BTreeMap<String, (TargetState, Option<TargetReason>)>;
/// What was last seen of each instance: (az, state, health).
type Instances = BTreeMap<String, (String, InstanceState, GroupHealth)>;

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
            let (state, reason) = match v {
                Some((state, reason)) => (Seen::Now(state.clone()), reason.clone()),
                None => (Seen::Gone, None),
            };
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
            .map(|i| (i.id.clone(), (i.az.clone(), i.state.clone(), i.health)))
            .collect();
        let mut last = crate::sync::lock(&self.instances);
        publish_changes(&last, &now, |id, v| {
            let (az, state, health) = match v {
                Some((az, state, health)) => (az.clone(), Seen::Now(state.clone()), Some(*health)),
                None => (last_az(&last, id), Seen::Gone, None),
            };
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
pub(crate) async fn watch(cloud: Arc<dyn Cloud>, recorder: Arc<Recorder>, stop: CancellationToken) {
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
    use crate::events::{Event, Sink};

    #[derive(Default)]
    struct Collect(Mutex<Vec<serde_json::Value>>);
    impl Sink for Collect {
        fn event(&self, event: &Event) {
            let mut json = serde_json::to_value(event).unwrap();
            json.as_object_mut().unwrap().remove("t_ms");
            self.0.lock().unwrap().push(json);
        }
    }

    #[test]
    fn changes_reach_the_journal_in_aws_words_and_departures_as_gone() {
        let bus = Arc::new(Bus::default());
        let sink = Arc::new(Collect::default());
        bus.subscribe(sink.clone());
        let recorder = Recorder::new(bus);
        recorder.targets(&[TargetHealth {
            id: "i-1".into(),
            port: 80,
            state: TargetState::Unhealthy,
            reason: Some(TargetReason::ResponseCodeMismatch),
            description: Some("Health checks failed with these codes: [503]".into()),
        }]);
        recorder.targets(&[]);
        recorder.instances(&[InstanceInfo {
            id: "i-1".into(),
            az: "local-1a".into(),
            state: InstanceState::ShuttingDown,
            health: GroupHealth::Unhealthy,
            profile: "p".into(),
            version: Some(1),
        }]);
        recorder.instances(&[]);
        let got = sink.0.lock().unwrap().clone();
        let want = [
            r#"{"event":"target","id":"i-1","state":"unhealthy","reason":"Target.ResponseCodeMismatch"}"#,
            r#"{"event":"target","id":"i-1","state":"gone","reason":null}"#,
            r#"{"event":"instance","id":"i-1","az":"local-1a","state":"shutting-down","health":"Unhealthy"}"#,
            r#"{"event":"instance","id":"i-1","az":"local-1a","state":"gone","health":""}"#,
        ]
        .map(|w| serde_json::from_str::<serde_json::Value>(w).unwrap());
        assert_eq!(got, want);
    }

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

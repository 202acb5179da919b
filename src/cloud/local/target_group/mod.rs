//! A target group: registered targets, real periodic HTTP health checks, and the
//! target states and reason codes AWS uses.

mod health;
#[cfg(test)]
mod tests;

use super::timing::Timing;
use crate::cloud::{TargetHealth, TargetReason, TargetState};
use crate::http::{HttpClient, HttpFailure};
use health::{Failure, State, Target};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The path the health checks request.
pub(crate) const HEALTH_CHECK_PATH: &str = "/healthcheck";

/// A target chosen for one request.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pick {
    /// The instance id.
    pub id: String,
    /// Its port.
    pub port: u16,
}

/// A target group of the local cloud.
pub(crate) struct TargetGroup {
    timing: Timing,
    /// Taken after an Auto Scaling group's state and before an instance's
    /// (the lock order is written at `AutoScalingGroup`'s state); never
    /// held while calling into a group.
    targets: Mutex<Vec<Target>>,
    in_use: AtomicBool,
    /// The round-robin counter of [`Self::pick`].
    #[cfg(test)]
    next: AtomicUsize,
}

impl TargetGroup {
    /// A target group with no targets, not yet used by a load balancer.
    pub(crate) fn new(timing: Timing) -> Self {
        TargetGroup {
            timing,
            targets: Mutex::new(Vec::new()),
            in_use: AtomicBool::new(false),
            #[cfg(test)]
            next: AtomicUsize::new(0),
        }
    }

    /// Marks the group as used by a listener: its targets start being checked.
    pub(crate) fn set_in_use(&self) {
        self.in_use.store(true, Ordering::SeqCst);
    }

    /// Registers a target (no-op if registered); it starts `initial`
    /// (`Elb.RegistrationInProgress` until its first health check goes out).
    pub(crate) fn register(&self, id: &str, port: u16) {
        let mut targets = self.lock();
        if let Some(t) = targets.iter_mut().find(|t| t.id == id) {
            if t.state == State::Draining {
                *t = Target::new(id, port);
            }
            return;
        }
        targets.push(Target::new(id, port));
    }

    /// Deregisters a target: it drains for the deregistration delay, then goes.
    pub(crate) fn deregister(&self, id: &str) {
        let deadline = Instant::now() + self.timing.deregistration_delay();
        if let Some(t) = self.lock().iter_mut().find(|t| t.id == id) {
            if t.state != State::Draining {
                t.state = State::Draining;
                t.drained_at = Some(deadline);
            }
        }
    }

    /// Health of every target, in AWS's words.
    pub(crate) fn health(&self) -> Vec<TargetHealth> {
        let in_use = self.in_use.load(Ordering::SeqCst);
        self.lock()
            .iter()
            .map(|t| {
                let (state, reason, description) = match (in_use, t.state) {
                    (_, State::Draining) => (
                        TargetState::Draining,
                        Some(TargetReason::DeregistrationInProgress),
                        Some("Target deregistration is in progress".to_string()),
                    ),
                    (false, _) => (
                        TargetState::Unused,
                        Some(TargetReason::NotInUse),
                        Some(
                            "Target group is not configured to receive traffic from the load balancer"
                                .to_string(),
                        ),
                    ),
                    (true, State::Initial) if !t.checked => (
                        TargetState::Initial,
                        Some(TargetReason::RegistrationInProgress),
                        Some(
                            "Target registration is in progress".to_string(),
                        ),
                    ),
                    (true, State::Initial) => (
                        TargetState::Initial,
                        Some(TargetReason::InitialHealthChecking),
                        Some("Initial health checks in progress".to_string()),
                    ),
                    (true, State::Healthy) => (TargetState::Healthy, None, None),
                    (true, State::Unhealthy) => {
                        let f = t.last_failure.clone().unwrap_or(Failure::Connection);
                        (TargetState::Unhealthy, Some(f.reason()), Some(f.description()))
                    }
                };
                TargetHealth {
                    id: t.id.clone(),
                    port: t.port,
                    state,
                    reason,
                    description,
                }
            })
            .collect()
    }

    /// Chooses the target for the next request: round robin over healthy
    /// targets; when none is healthy, fail open over every registered target
    /// that is not draining; `None` when there is no such target.
    #[cfg(test)]
    pub(crate) fn pick(&self) -> Option<Pick> {
        self.choose(&self.next, |t| Pick {
            id: t.id.clone(),
            port: t.port,
        })
    }

    /// The port of the target for the next request, chosen as [`Self::pick`]
    /// does with the round-robin counter `next` (each load balancer thread
    /// keeps its own), without allocating: the proxy calls it per request.
    pub(crate) fn pick_port(&self, next: &AtomicUsize) -> Option<u16> {
        self.choose(next, |t| t.port)
    }

    fn choose<R>(&self, next: &AtomicUsize, f: impl FnOnce(&Target) -> R) -> Option<R> {
        let targets = self.lock();
        let healthy = |t: &&Target| t.state == State::Healthy;
        let open = |t: &&Target| t.state != State::Draining;
        let n = next.fetch_add(1, Ordering::Relaxed);
        let count = targets.iter().filter(healthy).count();
        let t = if count > 0 {
            targets.iter().filter(healthy).nth(n % count)
        } else {
            let count = targets.iter().filter(open).count();
            if count == 0 {
                return None;
            }
            targets.iter().filter(open).nth(n % count)
        };
        t.map(f)
    }

    /// The client health checks go out with: as a load balancer node does,
    /// every check opens its own connection and closes it after the answer
    /// (no idle connections kept), and a connection not accepted within the
    /// health-check timeout is a time-out.
    pub(crate) fn health_check_client(&self) -> HttpClient {
        HttpClient::with_connect_timeout(0, self.timing.health_timeout())
    }

    /// Health-checks every target each interval until `stop`; removes targets
    /// whose draining is over (a listing of AWS's target health no longer
    /// shows a target once its deregistration is complete).
    pub(crate) async fn run_health_checks(&self, client: HttpClient, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.timing.health_interval());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let now = Instant::now();
            self.lock()
                .retain(|t| t.drained_at.is_none_or(|deadline| deadline > now));
            if !self.in_use.load(Ordering::SeqCst) {
                continue;
            }
            let due: Vec<(String, u16)> = self
                .lock()
                .iter_mut()
                .filter(|t| t.state != State::Draining)
                .map(|t| {
                    t.checked = true;
                    (t.id.clone(), t.port)
                })
                .collect();
            let mut checks = JoinSet::new();
            for (id, port) in due {
                let client = client.clone();
                let timeout = self.timing.health_timeout();
                checks.spawn(async move {
                    let url = format!("http://127.0.0.1:{port}{HEALTH_CHECK_PATH}");
                    let outcome = match client.get(&url, timeout).await {
                        Ok(r) if r.status == 200 => Ok(()),
                        Ok(r) => Err(Failure::Code(r.status)),
                        Err(HttpFailure::Timeout(_) | HttpFailure::ConnectTimeout(_)) => {
                            Err(Failure::Timeout)
                        }
                        Err(_) => Err(Failure::Connection),
                    };
                    (id, outcome)
                });
            }
            let results = tokio::select! {
                _ = stop.cancelled() => return,
                results = checks.join_all() => results,
            };
            let mut targets = self.lock();
            for (id, outcome) in results {
                if let Some(t) = targets.iter_mut().find(|t| t.id == id) {
                    t.record(outcome);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Target>> {
        crate::sync::lock(&self.targets)
    }
}

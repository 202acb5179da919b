//! A target group: registered targets, real periodic HTTP health checks, and the
//! target states and reason codes AWS uses.

use super::timing::{HEALTHY_THRESHOLD, Timing, UNHEALTHY_THRESHOLD};
use crate::cloud::TargetHealth;
use crate::http::{HttpClient, HttpFailure};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The path the health checks request.
pub const HEALTH_CHECK_PATH: &str = "/healthcheck";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
}

/// Why the last health check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Code(u16),
    Timeout,
    Connection,
}

impl Failure {
    fn reason(&self) -> &'static str {
        match self {
            Failure::Code(_) => "Target.ResponseCodeMismatch",
            Failure::Timeout => "Target.Timeout",
            Failure::Connection => "Target.FailedHealthChecks",
        }
    }

    fn description(&self) -> String {
        match self {
            Failure::Code(code) => format!("Health checks failed with these codes: [{code}]"),
            Failure::Timeout => "Request timed out".into(),
            Failure::Connection => "Health checks failed".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Target {
    id: String,
    port: u16,
    state: State,
    last_failure: Option<Failure>,
    ok_streak: u32,
    fail_streak: u32,
    drained_at: Option<Instant>,
}

/// A target chosen for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The instance id.
    pub id: String,
    /// Its port.
    pub port: u16,
}

/// A target group of the local cloud.
pub struct TargetGroup {
    /// Its name.
    pub name: String,
    timing: Timing,
    targets: Mutex<Vec<Target>>,
    in_use: AtomicBool,
    next: AtomicUsize,
}

impl TargetGroup {
    /// A target group with no targets, not yet used by a load balancer.
    pub fn new(name: &str, timing: Timing) -> Self {
        TargetGroup {
            name: name.to_string(),
            timing,
            targets: Mutex::new(Vec::new()),
            in_use: AtomicBool::new(false),
            next: AtomicUsize::new(0),
        }
    }

    /// Marks the group as used by a listener: its targets start being checked.
    pub fn set_in_use(&self) {
        self.in_use.store(true, Ordering::SeqCst);
    }

    /// Registers a target (no-op if registered); it starts `initial`.
    pub fn register(&self, id: &str, port: u16) {
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
    pub fn deregister(&self, id: &str) {
        let deadline = Instant::now() + self.timing.deregistration_delay();
        if let Some(t) = self.lock().iter_mut().find(|t| t.id == id) {
            if t.state != State::Draining {
                t.state = State::Draining;
                t.drained_at = Some(deadline);
            }
        }
    }

    /// Health of every target, in AWS's words.
    pub fn health(&self) -> Vec<TargetHealth> {
        let in_use = self.in_use.load(Ordering::SeqCst);
        self.lock()
            .iter()
            .map(|t| {
                let (state, reason, description) = match (in_use, t.state) {
                    (_, State::Draining) => (
                        "draining",
                        Some("Target.DeregistrationInProgress"),
                        Some("Target deregistration is in progress".to_string()),
                    ),
                    (false, _) => (
                        "unused",
                        Some("Target.NotInUse"),
                        Some(
                            "Target group is not configured to receive traffic from the load balancer"
                                .to_string(),
                        ),
                    ),
                    (true, State::Initial) => (
                        "initial",
                        Some("Elb.InitialHealthChecking"),
                        Some("Initial health checks in progress".to_string()),
                    ),
                    (true, State::Healthy) => ("healthy", None, None),
                    (true, State::Unhealthy) => {
                        let f = t.last_failure.clone().unwrap_or(Failure::Connection);
                        ("unhealthy", Some(f.reason()), Some(f.description()))
                    }
                };
                TargetHealth {
                    id: t.id.clone(),
                    port: t.port,
                    state: state.to_string(),
                    reason: reason.map(str::to_string),
                    description,
                }
            })
            .collect()
    }

    /// Chooses the target for the next request: round robin over healthy
    /// targets; when none is healthy, fail open over every registered target
    /// that is not draining; `None` when there is no such target.
    pub fn pick(&self) -> Option<Pick> {
        let targets = self.lock();
        let healthy: Vec<&Target> = targets
            .iter()
            .filter(|t| t.state == State::Healthy)
            .collect();
        let pool = if healthy.is_empty() {
            targets
                .iter()
                .filter(|t| t.state != State::Draining)
                .collect()
        } else {
            healthy
        };
        if pool.is_empty() {
            return None;
        }
        let t = pool[self.next.fetch_add(1, Ordering::Relaxed) % pool.len()];
        Some(Pick {
            id: t.id.clone(),
            port: t.port,
        })
    }

    /// Health-checks every target each interval until `stop`; removes targets
    /// whose draining is over.
    pub async fn run_health_checks(&self, client: HttpClient, stop: CancellationToken) {
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
                .iter()
                .filter(|t| t.state != State::Draining)
                .map(|t| (t.id.clone(), t.port))
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
                        Err(HttpFailure::Timeout(_)) => Err(Failure::Timeout),
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
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Target {
    fn new(id: &str, port: u16) -> Self {
        Target {
            id: id.to_string(),
            port,
            state: State::Initial,
            last_failure: None,
            ok_streak: 0,
            fail_streak: 0,
            drained_at: None,
        }
    }

    fn record(&mut self, outcome: Result<(), Failure>) {
        if self.state == State::Draining {
            return;
        }
        let before = self.state;
        tracing::trace!(target_id = %self.id, ?outcome, "health check");
        match outcome {
            Ok(()) => {
                self.ok_streak += 1;
                self.fail_streak = 0;
                if self.ok_streak >= HEALTHY_THRESHOLD {
                    self.state = State::Healthy;
                    self.last_failure = None;
                }
            }
            Err(failure) => {
                self.fail_streak += 1;
                self.ok_streak = 0;
                self.last_failure = Some(failure);
                if self.fail_streak >= UNHEALTHY_THRESHOLD {
                    self.state = State::Unhealthy;
                }
            }
        }
        if self.state != before {
            tracing::debug!(
                target_id = %self.id,
                from = ?before,
                to = ?self.state,
                failure = ?self.last_failure,
                "target health changed"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> TargetGroup {
        let tg = TargetGroup::new("tg", Timing::new(0.01));
        tg.set_in_use();
        tg.register("a", 1);
        tg.register("b", 2);
        tg
    }

    fn set(tg: &TargetGroup, id: &str, outcomes: &[Result<(), Failure>]) {
        let mut targets = tg.lock();
        let t = targets.iter_mut().find(|t| t.id == id).unwrap();
        for o in outcomes {
            t.record(o.clone());
        }
    }

    #[test]
    fn thresholds_move_targets_between_states_with_aws_reasons() {
        let tg = group();
        assert_eq!(tg.health()[0].state, "initial");
        assert_eq!(
            tg.health()[0].reason.as_deref(),
            Some("Elb.InitialHealthChecking")
        );
        set(&tg, "a", &[Ok(())]);
        assert_eq!(tg.health()[0].state, "initial", "one success is not enough");
        set(&tg, "a", &[Ok(())]);
        assert_eq!(tg.health()[0].state, "healthy");
        assert_eq!(tg.health()[0].reason, None);
        set(&tg, "a", &[Err(Failure::Code(503))]);
        assert_eq!(tg.health()[0].state, "healthy", "one failure is not enough");
        set(&tg, "a", &[Err(Failure::Code(503))]);
        let h = &tg.health()[0];
        assert_eq!(h.state, "unhealthy");
        assert_eq!(h.reason.as_deref(), Some("Target.ResponseCodeMismatch"));
        assert_eq!(
            h.description.as_deref(),
            Some("Health checks failed with these codes: [503]")
        );
    }

    #[test]
    fn routes_round_robin_over_healthy_and_fails_open_when_none_is() {
        let tg = group();
        set(&tg, "a", &[Ok(()), Ok(())]);
        let picks: Vec<_> = (0..4).map(|_| tg.pick().unwrap().id).collect();
        assert!(picks.iter().all(|p| p == "a"), "only the healthy one");
        set(&tg, "a", &[Err(Failure::Timeout), Err(Failure::Timeout)]);
        set(
            &tg,
            "b",
            &[Err(Failure::Connection), Err(Failure::Connection)],
        );
        let mut picks: Vec<_> = (0..4).map(|_| tg.pick().unwrap().id).collect();
        picks.sort();
        picks.dedup();
        assert_eq!(picks, vec!["a", "b"], "fail open over all targets");
        tg.deregister("a");
        tg.deregister("b");
        assert_eq!(tg.pick(), None, "draining targets get no new requests");
        assert!(tg.health().iter().all(|h| h.state == "draining"
            && h.reason.as_deref() == Some("Target.DeregistrationInProgress")));
    }

    /// At time scale 1 the health checks take AWS's own time: a target
    /// answering 200 turns healthy after two checks 10 s apart, and one
    /// answering 503 turns unhealthy after two more.
    #[tokio::test]
    async fn at_time_scale_one_health_checks_take_aws_time() {
        let timing = Timing::new(1.0);
        assert_eq!(timing.health_interval(), std::time::Duration::from_secs(10));
        assert_eq!(timing.health_timeout(), std::time::Duration::from_secs(5));
        assert_eq!(
            timing.deregistration_delay(),
            std::time::Duration::from_secs(30)
        );
        let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(200));
        let listener = crate::http::bind_loopback(0).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = CancellationToken::new();
        let answer = status.clone();
        tokio::spawn(crate::http::serve(listener, stop.clone(), move |_| {
            let code = answer.load(Ordering::SeqCst);
            async move { Ok(crate::http::response(code, "text/plain", "")) }
        }));
        let tg = std::sync::Arc::new(TargetGroup::new("tg", timing));
        tg.set_in_use();
        tg.register("a", port);
        let checker = tg.clone();
        let checks = stop.clone();
        tokio::spawn(async move { checker.run_health_checks(HttpClient::new(2), checks).await });
        let started = Instant::now();
        let wait_for = |state: &'static str| {
            let tg = tg.clone();
            async move {
                while tg.health()[0].state != state {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        };
        wait_for("healthy").await;
        let to_healthy = started.elapsed().as_secs_f64();
        assert!(
            (9.0..12.0).contains(&to_healthy),
            "healthy after {to_healthy:.1} s"
        );
        status.store(503, Ordering::SeqCst);
        let failing = Instant::now();
        wait_for("unhealthy").await;
        let to_unhealthy = failing.elapsed().as_secs_f64();
        assert!(
            (10.0..21.0).contains(&to_unhealthy),
            "unhealthy after {to_unhealthy:.1} s"
        );
        stop.cancel();
    }

    #[test]
    fn not_in_use_is_unused() {
        let tg = TargetGroup::new("tg", Timing::new(0.01));
        tg.register("a", 1);
        assert_eq!(tg.health()[0].state, "unused");
    }
}

//! One target's health: its state, the reason of its last failed check, and
//! the thresholds that move it between AWS's states.

use super::super::timing::{HEALTHY_THRESHOLD, UNHEALTHY_THRESHOLD};
use crate::cloud::TargetReason;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
}

/// Why the last health check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    Code(u16),
    Timeout,
    Connection,
}

impl Failure {
    pub(super) fn reason(&self) -> TargetReason {
        match self {
            Failure::Code(_) => TargetReason::ResponseCodeMismatch,
            Failure::Timeout => TargetReason::Timeout,
            Failure::Connection => TargetReason::FailedHealthChecks,
        }
    }

    pub(super) fn description(&self) -> String {
        match self {
            Failure::Code(code) => format!("Health checks failed with these codes: [{code}]"),
            Failure::Timeout => "Request timed out".into(),
            Failure::Connection => "Health checks failed".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) id: String,
    pub(super) port: u16,
    pub(super) state: State,
    pub(super) last_failure: Option<Failure>,
    pub(super) ok_streak: u32,
    pub(super) fail_streak: u32,
    /// Its first health check went out: registration is complete.
    pub(super) checked: bool,
    pub(super) drained_at: Option<Instant>,
}

impl Target {
    pub(super) fn new(id: &str, port: u16) -> Self {
        Target {
            id: id.to_string(),
            port,
            state: State::Initial,
            last_failure: None,
            ok_streak: 0,
            fail_streak: 0,
            checked: false,
            drained_at: None,
        }
    }

    pub(super) fn record(&mut self, outcome: Result<(), Failure>) {
        if self.state == State::Draining {
            return;
        }
        let before = self.state;
        tracing::trace!(target_id = %self.id, ?outcome, "health check");
        match outcome {
            Ok(()) => {
                self.ok_streak += 1;
                self.fail_streak = 0;
                // AWS: a newly registered target is healthy after one passing
                // check; an unhealthy one needs the healthy threshold.
                let needed = if self.state == State::Initial {
                    1
                } else {
                    HEALTHY_THRESHOLD
                };
                if self.ok_streak >= needed {
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

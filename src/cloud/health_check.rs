//! The target group's health-check settings, the same on both backends
//! (the reference example's): the one place they are written. AWS's target
//! group is created with them, the local cloud checks with them (its
//! seconds scaled), and every journal's header records them, so a fault's
//! time to detect can be set beside what they promise.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the load balancer checks its targets (seconds of cloud time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthCheckSettings {
    /// Seconds between two checks of a target.
    pub interval_s: u32,
    /// Seconds a check waits for an answer.
    pub timeout_s: u32,
    /// Consecutive passing checks that make an unhealthy target healthy.
    pub healthy_threshold: u32,
    /// Consecutive failing checks that make a healthy target unhealthy.
    pub unhealthy_threshold: u32,
}

/// The target group's settings: a check every 10 s, 5 s to answer, 2
/// passing checks to be healthy again and 2 failing to be unhealthy.
pub const TARGET_GROUP: HealthCheckSettings = HealthCheckSettings {
    interval_s: 10,
    timeout_s: 5,
    healthy_threshold: 2,
    unhealthy_threshold: 2,
};

impl HealthCheckSettings {
    /// The longest a healthy target can take to be found unhealthy once it
    /// fails every check: a whole interval before its first failing check
    /// starts, then the failing checks, the last one timing out — `threshold
    /// × interval + timeout` ("2 × 10 s + 5 s allows 25 s"), in cloud ms.
    pub fn detect_within_ms(&self) -> u64 {
        u64::from(self.unhealthy_threshold * self.interval_s + self.timeout_s) * 1000
    }

    /// The soonest: the first check after the fault fails at once, and
    /// `threshold − 1` more follow an interval apart, in cloud ms.
    pub fn detect_after_ms(&self) -> u64 {
        u64::from(self.unhealthy_threshold.saturating_sub(1) * self.interval_s) * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_follow_the_settings() {
        assert_eq!(TARGET_GROUP.detect_within_ms(), 25_000);
        assert_eq!(TARGET_GROUP.detect_after_ms(), 10_000);
        let three = HealthCheckSettings {
            interval_s: 30,
            timeout_s: 10,
            healthy_threshold: 5,
            unhealthy_threshold: 3,
        };
        assert_eq!(three.detect_within_ms(), 100_000);
        assert_eq!(three.detect_after_ms(), 60_000);
    }
}

//! Cloud time on the local cloud: AWS's durations, scaled so a demo takes seconds.

use std::time::Duration;

/// AWS-like durations (in seconds of cloud time) the local cloud models.
mod aws_seconds {
    use crate::cloud::health_check::TARGET_GROUP;
    pub(super) const HEALTH_INTERVAL: f64 = TARGET_GROUP.interval_s as f64;
    pub(super) const HEALTH_TIMEOUT: f64 = TARGET_GROUP.timeout_s as f64;
    pub(super) const DEREGISTRATION_DELAY: f64 = 30.0;
    /// From launch to `running` (EC2: typically 10-30 s).
    pub(super) const PENDING: f64 = 15.0;
    /// From `running` until the server answers: the system boots, cloud-init
    /// runs the user data (`dnf install`), systemd starts the server (EC2 with
    /// Amazon Linux 2023: typically 30-90 s).
    pub(super) const BOOT: f64 = 45.0;
    /// A reboot: first the operating system is down and nothing answers
    /// (not even a SYN)...
    pub(super) const REBOOT_UNREACHABLE: f64 = 20.0;
    /// ...then the system is back but the service not yet started:
    /// connections are refused.
    pub(super) const REBOOT_REFUSING: f64 = 10.0;
    /// systemd's `RestartSec` of the shipped unit: a crashed service is back after it.
    pub(super) const RESTART: f64 = 2.0;
    pub(super) const SHUTDOWN: f64 = 5.0;
    pub(super) const SCALING_TICK: f64 = 5.0;
    pub(super) const IDLE_TIMEOUT: f64 = 60.0;
    /// An Application Load Balancer's connection timeout towards a target.
    pub(super) const CONNECT_TIMEOUT: f64 = 10.0;
    /// EC2 runs its status checks every minute: an impaired instance is
    /// reported so by the next one.
    pub(super) const STATUS_CHECK: f64 = 60.0;
    /// How long a service process uses the parameters it read before it
    /// reads them again: Parameter Store allows 40 reads per second per
    /// account and region by default, so the shipped server reads at most
    /// once a second (`RESILIENT_PARAMETER_MAX_AGE`), and so do local ones.
    pub(super) const PARAMETER_MAX_AGE: f64 = 1.0;
}

/// Health-check thresholds (not scaled: they count checks).
pub(crate) const HEALTHY_THRESHOLD: u32 =
    crate::cloud::health_check::TARGET_GROUP.healthy_threshold;
/// Consecutive failures that make a target unhealthy.
pub(crate) const UNHEALTHY_THRESHOLD: u32 =
    crate::cloud::health_check::TARGET_GROUP.unhealthy_threshold;

/// Converts cloud durations to wall-clock durations with one scale factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Wall seconds per cloud second (0.1: ten times faster than AWS).
    pub scale: f64,
}

impl Timing {
    /// A timing with the given scale.
    pub fn new(scale: f64) -> Self {
        Timing { scale }
    }

    /// `cloud_seconds` of cloud time, on the wall clock.
    pub(crate) fn seconds(&self, cloud_seconds: f64) -> Duration {
        self.scaled(cloud_seconds)
    }

    fn scaled(&self, cloud_seconds: f64) -> Duration {
        Duration::from_secs_f64(cloud_seconds * self.scale)
    }

    /// Time between two health checks of a target.
    pub fn health_interval(&self) -> Duration {
        self.scaled(aws_seconds::HEALTH_INTERVAL)
    }
    /// How long a health check waits for an answer (never under 100 ms of wall time,
    /// so a loaded machine does not fail healthy targets).
    pub fn health_timeout(&self) -> Duration {
        self.scaled(aws_seconds::HEALTH_TIMEOUT)
            .max(Duration::from_millis(100))
    }
    /// How long a deregistered target stays `draining`.
    pub fn deregistration_delay(&self) -> Duration {
        self.scaled(aws_seconds::DEREGISTRATION_DELAY)
    }
    /// How long a launched instance stays `pending`.
    pub fn pending(&self) -> Duration {
        self.scaled(aws_seconds::PENDING)
    }
    /// From `running` until the web server answers.
    pub fn boot(&self) -> Duration {
        self.scaled(aws_seconds::BOOT)
    }
    /// How long a rebooting instance answers nothing at all (its operating
    /// system is down): the load balancer's connections time out.
    pub fn reboot_unreachable(&self) -> Duration {
        self.scaled(aws_seconds::REBOOT_UNREACHABLE)
    }
    /// How long after that it refuses connections (up, its server not yet).
    pub fn reboot_refusing(&self) -> Duration {
        self.scaled(aws_seconds::REBOOT_REFUSING)
    }
    /// How long a crashed service process stays down before its supervisor restarts it.
    pub fn restart(&self) -> Duration {
        self.scaled(aws_seconds::RESTART)
    }
    /// How long an instance stays `shutting-down`.
    pub fn shutdown(&self) -> Duration {
        self.scaled(aws_seconds::SHUTDOWN)
    }
    /// How often the Auto Scaling group reconciles.
    pub fn scaling_tick(&self) -> Duration {
        self.scaled(aws_seconds::SCALING_TICK)
    }
    /// How long the load balancer waits for a target's answer before a 504.
    pub fn idle_timeout(&self) -> Duration {
        self.scaled(aws_seconds::IDLE_TIMEOUT)
            .max(Duration::from_secs(1))
    }
    /// How long the load balancer waits for a target to accept a connection
    /// before a 504 (never under 100 ms of wall time, as health checks).
    pub fn connect_timeout(&self) -> Duration {
        self.scaled(aws_seconds::CONNECT_TIMEOUT)
            .max(Duration::from_millis(100))
    }
    /// How long an instance stays impaired before EC2's status checks say so
    /// and the group counts it unhealthy.
    pub fn status_check(&self) -> Duration {
        self.scaled(aws_seconds::STATUS_CHECK)
    }
    /// How old the parameters a service process uses may be: it reads them
    /// at most once per this, and a change reaches every request within it.
    pub fn parameter_max_age(&self) -> Duration {
        self.scaled(aws_seconds::PARAMETER_MAX_AGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_applies_to_every_duration() {
        let t = Timing::new(0.1);
        assert_eq!(t.health_interval(), Duration::from_secs(1));
        assert_eq!(t.deregistration_delay(), Duration::from_secs(3));
        assert_eq!(t.connect_timeout(), Duration::from_secs(1));
        assert_eq!(t.status_check(), Duration::from_secs(6));
        assert_eq!(t.parameter_max_age(), Duration::from_millis(100));
        assert_eq!(
            Timing::new(0.001).health_timeout(),
            Duration::from_millis(100)
        );
    }
}

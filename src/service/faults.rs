//! The faults an instance reads from the fault parameter (with the other
//! parameters, at most once per max age): latency and errors of every table
//! read, and hangs and crashes of single instances' service processes. The
//! Rust service and the shipped Python server read the same JSON.

use super::DependencyError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Faults injected into the dependency (the table), as instances see them:
/// read from the fault parameter (at most once per max age), applied before
/// every read of the table. Stored as JSON `{"latency_ms": 200, "error_rate": 0.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DependencyFault {
    /// Extra latency of every table read (0 to 60000 ms).
    #[serde(default)]
    pub latency_ms: u64,
    /// Fraction (0 to 1) of table reads that fail.
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction (0 to 1) of table reads the table throttles: they fail
    /// with `ProvisionedThroughputExceededException`, as reads beyond a
    /// table's provisioned capacity do once the SDK's retries are spent.
    #[serde(default)]
    pub throttle_rate: f64,
}

impl DependencyFault {
    /// The longest injected latency.
    pub const MAX_LATENCY_MS: u64 = 60_000;

    /// Reads the parameter value: anything unreadable means no fault, and
    /// values are kept inside their ranges.
    pub fn parse(value: &str) -> Self {
        let f: DependencyFault = serde_json::from_str(value).unwrap_or_default();
        let fraction = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        DependencyFault {
            latency_ms: f.latency_ms.min(Self::MAX_LATENCY_MS),
            error_rate: fraction(f.error_rate),
            throttle_rate: fraction(f.throttle_rate),
        }
    }

    /// The parameter value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Waits the injected latency, then fails by the injected throttle
    /// and error rates.
    pub(super) async fn apply(&self) -> Result<(), DependencyError> {
        if self.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.latency_ms)).await;
        }
        if self.throttle_rate > 0.0 && fastrand::f64() < self.throttle_rate {
            return Err(DependencyError {
                code: THROTTLED.into(),
                message: "The level of configured provisioned throughput for the table was exceeded (injected)".into(),
            });
        }
        if self.error_rate > 0.0 && fastrand::f64() < self.error_rate {
            return Err(DependencyError {
                code: "InternalServerError".into(),
                message: "injected dependency error".into(),
            });
        }
        Ok(())
    }
}

/// The error code of a throttled table read.
pub(crate) const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// The fault parameter's whole value: the dependency fault, plus faults of
/// single instances' service processes. JSON, e.g.
/// `{"latency_ms": 200, "error_rate": 0, "hang": ["i-1"], "crash": {"i-2": "7f3a"}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Latency and errors of every table read.
    #[serde(flatten)]
    pub dependency: DependencyFault,
    /// Instances whose service hangs: it keeps accepting connections and
    /// does not answer while listed (health checks time out:
    /// `Target.Timeout`); requests still waiting when it is lifted are
    /// answered then.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub hang: BTreeSet<String>,
    /// Instances whose service process crashes once: id → a crash token. The
    /// process exits at its next request, its supervisor restarts it, and the
    /// restarted process knows the token and does not crash again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crash: BTreeMap<String, String>,
    /// Instances whose health check flaps: id → `[healthy_ms,
    /// unhealthy_ms]` in cloud ms. The health check answers 200 for
    /// `healthy_ms`, then 503 for `unhealthy_ms`, and so on (cycles counted
    /// from the Unix epoch); requests are answered as usual.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flap: BTreeMap<String, [u64; 2]>,
    /// Parameter Store is unavailable to the instances: every read of the
    /// parameters fails (`InternalServerError`), so a server keeps its last
    /// good values, and one that starts meanwhile has none. (The server
    /// still reads, to learn when the outage ends.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parameter_store_down: bool,
}

impl Faults {
    /// Reads the parameter value: anything unreadable means no fault.
    pub fn parse(value: &str) -> Self {
        let mut f: Faults = serde_json::from_str(value).unwrap_or_default();
        f.dependency =
            DependencyFault::parse(&serde_json::to_string(&f.dependency).unwrap_or_default());
        f
    }

    /// The parameter value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Whether `instance`'s health check is in a failing phase of its flap
    /// at `now` (since the Unix epoch), with `cloud_second` the wall length
    /// of one cloud second.
    pub(crate) fn flapping_down(
        &self,
        instance: &str,
        now: std::time::Duration,
        cloud_second: std::time::Duration,
    ) -> bool {
        let Some(&[up_ms, down_ms]) = self.flap.get(instance) else {
            return false;
        };
        let second = cloud_second.as_secs_f64();
        let (up, down) = (
            second * up_ms as f64 / 1000.0,
            second * down_ms as f64 / 1000.0,
        );
        down > 0.0 && now.as_secs_f64() % (up + down) >= up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_values_parse_leniently_and_stay_in_range() {
        let f = DependencyFault::parse(r#"{"latency_ms": 250, "error_rate": 0.5}"#);
        assert_eq!((f.latency_ms, f.error_rate), (250, 0.5));
        assert_eq!(DependencyFault::parse(&f.to_json()), f);
        assert_eq!(DependencyFault::parse("none"), DependencyFault::default());
        assert_eq!(DependencyFault::parse(""), DependencyFault::default());
        let f = DependencyFault::parse(r#"{"latency_ms": 99999999, "error_rate": 7}"#);
        assert_eq!((f.latency_ms, f.error_rate), (60_000, 1.0));
        assert_eq!(
            DependencyFault::parse(r#"{"error_rate": -1}"#).error_rate,
            0.0
        );
        let f = DependencyFault::parse(r#"{"throttle_rate": 3}"#);
        assert_eq!((f.throttle_rate, f.error_rate), (1.0, 0.0));
    }

    #[test]
    fn a_flap_alternates_phases_of_its_length_in_cloud_time() {
        let f = Faults::parse(r#"{"flap": {"i-1": [3000, 1000]}, "parameter_store_down": true}"#);
        assert!(f.parameter_store_down);
        assert_eq!(Faults::parse(&f.to_json()), f);
        let ms = std::time::Duration::from_millis;
        // One cloud second is 50 ms: 150 ms healthy, 50 ms not, in cycles of 200 ms.
        let down: Vec<bool> = [10, 140, 160, 210, 360]
            .map(|t| f.flapping_down("i-1", ms(t), ms(50)))
            .to_vec();
        assert_eq!(down, [false, false, true, false, true]);
        assert!(!f.flapping_down("i-2", ms(110), ms(50)));
    }

    #[tokio::test]
    async fn a_throttled_read_fails_with_aws_s_code() {
        let f = DependencyFault::parse(r#"{"throttle_rate": 1}"#);
        assert_eq!(f.apply().await.unwrap_err().code, THROTTLED);
    }
}

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
}

impl DependencyFault {
    /// The longest injected latency.
    pub const MAX_LATENCY_MS: u64 = 60_000;

    /// Reads the parameter value: anything unreadable means no fault, and
    /// values are kept inside their ranges.
    pub fn parse(value: &str) -> Self {
        let f: DependencyFault = serde_json::from_str(value).unwrap_or_default();
        DependencyFault {
            latency_ms: f.latency_ms.min(Self::MAX_LATENCY_MS),
            error_rate: if f.error_rate.is_finite() {
                f.error_rate.clamp(0.0, 1.0)
            } else {
                0.0
            },
        }
    }

    /// The parameter value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Waits the injected latency, then fails by the injected error rate.
    pub(super) async fn apply(&self) -> Result<(), DependencyError> {
        if self.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.latency_ms)).await;
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
    }
}

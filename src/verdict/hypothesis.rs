//! A hypothesis: a claim about what customers see, judged from the journal
//! after the fact. It records a verdict and never stops the run (guardrails
//! — a load's `stop_below` — stop it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a claim held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not.
    Fail,
    /// Nothing shows either way (no load ran when it mattered, the run was
    /// interrupted).
    Inconclusive,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
        })
    }
}

/// A claim and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hypothesis {
    /// The claim.
    pub name: String,
    /// Whether it held.
    pub outcome: Outcome,
    /// Why, in words.
    pub detail: String,
}

impl Hypothesis {
    /// The steady state: every window before the first fault (every window
    /// when there is none) met the objective. `windows`: how many there
    /// were; `missed`: how many of them missed it.
    pub fn steady_state(windows: usize, missed: usize) -> Self {
        let name = "customers are served within the objective before any fault".to_string();
        let (outcome, detail) = match (windows, missed) {
            (0, _) => (
                Outcome::Inconclusive,
                "no load ran before the first fault".to_string(),
            ),
            (n, 0) => (Outcome::Pass, format!("all {n} windows met it")),
            (n, m) => (Outcome::Fail, format!("{m} of {n} windows missed it")),
        };
        Hypothesis {
            name,
            outcome,
            detail,
        }
    }

    /// A fault's: customers are served within the objective again (within
    /// `within_ms` cloud ms of the fault, when given). `loaded`: a load ran
    /// after it; `harmed`: a window missed the objective; `recover_ms`: when
    /// it held again.
    pub fn of_fault(
        what: &str,
        loaded: bool,
        harmed: bool,
        recover_ms: Option<u64>,
        within_ms: Option<u64>,
    ) -> Self {
        let name = match within_ms {
            Some(ms) => format!(
                "customers are served within the objective again within {} s of: {what}",
                ms as f64 / 1000.0
            ),
            None => format!("customers are served within the objective again after: {what}"),
        };
        let secs = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
        let (outcome, detail) = match (loaded, harmed, recover_ms, within_ms) {
            (false, ..) => (
                Outcome::Inconclusive,
                "no load ran after the fault".to_string(),
            ),
            (true, false, ..) => (Outcome::Pass, "every window met the objective".into()),
            (true, true, None, _) => (
                Outcome::Fail,
                "the objective never held again while load ran".into(),
            ),
            (true, true, Some(r), Some(w)) if r > w => (
                Outcome::Fail,
                format!("held again after {}, later than {}", secs(r), secs(w)),
            ),
            (true, true, Some(r), _) => (Outcome::Pass, format!("held again after {}", secs(r))),
        };
        Hypothesis {
            name,
            outcome,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_hypothesis_needs_load_and_a_recovery_in_time() {
        let o = |loaded, harmed, r, w| Hypothesis::of_fault("x", loaded, harmed, r, w).outcome;
        assert_eq!(o(false, false, None, None), Outcome::Inconclusive);
        assert_eq!(o(true, false, Some(0), Some(1)), Outcome::Pass);
        assert_eq!(o(true, true, None, None), Outcome::Fail);
        assert_eq!(o(true, true, Some(5000), Some(4000)), Outcome::Fail);
        assert_eq!(o(true, true, Some(4000), Some(4000)), Outcome::Pass);
        assert_eq!(o(true, true, Some(9000), None), Outcome::Pass);
        assert_eq!(
            Hypothesis::steady_state(0, 0).outcome,
            Outcome::Inconclusive
        );
        assert_eq!(Hypothesis::steady_state(4, 1).outcome, Outcome::Fail);
        assert_eq!(Hypothesis::steady_state(4, 0).outcome, Outcome::Pass);
    }
}

//! How a run ended, decided in one place from what the end of a run knows:
//! the exit code of the contract ([`Exit`]) and the reason in words that the
//! outcome line, the journal, JUnit and the report all carry.

use resilient::Exit;

/// What the end of a run knows.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// The script's error, if it ended with one (a stop condition and an
    /// interruption end it with one too).
    pub error: Option<String>,
    /// Ctrl-C, SIGTERM or SIGHUP stopped it.
    pub interrupted: bool,
    /// A guardrail (a load's stop condition) stopped it: the condition.
    pub stopped: Option<String>,
    /// Why rolling back the injected faults failed, if it did.
    pub rollback_failed: Option<String>,
    /// Resources a destroy could not delete (and no later destroy did).
    pub left_behind: Vec<String>,
    /// Checks run, and of them failed.
    pub checks: (usize, usize),
    /// The hypotheses that failed (only those of a declared objective).
    pub hypotheses_failed: Vec<String>,
    /// Figures worse than the baseline beyond the tolerance.
    pub regressions: usize,
}

impl Facts {
    /// The exit code and the reason. The most pressing comes first: what is
    /// left broken or deployed, then a decision from outside (interrupt,
    /// guardrail), then an error, then what the run measured.
    pub(super) fn ending(&self) -> (Exit, Option<String>) {
        if let Some(why) = &self.rollback_failed {
            return (
                Exit::Incomplete,
                Some(format!("the faults could not be rolled back: {why}")),
            );
        }
        if !self.left_behind.is_empty() {
            return (
                Exit::Incomplete,
                Some(format!(
                    "destroy left {} resource(s) behind: {}",
                    self.left_behind.len(),
                    self.left_behind.join(", ")
                )),
            );
        }
        if let Some(why) = &self.stopped {
            return (
                Exit::Stopped,
                Some(format!("stopped by a guardrail: {why}")),
            );
        }
        if self.interrupted && self.error.is_some() {
            return (Exit::Interrupted, Some("interrupted".to_string()));
        }
        if let Some(error) = &self.error {
            let first = error.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            return (Exit::Failure, Some(format!("script error: {first}")));
        }
        let (total, failed) = self.checks;
        let mut failures = Vec::new();
        if failed > 0 {
            failures.push(format!("{failed} of {total} checks failed"));
        }
        if !self.hypotheses_failed.is_empty() {
            failures.push(format!(
                "hypotheses failed: {}",
                self.hypotheses_failed.join("; ")
            ));
        }
        if !failures.is_empty() {
            return (Exit::CheckFailed, Some(failures.join("; ")));
        }
        if self.regressions > 0 {
            return (
                Exit::Regressed,
                Some(format!(
                    "{} figure(s) worse than the baseline beyond the tolerance",
                    self.regressions
                )),
            );
        }
        (Exit::Success, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            checks: (4, 0),
            ..Facts::default()
        }
    }

    #[test]
    fn a_clean_run_passes_without_a_reason() {
        assert_eq!(facts().ending(), (Exit::Success, None));
    }

    #[test]
    fn each_ending_has_its_code_and_says_why() {
        let cases: Vec<(Facts, Exit, &str)> = vec![
            (
                Facts {
                    checks: (4, 1),
                    ..facts()
                },
                Exit::CheckFailed,
                "1 of 4 checks failed",
            ),
            (
                Facts {
                    hypotheses_failed: vec!["fault 1: customers saw 3 windows below".into()],
                    ..facts()
                },
                Exit::CheckFailed,
                "hypotheses failed: fault 1",
            ),
            (
                Facts {
                    error: Some("stopped: rate".into()),
                    stopped: Some("success rate 0.4 < 0.9".into()),
                    ..facts()
                },
                Exit::Stopped,
                "guardrail: success rate 0.4",
            ),
            (
                Facts {
                    error: Some("bad thing\n at line 3".into()),
                    ..facts()
                },
                Exit::Failure,
                "script error: bad thing",
            ),
            (
                Facts {
                    error: Some("interrupted".into()),
                    interrupted: true,
                    ..facts()
                },
                Exit::Interrupted,
                "interrupted",
            ),
            (
                Facts {
                    regressions: 2,
                    ..facts()
                },
                Exit::Regressed,
                "2 figure(s) worse",
            ),
            (
                Facts {
                    error: Some("destroy left 1 resource(s) behind".into()),
                    left_behind: vec!["load balancer lb".into()],
                    ..facts()
                },
                Exit::Incomplete,
                "load balancer lb",
            ),
        ];
        for (f, exit, words) in cases {
            let (got, why) = f.ending();
            assert_eq!(got, exit, "{f:?}");
            let why = why.unwrap_or_default();
            assert!(why.contains(words), "{why:?} does not say {words:?}");
        }
    }

    #[test]
    fn what_is_left_broken_outranks_everything_else() {
        let f = Facts {
            error: Some("interrupted".into()),
            interrupted: true,
            rollback_failed: Some("unknown parameter".into()),
            checks: (3, 2),
            regressions: 1,
            ..Facts::default()
        };
        assert_eq!(f.ending().0, Exit::Incomplete);
        // A failed check outranks a regression: the run did not hold at all.
        let f = Facts {
            checks: (3, 1),
            regressions: 4,
            ..Facts::default()
        };
        assert_eq!(f.ending().0, Exit::CheckFailed);
    }
}

//! The ledger of injected faults: what the script API's `failure::`
//! functions broke and have not put back yet, so a run that ends badly can
//! roll it back (see [`rollback`](super::rollback)).

use std::sync::Mutex;

/// Faults injected and not reverted yet, in words, in injection order.
#[derive(Debug, Default)]
pub struct Ledger {
    injected: Mutex<Vec<String>>,
}

impl Ledger {
    /// Records a fault about to be injected (once: the same words twice are
    /// one fault), so it can be rolled back.
    pub fn record(&self, what: impl Into<String>) {
        let what = what.into();
        let mut faults = crate::sync::lock(&self.injected);
        if !faults.contains(&what) {
            faults.push(what);
        }
    }

    /// Forgets every recorded fault (after `failure::reset()`, a destroy or
    /// a rollback).
    pub fn clear(&self) {
        crate::sync::lock(&self.injected).clear();
    }

    /// The faults injected and not reverted yet.
    pub fn faults(&self) -> Vec<String> {
        crate::sync::lock(&self.injected).clone()
    }

    /// Whether nothing is left to roll back.
    pub fn is_empty(&self) -> bool {
        crate::sync::lock(&self.injected).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn faults_are_kept_once_in_injection_order_until_cleared() {
        let ledger = Ledger::default();
        assert!(ledger.is_empty());
        ledger.record("zone a out");
        ledger.record("5 ms dependency latency");
        ledger.record("zone a out");
        assert_eq!(
            ledger.faults(),
            ["zone a out", "5 ms dependency latency"].map(String::from)
        );
        ledger.clear();
        assert!(ledger.is_empty());
    }
}

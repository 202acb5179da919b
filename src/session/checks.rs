//! The steady-state checks a run recorded, for its verdict.

use super::CheckRecord;
use std::sync::Mutex;

/// Every check recorded so far, in order.
#[derive(Debug, Default)]
pub struct Checks {
    records: Mutex<Vec<CheckRecord>>,
}

impl Checks {
    /// Records a check outcome.
    pub fn record(&self, record: CheckRecord) {
        crate::sync::lock(&self.records).push(record);
    }

    /// Every check recorded so far.
    pub fn all(&self) -> Vec<CheckRecord> {
        crate::sync::lock(&self.records).clone()
    }
}

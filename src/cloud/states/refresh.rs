//! An instance refresh's status, as EC2 Auto Scaling names it
//! (`InstanceRefreshStatus`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The status of an instance refresh (a rolling update of the group).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefreshStatus {
    /// The request was accepted; replacing has not started yet.
    Pending,
    /// Instances are being replaced.
    InProgress,
    /// Every instance was replaced.
    Successful,
    /// The refresh stopped: replacements did not become healthy.
    Failed,
    /// A cancel was asked for; the batch in flight finishes.
    Cancelling,
    /// Cancelled: instances replaced so far stay.
    Cancelled,
    /// Going back to the previous configuration.
    RollbackInProgress,
    /// The rollback could not complete.
    RollbackFailed,
    /// Back on the previous configuration.
    RollbackSuccessful,
    /// Every instance replaced; waiting the bake time before `Successful`.
    Baking,
    /// A status this version does not know: the SDK's enum is open, so a
    /// newer word is kept as sent.
    Other(String),
}

words!(open RefreshStatus {
    Pending => "Pending",
    InProgress => "InProgress",
    Successful => "Successful",
    Failed => "Failed",
    Cancelling => "Cancelling",
    Cancelled => "Cancelled",
    RollbackInProgress => "RollbackInProgress",
    RollbackFailed => "RollbackFailed",
    RollbackSuccessful => "RollbackSuccessful",
    Baking => "Baking",
});

impl RefreshStatus {
    /// Whether the refresh is still running (AWS allows one such refresh per
    /// group: starting another fails with `InstanceRefreshInProgress`).
    pub fn active(&self) -> bool {
        matches!(
            self,
            RefreshStatus::Pending
                | RefreshStatus::InProgress
                | RefreshStatus::Cancelling
                | RefreshStatus::RollbackInProgress
                | RefreshStatus::Baking
        )
    }
}

//! The SDK's enums turned into the cloud's typed states, variant by variant
//! (a value the SDK does not know either is kept as sent).

use crate::cloud::{GroupHealth, InstanceState, TargetReason, TargetState};
use aws_sdk_autoscaling::types::LifecycleState;
use aws_sdk_ec2::types::InstanceStateName;
use aws_sdk_elasticloadbalancingv2::types::{TargetHealthReasonEnum, TargetHealthStateEnum};

impl From<&TargetHealthStateEnum> for TargetState {
    fn from(s: &TargetHealthStateEnum) -> Self {
        match s {
            TargetHealthStateEnum::Initial => TargetState::Initial,
            TargetHealthStateEnum::Healthy => TargetState::Healthy,
            TargetHealthStateEnum::Unhealthy => TargetState::Unhealthy,
            TargetHealthStateEnum::UnhealthyDraining => TargetState::UnhealthyDraining,
            TargetHealthStateEnum::Draining => TargetState::Draining,
            TargetHealthStateEnum::Unused => TargetState::Unused,
            TargetHealthStateEnum::Unavailable => TargetState::Unavailable,
            other => TargetState::Other(other.as_str().to_string()),
        }
    }
}

impl From<&TargetHealthReasonEnum> for TargetReason {
    fn from(r: &TargetHealthReasonEnum) -> Self {
        use TargetHealthReasonEnum as R;
        match r {
            R::RegistrationInProgress => TargetReason::RegistrationInProgress,
            R::InitialHealthChecking => TargetReason::InitialHealthChecking,
            R::InternalError => TargetReason::InternalError,
            R::ResponseCodeMismatch => TargetReason::ResponseCodeMismatch,
            R::Timeout => TargetReason::Timeout,
            R::FailedHealthChecks => TargetReason::FailedHealthChecks,
            R::NotRegistered => TargetReason::NotRegistered,
            R::NotInUse => TargetReason::NotInUse,
            R::DeregistrationInProgress => TargetReason::DeregistrationInProgress,
            R::InvalidState => TargetReason::InvalidState,
            R::IpUnusable => TargetReason::IpUnusable,
            R::HealthCheckDisabled => TargetReason::HealthCheckDisabled,
            other => TargetReason::Other(other.as_str().to_string()),
        }
    }
}

impl From<&InstanceStateName> for InstanceState {
    fn from(s: &InstanceStateName) -> Self {
        match s {
            InstanceStateName::Pending => InstanceState::Pending,
            InstanceStateName::Running => InstanceState::Running,
            InstanceStateName::ShuttingDown => InstanceState::ShuttingDown,
            InstanceStateName::Terminated => InstanceState::Terminated,
            InstanceStateName::Stopping => InstanceState::Stopping,
            InstanceStateName::Stopped => InstanceState::Stopped,
            other => InstanceState::Other(other.as_str().to_string()),
        }
    }
}

/// Whether the group is taking the instance out of service (any of the
/// `Terminating` states, or already `Terminated`).
pub(super) fn group_leaving(s: &LifecycleState) -> bool {
    use LifecycleState as L;
    matches!(
        s,
        L::Terminating
            | L::TerminatingWait
            | L::TerminatingProceed
            | L::TerminatingRetained
            | L::Terminated
    )
}

/// The EC2 state an instance is in while the group reports `s`: used
/// while EC2 does not list a new instance yet (it is eventually
/// consistent). Warm-pool and standby states have no EC2 equivalent we
/// could name with certainty: kept as the group's word.
pub(super) fn group_to_instance(s: &LifecycleState) -> InstanceState {
    use LifecycleState as L;
    match s {
        L::Pending | L::PendingWait | L::PendingProceed => InstanceState::Pending,
        L::InService => InstanceState::Running,
        L::Terminating | L::TerminatingWait | L::TerminatingProceed | L::TerminatingRetained => {
            InstanceState::ShuttingDown
        }
        L::Terminated => InstanceState::Terminated,
        other => InstanceState::Other(other.as_str().to_lowercase()),
    }
}

/// The group's health word (`Healthy`/`Unhealthy`, a plain string in the
/// SDK); anything else counts as unhealthy: the group replaces it.
pub(super) fn group_health(word: Option<&str>) -> GroupHealth {
    word.and_then(|w| w.parse().ok())
        .unwrap_or(GroupHealth::Unhealthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_words_and_ours_agree() {
        for s in TargetHealthStateEnum::values() {
            assert_eq!(
                TargetState::from(&TargetHealthStateEnum::from(*s)).as_str(),
                *s
            );
        }
        for r in TargetHealthReasonEnum::values() {
            assert_eq!(
                TargetReason::from(&TargetHealthReasonEnum::from(*r)).as_str(),
                *r
            );
        }
        for s in InstanceStateName::values() {
            assert_eq!(
                InstanceState::from(&InstanceStateName::from(*s)).as_str(),
                *s
            );
        }
        assert_eq!(
            group_to_instance(&LifecycleState::InService),
            InstanceState::Running
        );
        assert!(group_leaving(&LifecycleState::TerminatingWait));
        assert_eq!(group_health(Some("Healthy")), GroupHealth::Healthy);
    }
}

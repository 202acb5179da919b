//! A target's health state and reason code, as ELB names them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A load balancer target's health state, as ELB names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetState {
    /// Registered, first health checks under way.
    Initial,
    /// Passing its health checks: receives traffic.
    Healthy,
    /// Failing its health checks.
    Unhealthy,
    /// Unhealthy and being deregistered (AWS's `unhealthy.draining`).
    UnhealthyDraining,
    /// Being deregistered: finishing its connections.
    Draining,
    /// The target group receives no traffic (no listener uses it), or the
    /// target is in a zone the load balancer does not serve.
    Unused,
    /// Health checks are disabled, or the state could not be read.
    Unavailable,
    /// A state this version does not know: ELB's list of states is open
    /// (the SDK's enum is), so a newer word is kept as sent.
    Other(String),
}

words!(open TargetState {
    Initial => "initial",
    Healthy => "healthy",
    Unhealthy => "unhealthy",
    UnhealthyDraining => "unhealthy.draining",
    Draining => "draining",
    Unused => "unused",
    Unavailable => "unavailable",
});

/// Why a target is not healthy: ELB's reason code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetReason {
    /// `Elb.RegistrationInProgress`: no health check has gone out yet.
    RegistrationInProgress,
    /// `Elb.InitialHealthChecking`: the first checks are under way.
    InitialHealthChecking,
    /// `Elb.InternalError`: ELB itself failed.
    InternalError,
    /// `Target.ResponseCodeMismatch`: the check got an unexpected status.
    ResponseCodeMismatch,
    /// `Target.Timeout`: the check got no answer in time.
    Timeout,
    /// `Target.FailedHealthChecks`: the checks failed (e.g. refused connections).
    FailedHealthChecks,
    /// `Target.NotRegistered`: not registered with the target group.
    NotRegistered,
    /// `Target.NotInUse`: the target group receives no traffic.
    NotInUse,
    /// `Target.DeregistrationInProgress`: draining.
    DeregistrationInProgress,
    /// `Target.InvalidState`: the instance is stopped or terminated.
    InvalidState,
    /// `Target.IpUnusable`: the target's address cannot be used.
    IpUnusable,
    /// `Target.HealthCheckDisabled`: health checks are off.
    HealthCheckDisabled,
    /// A reason code this version does not know: ELB's list is open (the
    /// SDK's enum is), so a newer code is kept as sent.
    Other(String),
}

words!(open TargetReason {
    RegistrationInProgress => "Elb.RegistrationInProgress",
    InitialHealthChecking => "Elb.InitialHealthChecking",
    InternalError => "Elb.InternalError",
    ResponseCodeMismatch => "Target.ResponseCodeMismatch",
    Timeout => "Target.Timeout",
    FailedHealthChecks => "Target.FailedHealthChecks",
    NotRegistered => "Target.NotRegistered",
    NotInUse => "Target.NotInUse",
    DeregistrationInProgress => "Target.DeregistrationInProgress",
    InvalidState => "Target.InvalidState",
    IpUnusable => "Target.IpUnusable",
    HealthCheckDisabled => "Target.HealthCheckDisabled",
});

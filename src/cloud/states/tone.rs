//! How a state reads at a glance.

use super::{GONE, GroupHealth, InstanceState, TargetState};

/// How a state reads at a glance: the one rule the terminal's colours and
/// the report's lanes share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Serving: `healthy`, `running`, `Healthy`.
    Good,
    /// Failing: `unhealthy`, `Unhealthy`.
    Bad,
    /// Starting: `initial`, `pending`.
    Starting,
    /// On its way out: `draining`, `shutting-down`, `stopping`.
    Leaving,
    /// Not in use: `unused`, `unavailable`, `stopped`.
    Idle,
    /// Gone: `terminated`, or no longer listed ([`GONE`]).
    Gone,
}

impl Tone {
    /// The tone of a target state.
    pub fn of_target(state: &TargetState) -> Option<Tone> {
        Some(match state {
            TargetState::Healthy => Tone::Good,
            TargetState::Unhealthy => Tone::Bad,
            TargetState::Initial => Tone::Starting,
            TargetState::Draining | TargetState::UnhealthyDraining => Tone::Leaving,
            TargetState::Unused | TargetState::Unavailable => Tone::Idle,
            TargetState::Other(_) => return None,
        })
    }

    /// The tone of an instance lifecycle state.
    pub fn of_instance(state: &InstanceState) -> Option<Tone> {
        Some(match state {
            InstanceState::Running => Tone::Good,
            InstanceState::Pending => Tone::Starting,
            InstanceState::ShuttingDown | InstanceState::Stopping => Tone::Leaving,
            InstanceState::Stopped => Tone::Idle,
            InstanceState::Terminated => Tone::Gone,
            InstanceState::Other(_) => return None,
        })
    }

    /// The tone of a group health.
    pub fn of_health(health: GroupHealth) -> Tone {
        match health {
            GroupHealth::Healthy => Tone::Good,
            GroupHealth::Unhealthy => Tone::Bad,
        }
    }

    /// The tone of any of these words (a target state, an instance state,
    /// a group health, or [`GONE`]), as a table cell or a journal line holds
    /// it; `None` for any other text.
    pub fn of_word(word: &str) -> Option<Tone> {
        if word == GONE {
            return Some(Tone::Gone);
        }
        let Ok(target) = word.parse::<TargetState>();
        let Ok(instance) = word.parse::<InstanceState>();
        Tone::of_target(&target)
            .or_else(|| Tone::of_instance(&instance))
            .or_else(|| word.parse().ok().map(Tone::of_health))
    }
}

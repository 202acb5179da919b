//! The group's instance refresh: replaces instances with ones of another
//! launch template version in batches, as EC2 Auto Scaling's rolling
//! instance refresh does.
//!
//! - Batches keep the healthy capacity at or above the minimum healthy
//!   percentage of the desired capacity (rounded up). With room above the
//!   desired capacity (a maximum healthy percentage over 100), new instances
//!   launch first and old ones go once the new ones are updated; otherwise
//!   old instances are terminated (after draining) and replaced, at least
//!   one at a time (a minimum of 100 % without a maximum: one at a time).
//! - A new instance counts as updated (in `PercentageComplete`) once it
//!   passes the group's health checks (with ELB health checks: its target is
//!   healthy) and its warmup has passed since; the next batch waits for that.
//! - Checkpoints pause the refresh for the checkpoint delay when the
//!   percentage complete reaches them.
//! - A replacement the group marks Unhealthy fails the refresh; with auto
//!   rollback it goes back to the previous version (`RollbackInProgress`,
//!   then `RollbackSuccessful`), replacing the new instances the same way.

use super::{AutoScalingGroup, Drain, GroupState};
use crate::cloud::{RefreshPreferences, RefreshStatus, RefreshView};
use crate::error::{Error, Result};
use std::time::Instant;

/// One instance refresh of the local group.
#[derive(Debug, Clone)]
pub(super) struct Run {
    id: String,
    /// Its status, in AWS's words.
    pub(super) status: RefreshStatus,
    reason: Option<String>,
    prefs: RefreshPreferences,
    /// The version rolled out.
    target: u32,
    /// The version the group launched before (a rollback goes back to it).
    previous: u32,
    /// Instances to replace: the desired capacity when it started.
    total: u32,
    started: Instant,
    percentage: u32,
    to_update: u32,
    next_checkpoint: usize,
    paused_until: Option<Instant>,
}

impl Run {
    /// The refresh as `DescribeInstanceRefreshes` reports it.
    pub(super) fn view(&self) -> RefreshView {
        RefreshView {
            id: self.id.clone(),
            status: self.status.clone(),
            status_reason: self.reason.clone(),
            percentage_complete: self.percentage,
            instances_to_update: self.to_update,
            version: Some(self.target),
        }
    }

    /// The version this refresh is moving the group to now.
    fn goal(&self) -> u32 {
        if self.status == RefreshStatus::RollbackInProgress {
            self.previous
        } else {
            self.target
        }
    }
}

/// An error in AWS's words: the code, then what it means.
fn refused(group: &str, code: &str, message: String) -> Error {
    Error::cloud("instance refresh of", group, format!("{code}: {message}"))
}

fn new_refresh_id() -> String {
    let hex = |n: usize| {
        (0..n)
            .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
            .collect::<String>()
    };
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

impl AutoScalingGroup {
    /// Starts an instance refresh to `version`; returns its id.
    pub(crate) fn start_refresh(&self, version: u32, prefs: RefreshPreferences) -> Result<String> {
        prefs.validate()?;
        if self.template.release(version).is_none() {
            return Err(Error::InvalidArgument(format!(
                "launch template version {version} does not exist (versions 1 to {})",
                self.template.all().len()
            )));
        }
        let mut s = self.lock();
        if s.refresh.as_ref().is_some_and(|r| r.status.active()) {
            return Err(refused(
                &self.name,
                "InstanceRefreshInProgress",
                "an instance refresh is already in progress for this group".into(),
            ));
        }
        let id = new_refresh_id();
        let total = s.desired as u32;
        s.refresh = Some(Run {
            id: id.clone(),
            status: RefreshStatus::Pending,
            reason: None,
            prefs,
            target: version,
            previous: s.version,
            total,
            started: Instant::now(),
            percentage: 0,
            to_update: total,
            next_checkpoint: 0,
            paused_until: None,
        });
        // New instances (replacements, scaling) come from the new version.
        s.version = version;
        Ok(id)
    }

    /// The latest refresh, if any.
    pub(crate) fn refresh(&self) -> Option<RefreshView> {
        self.lock().refresh.as_ref().map(Run::view)
    }

    /// Cancels the active refresh: instances replaced so far stay.
    pub(crate) fn cancel_refresh(&self) -> Result<String> {
        let mut s = self.lock();
        match s.refresh.as_mut() {
            Some(r) if r.status == RefreshStatus::RollbackInProgress => Err(refused(
                &self.name,
                "ActiveInstanceRefreshNotFound",
                "a rollback cannot be cancelled".into(),
            )),
            Some(r) if r.status.active() => {
                r.status = RefreshStatus::Cancelling;
                r.reason = Some("Cancelling the instance refresh.".into());
                Ok(r.id.clone())
            }
            _ => Err(refused(
                &self.name,
                "ActiveInstanceRefreshNotFound",
                "no instance refresh is in progress for this group".into(),
            )),
        }
    }

    /// Rolls the active refresh back to the previous version.
    pub(crate) fn rollback_refresh(&self) -> Result<String> {
        let mut s = self.lock();
        let group = self.name.clone();
        let Some(r) = s.refresh.as_mut().filter(|r| {
            matches!(
                r.status,
                RefreshStatus::Pending | RefreshStatus::InProgress | RefreshStatus::Baking
            )
        }) else {
            return Err(refused(
                &group,
                "ActiveInstanceRefreshNotFound",
                "no instance refresh that can be rolled back is in progress".into(),
            ));
        };
        let id = r.id.clone();
        let previous = r.previous;
        r.status = RefreshStatus::RollbackInProgress;
        r.reason = Some("A rollback was asked for.".into());
        s.version = previous;
        Ok(id)
    }

    /// Fails the refresh when the group marked one of its replacements
    /// Unhealthy (before the group retires it): with auto rollback, rolls
    /// back.
    pub(super) fn refresh_notice_unhealthy(&self, s: &mut GroupState) {
        let Some(r) = s.refresh.as_ref().filter(|r| {
            matches!(
                r.status,
                RefreshStatus::InProgress | RefreshStatus::RollbackInProgress
            )
        }) else {
            return;
        };
        let (goal, started) = (r.goal(), r.started);
        let Some(bad) = s
            .members
            .iter()
            .find(|m| m.unhealthy && m.instance.version == goal && m.launched >= started)
            .map(|m| m.instance.id.clone())
        else {
            return;
        };
        let Some(r) = s.refresh.as_mut() else { return };
        if r.status == RefreshStatus::RollbackInProgress {
            r.status = RefreshStatus::RollbackFailed;
            r.reason = Some(format!(
                "The rollback failed: instance {bad} of version {goal} failed its health checks."
            ));
        } else if r.prefs.auto_rollback {
            r.status = RefreshStatus::RollbackInProgress;
            r.reason = Some(format!(
                "Instance {bad} of version {goal} failed its health checks: the instance refresh failed; rolling back to version {}.",
                r.previous
            ));
            s.version = r.previous;
        } else {
            r.status = RefreshStatus::Failed;
            r.reason = Some(format!(
                "Instance {bad} of version {goal} failed its health checks: the instance refresh failed."
            ));
        }
        tracing::debug!(group = %self.name, instance = %bad, "instance refresh: a replacement failed");
    }

    /// One step of the active refresh, at each scaling tick.
    pub(super) fn refresh_step(&self, s: &mut GroupState) {
        let timing = self.world.timing;
        let desired = s.desired;
        let serving = self.serving(s);
        let Some(r) = s.refresh.as_mut() else { return };
        match r.status {
            RefreshStatus::Pending => {
                r.status = RefreshStatus::InProgress;
                r.reason = None;
            }
            RefreshStatus::Cancelling => {
                r.status = RefreshStatus::Cancelled;
                r.reason = Some("The instance refresh was cancelled.".into());
                return;
            }
            _ => {}
        }
        let rollback = r.status == RefreshStatus::RollbackInProgress;
        let goal = r.goal();
        let warmup = timing.seconds(f64::from(r.prefs.warmup_s));
        let warmed = |since: Option<Instant>| since.is_some_and(|t| t.elapsed() >= warmup);
        let updated_forward = s
            .members
            .iter()
            .filter(|m| m.instance.version == r.target && warmed(m.healthy_since))
            .count() as u32;
        r.percentage = (updated_forward * 100 / r.total.max(1)).min(100);
        let olds = s
            .members
            .iter()
            .filter(|m| m.instance.version != goal)
            .count();
        let news = s.members.len() - olds;
        let updated = s
            .members
            .iter()
            .filter(|m| m.instance.version == goal && warmed(m.healthy_since))
            .count();
        r.to_update = if rollback {
            olds as u32
        } else {
            r.total.saturating_sub(updated as u32)
        };
        if let Some(until) = r.paused_until {
            if Instant::now() < until {
                return;
            }
            r.paused_until = None;
            r.reason = None;
        }
        if !rollback
            && let Some(&checkpoint) = r.prefs.checkpoints.get(r.next_checkpoint)
            && r.percentage >= checkpoint
        {
            r.next_checkpoint += 1;
            let delay = timing.seconds(f64::from(r.prefs.checkpoint_delay_s));
            r.paused_until = Some(Instant::now() + delay);
            r.reason = Some(format!(
                "Checkpoint {checkpoint}% reached; waiting {} s before going on.",
                r.prefs.checkpoint_delay_s
            ));
            return;
        }
        // Instances it took out are gone before it ends (a rollback ends
        // once the bad release's instances have drained and shut down).
        let gone = s
            .leaving
            .iter()
            .all(|i| i.version == goal || i.lifecycle() == super::Lifecycle::Terminated);
        if olds == 0 && updated == news && news >= desired && gone {
            if rollback {
                r.status = RefreshStatus::RollbackSuccessful;
                r.reason = Some(format!("Rolled back to version {goal}."));
                r.percentage = 0;
            } else {
                r.status = RefreshStatus::Successful;
                r.reason = None;
                r.percentage = 100;
            }
            r.to_update = 0;
            return;
        }
        if updated < news {
            // A batch is in flight: its new instances are not updated yet.
            return;
        }
        // Launched first: the old ones go once their replacements count.
        let surplus = s.members.len().saturating_sub(desired);
        if surplus > 0 && olds > 0 {
            self.refresh_retire_olds(s, goal, surplus.min(olds), &serving);
            return;
        }
        if olds == 0 {
            return;
        }
        let min_pct = r.prefs.min_healthy_percentage as usize;
        let min_healthy = (desired * min_pct).div_ceil(100);
        let max_total = match r.prefs.max_healthy_percentage {
            Some(max) => desired * max as usize / 100,
            None => desired,
        };
        let members = s.members.len();
        if max_total > members {
            for _ in 0..(max_total - members).min(olds) {
                if let Err(e) = self.launch(s) {
                    s.last_error = Some(e.to_string());
                    break;
                }
            }
        } else {
            let room = serving.len().saturating_sub(min_healthy).max(1);
            self.refresh_retire_olds(s, goal, room.min(olds), &serving);
        }
    }

    /// Retires `n` instances not of version `goal`: those that do not serve
    /// first, then the oldest.
    fn refresh_retire_olds(
        &self,
        s: &mut GroupState,
        goal: u32,
        n: usize,
        serving: &std::collections::HashSet<String>,
    ) {
        let mut olds: Vec<(bool, Instant, String)> = s
            .members
            .iter()
            .filter(|m| m.instance.version != goal)
            .map(|m| {
                (
                    serving.contains(&m.instance.id),
                    m.launched,
                    m.instance.id.clone(),
                )
            })
            .collect();
        olds.sort();
        for (_, _, id) in olds.into_iter().take(n) {
            if let Some(pos) = s.members.iter().position(|m| m.instance.id == id) {
                let m = s.members.remove(pos);
                self.retire(s, m, Drain::First);
            }
        }
    }
}

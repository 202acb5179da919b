//! The rollback of injected faults: everything the `failure::` functions
//! break, put back as a healthy deployment has it. The script API's
//! `failure::reset()` and the end of a run that went badly both call it.

use crate::cloud::Cloud;
use crate::error::Result;

/// Reverts every injected failure: parameters back to healthy values, no
/// dependency latency or errors, every zone back, good credentials (with a
/// reboot) on any instance that had other ones. Every step is tried even
/// when one fails, and an instance that vanished meanwhile (terminated,
/// replaced) is not a failure: there is nothing left on it to repair.
/// Returns the id of the instance refresh it started to take a broken
/// release out, if it started one (a wait for the roll-out waits for it).
pub(crate) async fn revert_all(c: &dyn Cloud) -> Result<Option<String>> {
    // Nothing deployed: nothing to revert (and nothing to create).
    let before = match c.parameters().await {
        Err(crate::Error::NotDeployed { .. }) => return Ok(None),
        other => other?,
    };
    // Parameters (the dependency fault among them) back to healthy values.
    let values = crate::cloud::ParameterValues::healthy(c.names());
    c.put_parameters(&values).await?;
    if before != values {
        crate::cloud::parameters_settled(c).await;
    }
    // Parameters alone may be deployed (no group yet): nothing else to revert.
    let instances = match c.instances().await {
        Err(crate::Error::NotDeployed { .. }) => return Ok(None),
        other => other?,
    };
    let mut failures = Vec::new();
    if let Err(e) = c.restore_azs().await {
        failures.push(e.to_string());
    }
    let started = match revert_release(c).await {
        Ok(started) => started,
        Err(e) => {
            failures.push(e.to_string());
            None
        }
    };
    let good = c.names().profile.clone();
    for i in instances {
        if i.profile == good || i.state.leaving() {
            continue;
        }
        let repaired = async {
            c.replace_instance_profile(&i.id, &good).await?;
            c.reboot_instance(&i.id).await
        };
        if let Err(e) = repaired.await
            && still_there(c, &i.id).await
        {
            failures.push(format!("{}: {e}", i.id));
        }
    }
    match failures.len() {
        0 => Ok(started),
        _ => Err(crate::Error::Setup(format!(
            "rollback incomplete: {}",
            failures.join("; ")
        ))),
    }
}

/// Whether `id` is still a live instance of the group (true when the group
/// cannot be read: the failure then stands).
async fn still_there(c: &dyn Cloud, id: &str) -> bool {
    match c.instances().await {
        Ok(now) => now.iter().any(|i| i.id == id && !i.state.leaving()),
        Err(_) => true,
    }
}

/// Takes a broken release out of the group: a refresh rolling one out is
/// rolled back; a group that launches one gets a refresh to the latest good
/// version (started, not awaited: on AWS it takes minutes, and goes on
/// without us); returns that refresh's id.
async fn revert_release(c: &dyn Cloud) -> Result<Option<String>> {
    use crate::cloud::{Break, RefreshPreferences, RefreshStatus};
    let versions = match c.versions().await {
        Err(crate::Error::NotDeployed { .. }) => return Ok(None),
        other => other?,
    };
    let broken = |n: u32| versions.release(n).is_some_and(|r| r.broken != Break::None);
    if let Some(r) = c.refresh().await?
        && r.status.active()
    {
        if r.status != RefreshStatus::RollbackInProgress && r.version.is_some_and(broken) {
            c.rollback_refresh().await?;
        }
        return Ok(None);
    }
    if broken(versions.group) {
        let good = versions
            .all
            .iter()
            .rev()
            .find(|v| v.release.as_ref().is_some_and(|r| r.broken == Break::None))
            .map_or(1, |v| v.number);
        // The bad release serves now: replace every instance in one batch,
        // new ones first, so capacity never drops.
        let prefs = RefreshPreferences {
            min_healthy_percentage: 100,
            max_healthy_percentage: Some(200),
            warmup_s: 0,
            ..RefreshPreferences::default()
        };
        return Ok(Some(c.start_refresh(good, &prefs).await?));
    }
    Ok(None)
}

//! Releases from scripts: new launch template versions, rolling them out
//! with an instance refresh, watching, cancelling and rolling back. The
//! script functions live in `deploy::` and `inspect::`; this module holds
//! what they share.

use crate::cloud::{Break, Cloud, RefreshPreferences, RefreshView, Release, TargetState};
use crate::error::{Error, Result};
use crate::events::{Bus, EventKind, Waiting};
use rhai::{Dynamic, Map};
use std::time::{Duration, Instant};

/// Reads `deploy::new_version`'s options: `label`, `broken`.
pub(crate) fn release(opts: &Map, next: u32) -> Result<Release> {
    let mut release = Release {
        label: format!("v{next}"),
        broken: Break::None,
    };
    for (key, value) in opts {
        let text = || {
            value.clone().into_string().map_err(|_| {
                Error::InvalidArgument(format!("deploy::new_version: `{key}` must be a string"))
            })
        };
        match key.as_str() {
            "label" => release.label = text()?,
            "broken" => release.broken = text()?.parse()?,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "deploy::new_version: unknown option `{other}` (known: label, broken)"
                )));
            }
        }
    }
    release.validate()?;
    Ok(release)
}

/// Reads `deploy::roll_out`'s options; returns the version (if given) and
/// the preferences.
pub(crate) fn preferences(opts: &Map) -> Result<(Option<u32>, RefreshPreferences)> {
    let mut prefs = RefreshPreferences::default();
    let mut version = None;
    for (key, value) in opts {
        let number = |lo: i64, hi: i64| {
            value
                .as_int()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .map(|n| n as u32)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "deploy::roll_out: `{key}` must be an integer in {lo}..={hi}"
                    ))
                })
        };
        match key.as_str() {
            "version" => version = Some(number(1, i64::from(u32::MAX))?),
            "min_healthy_percentage" => prefs.min_healthy_percentage = number(0, 100)?,
            "max_healthy_percentage" => prefs.max_healthy_percentage = Some(number(100, 200)?),
            "warmup_s" => prefs.warmup_s = number(0, 3600)?,
            "checkpoint_delay_s" => prefs.checkpoint_delay_s = number(0, 172_800)?,
            "auto_rollback" => {
                prefs.auto_rollback = value.as_bool().map_err(|_| {
                    Error::InvalidArgument(
                        "deploy::roll_out: `auto_rollback` must be true or false".into(),
                    )
                })?
            }
            "checkpoints" => {
                let list = value.clone().into_array().map_err(|_| {
                    Error::InvalidArgument(
                        "deploy::roll_out: `checkpoints` must be an array of percentages".into(),
                    )
                })?;
                prefs.checkpoints = list
                    .iter()
                    .map(|p| {
                        p.as_int()
                            .ok()
                            .filter(|n| (1..=100).contains(n))
                            .map(|n| n as u32)
                            .ok_or_else(|| {
                                Error::InvalidArgument(
                                    "deploy::roll_out: each checkpoint is an integer in 1..=100"
                                        .into(),
                                )
                            })
                    })
                    .collect::<Result<_>>()?;
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "deploy::roll_out: unknown option `{other}` (known: version, min_healthy_percentage, max_healthy_percentage, warmup_s, checkpoints, checkpoint_delay_s, auto_rollback)"
                )));
            }
        }
    }
    prefs.validate()?;
    Ok((version, prefs))
}

/// A refresh as scripts see it: `#{id, status, status_reason,
/// percentage_complete, instances_to_update, version, active}`.
pub(crate) fn view_map(r: &RefreshView) -> Map {
    let mut m = Map::new();
    m.insert("id".into(), r.id.clone().into());
    m.insert("status".into(), r.status.as_str().to_string().into());
    m.insert(
        "status_reason".into(),
        r.status_reason.clone().map_or(Dynamic::UNIT, Into::into),
    );
    m.insert(
        "percentage_complete".into(),
        i64::from(r.percentage_complete).into(),
    );
    m.insert(
        "instances_to_update".into(),
        i64::from(r.instances_to_update).into(),
    );
    m.insert(
        "version".into(),
        r.version.map_or(Dynamic::UNIT, |v| i64::from(v).into()),
    );
    m.insert("active".into(), r.status.active().into());
    m
}

/// The event that says where a refresh is.
pub(crate) fn event(r: &RefreshView) -> EventKind {
    EventKind::Refresh {
        id: r.id.clone(),
        status: r.status.clone(),
        percentage_complete: r.percentage_complete,
        instances_to_update: r.instances_to_update,
        reason: r.status_reason.clone(),
    }
}

/// What a wait for a refresh saw.
pub(crate) struct Watched {
    /// The refresh when it ended.
    pub end: RefreshView,
    /// The fewest healthy targets seen while it ran (looked at every poll).
    pub min_healthy_targets: usize,
    /// The most instances the group had while it ran.
    pub max_instances: usize,
    /// The highest percentage complete it reported.
    pub max_percentage: u32,
    /// Every status it went through, in order.
    pub statuses: Vec<String>,
}

/// Waits until the group's latest refresh ends (its status is no longer
/// active), publishing each change of its status or progress, and counting
/// the healthy targets at every look. Fails after `timeout` (wall clock).
/// With `started` (the id of the refresh this session started), a latest
/// refresh of another id is one from before it: AWS does not always list a
/// refresh the moment it starts, and until it does the wait goes on.
pub(crate) async fn watch(
    cloud: &dyn Cloud,
    timeout: Duration,
    bus: &Bus,
    started: Option<String>,
) -> Result<Watched> {
    let started_at = Instant::now();
    let mut waiting = Waiting::start(bus, "the instance refresh to end");
    let mut last: Option<RefreshView> = None;
    let mut min_healthy = usize::MAX;
    let mut max_instances = 0;
    let mut max_percentage = 0;
    let mut statuses: Vec<String> = Vec::new();
    loop {
        let looked = async {
            let (refresh, targets, instances) =
                tokio::join!(cloud.refresh(), cloud.targets(), cloud.instances());
            Ok::<_, Error>((refresh?, targets?, instances?))
        };
        let (refresh, targets, instances) = match looked.await {
            Ok(v) => v,
            Err(e) => {
                waiting.end(false);
                return Err(e);
            }
        };
        let listed = match (&started, &refresh) {
            (Some(id), Some(r)) => r.id == *id,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let now = match refresh {
            Some(now) if listed => now,
            // Not listed yet: looked at again at the next poll.
            _ if started.is_some() => {
                waiting.state("the instance refresh is not listed yet");
                if started_at.elapsed() >= timeout {
                    waiting.end(false);
                    return Err(Error::Timeout {
                        what: "the instance refresh to be listed".into(),
                        waited_ms: timeout.as_millis() as u64,
                    });
                }
                tokio::time::sleep(cloud.poll_interval()).await;
                continue;
            }
            _ => {
                waiting.end(false);
                return Err(Error::InvalidArgument(
                    "no instance refresh was started: call deploy::roll_out() first".into(),
                ));
            }
        };
        let healthy = targets
            .iter()
            .filter(|t| t.state == TargetState::Healthy)
            .count();
        min_healthy = min_healthy.min(healthy);
        if now.status != crate::cloud::RefreshStatus::RollbackInProgress
            && now.status != crate::cloud::RefreshStatus::RollbackSuccessful
        {
            max_percentage = max_percentage.max(now.percentage_complete);
        }
        max_instances = max_instances.max(instances.iter().filter(|i| !i.state.leaving()).count());
        if last.as_ref() != Some(&now) {
            bus.publish(event(&now));
            if statuses.last().map(String::as_str) != Some(now.status.as_str()) {
                statuses.push(now.status.as_str().to_string());
            }
        }
        waiting.state(&format!(
            "{} {} % complete, {} healthy targets",
            now.status, now.percentage_complete, healthy
        ));
        if !now.status.active() {
            waiting.end(true);
            return Ok(Watched {
                end: now,
                min_healthy_targets: min_healthy,
                max_instances,
                max_percentage,
                statuses,
            });
        }
        last = Some(now);
        if started_at.elapsed() >= timeout {
            waiting.end(false);
            return Err(Error::Timeout {
                what: "the instance refresh to end".into(),
                waited_ms: timeout.as_millis() as u64,
            });
        }
        tokio::time::sleep(cloud.poll_interval()).await;
    }
}

/// The fault a roll-out of a broken release is, in words; `None` for a
/// good release.
pub(crate) fn fault(number: u32, release: Option<&Release>) -> Option<String> {
    let release = release?;
    (release.broken != Break::None).then(|| {
        format!(
            "bad release {} (version {number}, broken: {}) rolled out",
            release.label,
            release.broken.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Dynamic)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    #[test]
    fn roll_out_options_are_read_and_checked() {
        let (version, p) = preferences(&map(&[
            ("version", Dynamic::from(2_i64)),
            ("min_healthy_percentage", Dynamic::from(66_i64)),
            ("warmup_s", Dynamic::from(60_i64)),
            ("auto_rollback", Dynamic::from(true)),
            (
                "checkpoints",
                Dynamic::from(vec![Dynamic::from(50_i64), Dynamic::from(100_i64)]),
            ),
        ]))
        .unwrap();
        assert_eq!(version, Some(2));
        assert_eq!(p.min_healthy_percentage, 66);
        assert_eq!(p.warmup_s, 60);
        assert!(p.auto_rollback);
        assert_eq!(p.checkpoints, vec![50, 100]);
        for bad in [
            map(&[("min_healthy_percentage", Dynamic::from(101_i64))]),
            map(&[("max_healthy_percentage", Dynamic::from(99_i64))]),
            map(&[("warmup", Dynamic::from(1_i64))]),
            map(&[(
                "checkpoints",
                Dynamic::from(vec![Dynamic::from(60_i64), Dynamic::from(50_i64)]),
            )]),
            map(&[
                ("min_healthy_percentage", Dynamic::from(100_i64)),
                ("max_healthy_percentage", Dynamic::from(100_i64)),
            ]),
        ] {
            assert!(preferences(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_version_options_are_read_and_checked() {
        let r = release(&Map::new(), 3).unwrap();
        assert_eq!(
            r,
            Release {
                label: "v3".into(),
                broken: Break::None
            }
        );
        let r = release(
            &map(&[
                ("label", Dynamic::from("v2-bad")),
                ("broken", Dynamic::from("error_500")),
            ]),
            2,
        )
        .unwrap();
        assert_eq!(r.broken, Break::Error500);
        assert!(release(&map(&[("broken", Dynamic::from("melting"))]), 2).is_err());
        assert!(release(&map(&[("label", Dynamic::from("a b"))]), 2).is_err());
        assert_eq!(
            fault(2, Some(&r)).as_deref(),
            Some("bad release v2-bad (version 2, broken: error_500) rolled out")
        );
        assert_eq!(fault(1, Some(&Release::first())), None);
    }
}

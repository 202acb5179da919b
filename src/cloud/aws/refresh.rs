//! Releases on AWS: launch template versions (`CreateLaunchTemplateVersion`)
//! and the group's instance refresh (`StartInstanceRefresh`,
//! `DescribeInstanceRefreshes`, `CancelInstanceRefresh`,
//! `RollbackInstanceRefresh`).
//!
//! A version differs from version 1 only by its user data, whose systemd
//! unit tells the server its release (`RESILIENT_VERSION`) and how it is
//! broken (`RESILIENT_BREAK`); the version's description records both, so
//! they read back. A refresh names the version in its desired
//! configuration (the group launches a numbered version, never `$Default`
//! or `$Latest`: AWS rolls back only then).

use super::clients::Clients;
use super::errors::fail;
use crate::cloud::{RefreshPreferences, RefreshView, Release, VersionInfo, Versions};
use crate::error::{Error, Result};
use crate::names::Names;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, LaunchTemplateSpecification, RefreshPreferences as AwsPreferences,
    RefreshStrategy,
};
use aws_sdk_ec2::types::RequestLaunchTemplateData;

/// Creates a version of the launch template from version 1 with the user
/// data of `release`; returns its number.
pub(crate) async fn create_version(c: &Clients, names: &Names, release: &Release) -> Result<u32> {
    let user_data = super::user_data::script_for(&names.prefix, &c.region, release);
    let out = c
        .ec2
        .create_launch_template_version()
        .launch_template_name(&names.launch_template)
        .source_version("1")
        .version_description(release.description())
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .user_data(aws_smithy_types::base64::encode(user_data))
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            fail(
                "create launch template version of",
                &names.launch_template,
                e,
            )
        })?;
    let number = out
        .launch_template_version()
        .and_then(|v| v.version_number())
        .ok_or_else(|| {
            Error::cloud(
                "create launch template version of",
                &names.launch_template,
                "the answer names no version number",
            )
        })?;
    u32::try_from(number).map_err(|_| {
        Error::cloud(
            "create launch template version of",
            &names.launch_template,
            format!("version number {number}"),
        )
    })
}

/// Every version of the launch template (version 1 is the first release)
/// and the version the group launches.
pub(crate) async fn versions(c: &Clients, names: &Names) -> Result<Versions> {
    let mut all = Vec::new();
    let mut token = None;
    let mut default = 1;
    loop {
        let out = c
            .ec2
            .describe_launch_template_versions()
            .launch_template_name(&names.launch_template)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                fail(
                    "describe launch template versions of",
                    &names.launch_template,
                    e,
                )
            })?;
        for v in out.launch_template_versions() {
            let Some(number) = v.version_number().and_then(|n| u32::try_from(n).ok()) else {
                continue;
            };
            if v.default_version() == Some(true) {
                default = number;
            }
            let release = match number {
                1 => Some(Release::first()),
                _ => v.version_description().and_then(Release::from_description),
            };
            all.push(VersionInfo { number, release });
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    all.sort_by_key(|v| v.number);
    let latest = all.last().map_or(1, |v| v.number);
    let group = c
        .asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&names.group)
        .send()
        .await
        .map_err(|e| fail("describe Auto Scaling group", &names.group, e))?;
    let spec = group
        .auto_scaling_groups()
        .first()
        .ok_or_else(|| Error::not_deployed(format!("the Auto Scaling group {}", names.group)))?
        .launch_template()
        .and_then(|t| t.version())
        .unwrap_or("$Default")
        .to_string();
    Ok(Versions {
        all,
        group: group_version(&spec, default, latest),
    })
}

/// The number a group's launch template version names.
fn group_version(spec: &str, default: u32, latest: u32) -> u32 {
    match spec {
        "$Latest" => latest,
        "$Default" => default,
        n => n.parse().unwrap_or(default),
    }
}

/// The preferences as `StartInstanceRefresh` takes them.
pub(crate) fn preferences(p: &RefreshPreferences) -> AwsPreferences {
    let mut b = AwsPreferences::builder()
        .min_healthy_percentage(p.min_healthy_percentage as i32)
        .set_max_healthy_percentage(p.max_healthy_percentage.map(|m| m as i32))
        .instance_warmup(p.warmup_s as i32)
        .auto_rollback(p.auto_rollback)
        .skip_matching(false);
    if !p.checkpoints.is_empty() {
        b = b
            .set_checkpoint_percentages(Some(p.checkpoints.iter().map(|&c| c as i32).collect()))
            .checkpoint_delay(p.checkpoint_delay_s as i32);
    }
    b.build()
}

/// Starts a rolling instance refresh to `version`; returns its id.
pub(crate) async fn start(
    c: &Clients,
    names: &Names,
    version: u32,
    prefs: &RefreshPreferences,
) -> Result<String> {
    prefs.validate()?;
    let out = c
        .asg
        .start_instance_refresh()
        .auto_scaling_group_name(&names.group)
        .strategy(RefreshStrategy::Rolling)
        .desired_configuration(
            DesiredConfiguration::builder()
                .launch_template(
                    LaunchTemplateSpecification::builder()
                        .launch_template_name(&names.launch_template)
                        .version(version.to_string())
                        .build(),
                )
                .build(),
        )
        .preferences(preferences(prefs))
        .send()
        .await
        .map_err(|e| fail("start instance refresh of", &names.group, e))?;
    Ok(out.instance_refresh_id().unwrap_or_default().to_string())
}

/// The group's latest refresh (AWS lists the newest first).
pub(crate) async fn latest(c: &Clients, names: &Names) -> Result<Option<RefreshView>> {
    let out = c
        .asg
        .describe_instance_refreshes()
        .auto_scaling_group_name(&names.group)
        .max_records(1)
        .send()
        .await
        .map_err(|e| fail("describe instance refreshes of", &names.group, e))?;
    Ok(out.instance_refreshes().first().map(|r| RefreshView {
        id: r.instance_refresh_id().unwrap_or_default().to_string(),
        status: r
            .status()
            .map(|s| s.as_str())
            .unwrap_or("Pending")
            .parse()
            .unwrap_or(crate::cloud::RefreshStatus::Pending),
        status_reason: r.status_reason().map(str::to_string),
        percentage_complete: r.percentage_complete().unwrap_or(0).clamp(0, 100) as u32,
        instances_to_update: r.instances_to_update().unwrap_or(0).max(0) as u32,
        version: r
            .desired_configuration()
            .and_then(|d| d.launch_template())
            .and_then(|t| t.version())
            .and_then(|v| v.parse().ok()),
    }))
}

/// Cancels the group's active refresh; returns its id.
pub(crate) async fn cancel(c: &Clients, names: &Names) -> Result<String> {
    let out = c
        .asg
        .cancel_instance_refresh()
        .auto_scaling_group_name(&names.group)
        .send()
        .await
        .map_err(|e| fail("cancel instance refresh of", &names.group, e))?;
    Ok(out.instance_refresh_id().unwrap_or_default().to_string())
}

/// Rolls the group's active refresh back; returns its id.
pub(crate) async fn rollback(c: &Clients, names: &Names) -> Result<String> {
    let out = c
        .asg
        .rollback_instance_refresh()
        .auto_scaling_group_name(&names.group)
        .send()
        .await
        .map_err(|e| fail("roll back instance refresh of", &names.group, e))?;
    Ok(out.instance_refresh_id().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_version_names_a_number() {
        assert_eq!(group_version("3", 1, 5), 3);
        assert_eq!(group_version("$Default", 2, 5), 2);
        assert_eq!(group_version("$Latest", 2, 5), 5);
    }

    #[test]
    fn preferences_carry_checkpoints_only_with_their_delay() {
        let p = RefreshPreferences {
            min_healthy_percentage: 66,
            warmup_s: 60,
            auto_rollback: true,
            ..RefreshPreferences::default()
        };
        let aws = preferences(&p);
        assert_eq!(aws.min_healthy_percentage(), Some(66));
        assert_eq!(aws.instance_warmup(), Some(60));
        assert_eq!(aws.auto_rollback(), Some(true));
        assert!(aws.checkpoint_percentages().is_empty());
        assert_eq!(aws.checkpoint_delay(), None);
        let p = RefreshPreferences {
            checkpoints: vec![50, 100],
            checkpoint_delay_s: 120,
            ..p
        };
        let aws = preferences(&p);
        assert_eq!(aws.checkpoint_percentages(), &[50, 100]);
        assert_eq!(aws.checkpoint_delay(), Some(120));
    }
}

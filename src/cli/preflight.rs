//! `resilient preflight`: what would stop a deploy, checked before anything
//! is created (the same checks `deploy::all()` runs first), and the IAM
//! policy the tool needs, filled in for your account, region and prefix.

use super::{GlobalArgs, error_label, new_host};
use anyhow::{Context, Result};
use colored::Colorize;
use resilient::Exit;
use resilient::cloud::preflight::{Check, Outcome};
use resilient::settings::Backend;

pub(super) fn preflight(global: &GlobalArgs, policy: bool) -> Result<Exit> {
    let host = new_host(global.options())?;
    let session = host.session().clone();
    let settings = session.settings();
    if policy {
        if settings.backend != Backend::Aws {
            resilient::errln!(
                "{} --policy prints the IAM policy for AWS: add --backend aws (the local cloud needs no permissions)",
                error_label()
            );
            return Ok(Exit::Usage);
        }
        settings.validate()?;
        let policy = session
            .block_on(resilient::cloud::preflight::aws_policy(
                &settings.aws,
                &settings.prefix,
            ))
            .context("cannot fill the policy in")?;
        resilient::outln!("{}", policy.trim_end());
        return Ok(Exit::Success);
    }
    if settings.backend == Backend::Local {
        resilient::outln!(
            "{} the local cloud needs no credentials, zones or permissions: nothing to check",
            "ok:".green().bold()
        );
        return Ok(Exit::Success);
    }
    let place = match (&settings.backend, &settings.aws.region) {
        (Backend::Aws, Some(region)) => format!("aws, {region}"),
        (backend, _) => backend.to_string(),
    };
    resilient::outln!(
        "preflight of deployment {} ({place}):",
        settings.prefix.bold()
    );
    let report = session
        .cloud()
        .and_then(|cloud| session.block_on(async move { cloud.preflight().await }));
    let checks = match report {
        Ok(report) => report.checks,
        // Region, credentials or the endpoint: nothing else can be checked.
        Err(e) => vec![Check::failed("credentials", e.to_string())],
    };
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &checks {
        let mark = match c.outcome {
            Outcome::Passed => "✔".green().bold(),
            Outcome::Failed => "✘".red().bold(),
            Outcome::Skipped => "!".yellow().bold(),
        };
        resilient::outln!("  {mark} {:<width$}  {}", c.name, c.detail);
    }
    let failed = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .count();
    if failed > 0 {
        resilient::errln!(
            "{} {failed} preflight check(s) failed: a deploy would stop before creating anything",
            error_label()
        );
        return Ok(Exit::Failure);
    }
    resilient::outln!("{} ready to deploy", "ok:".green().bold());
    Ok(Exit::Success)
}

//! Ending a run from its journal alone, when its interpreter died before
//! writing the outcome: the supervisor of `resilient run` does it at once,
//! `resilient recover JOURNAL` later (supervisor and interpreter both
//! killed, a reboot). Both roll back what the journal says was injected and
//! not undone (with the rollback `failure::reset()` uses), record it, write
//! the outcome with its cause, and say what is still deployed.

use super::GlobalArgs;
use anyhow::{Context, Result};
use colored::Colorize;
use resilient::journal::{Journal, Run};
use resilient::settings::{Backend, Settings};
use resilient::{Exit, Session};
use std::path::Path;

/// What ending a run from its journal did.
pub(super) struct Ended {
    /// The run's settings (the journal's, over the command line's).
    pub settings: Settings,
    /// The faults rolled back now.
    pub rolled_back: Vec<String>,
    /// Why the rollback failed, if it did.
    pub rollback_error: Option<String>,
    /// What is still deployed (AWS), or why it could not be listed.
    pub left: resilient::Result<Vec<resilient::cloud::Resource>>,
}

/// The settings the run used: the journal header's backend, prefix, region,
/// endpoint and time scale over the command line's (credentials, profile).
pub(super) fn settings_of(global: &GlobalArgs, run: &Run) -> Settings {
    let mut settings = global.options().settings;
    let h = &run.header;
    settings.backend = h.backend;
    settings.prefix = h.prefix.clone();
    settings.instances = h.settings.instances;
    if h.settings.time_scale > 0.0 {
        settings.time_scale = h.settings.time_scale;
    }
    if h.settings.region.is_some() {
        settings.aws.region = h.settings.region.clone();
    }
    if h.settings.endpoint_url.is_some() {
        settings.aws.endpoint_url = h.settings.endpoint_url.clone();
    }
    settings
}

/// Rolls back the faults the journal at `path` says are left (on AWS: on
/// the local cloud they died with the process), records the rollback and,
/// unless the journal has its outcome, the outcome with `cause` and
/// `exit_code`.
pub(super) fn end(global: &GlobalArgs, path: &Path, cause: &str, exit_code: u8) -> Result<Ended> {
    let run = resilient::journal::read(path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    let settings = settings_of(global, &run);
    let faults = run.faults_left();
    let journal = Journal::append(path)
        .with_context(|| format!("cannot write to the journal {}", path.display()))?;
    let mut ended = Ended {
        settings: settings.clone(),
        rolled_back: Vec::new(),
        rollback_error: None,
        left: Ok(Vec::new()),
    };
    if settings.backend == Backend::Aws {
        let session = Session::new(settings, std::sync::Arc::new(resilient::DefaultAnswers));
        match session.cloud() {
            Ok(_) if !faults.is_empty() => {
                for fault in &faults {
                    session.ledger().record(fault.clone());
                }
                match session.rollback_faults() {
                    Ok(done) => ended.rolled_back = done,
                    Err(e) => ended.rollback_error = Some(e.to_string()),
                }
                use resilient::events::Sink;
                journal.event(&resilient::events::Event {
                    t_ms: run.end_ms(),
                    kind: resilient::events::EventKind::Rollback {
                        faults: faults.clone(),
                        error: ended.rollback_error.clone(),
                    },
                });
            }
            Ok(_) => {}
            Err(e) if !faults.is_empty() => ended.rollback_error = Some(e.to_string()),
            Err(_) => {}
        }
        ended.left = session.resources();
        if let Some(rt) = session.take_runtime() {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
    if run.outcome.is_none() {
        let left = ended.left.as_ref().ok().cloned().unwrap_or_default();
        journal.finish(
            resilient::journal::RunOutcome::new(exit_code, &run.checks(), &left)
                .because(Some(cause.to_string())),
        );
    }
    if let Some(e) = journal.write_error() {
        anyhow::bail!("cannot write to the journal {}: {e}", path.display());
    }
    Ok(ended)
}

/// Says what ending the run did: the rollback, what is still deployed on
/// AWS and the command that destroys it.
pub(super) fn tell(global: &GlobalArgs, ended: Ended, journal: &Path) {
    if !ended.rolled_back.is_empty() {
        resilient::errln!(
            "{} rolled back the faults the run left: {}",
            "✔".green().bold(),
            ended.rolled_back.join(", ")
        );
    }
    if let Some(e) = &ended.rollback_error {
        resilient::errln!(
            "{} could not roll back the faults the run left ({e}); try again with:\n  resilient recover {}",
            super::error_label(),
            journal.display()
        );
    }
    if ended.settings.backend == Backend::Local {
        resilient::errln!(
            "{}",
            "The local cloud ended with the interpreter: nothing of the run is left running."
                .dimmed()
        );
    } else {
        super::run::report_left_on_aws(global, &ended.settings, ended.left);
    }
}

/// `resilient recover JOURNAL`: undoes what the journal of a run whose
/// processes were all killed says was injected and not undone. Idempotent:
/// once the rollback is recorded in the journal there is nothing left to do.
pub(super) fn recover(global: &GlobalArgs, path: &Path) -> Result<Exit> {
    let run = resilient::journal::read(path)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    let faults = run.faults_left();
    if run.header.backend == Backend::Local {
        if run.outcome.is_none() {
            end(
                global,
                path,
                "the run's processes died (recorded by `resilient recover`)",
                Exit::Crashed.code(),
            )?;
        }
        resilient::outln!(
            "The run was on the local cloud: nothing of it outlives its process, so there is nothing to recover{}.",
            if faults.is_empty() {
                ""
            } else {
                " (its faults died with it)"
            }
        );
        return Ok(Exit::Success);
    }
    if faults.is_empty() && run.outcome.is_some() {
        resilient::outln!(
            "Nothing to recover: the journal {} records no fault left injected, and the run's outcome.",
            path.display()
        );
        return Ok(Exit::Success);
    }
    let ended = end(
        global,
        path,
        "the run's processes died (recorded by `resilient recover`)",
        Exit::Crashed.code(),
    )?;
    let failed = ended.rollback_error.is_some();
    if faults.is_empty() {
        resilient::outln!("No fault was left injected.");
    }
    tell(global, ended, path);
    Ok(if failed {
        Exit::Incomplete
    } else {
        Exit::Success
    })
}

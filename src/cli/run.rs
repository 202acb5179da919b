//! `resilient run`: a script's run from start to verdict — journal, report
//! and JUnit, fault rollback, what is left deployed — and `resilient report`.

use super::{GlobalArgs, RunArgs, error_label, new_host};
use anyhow::{Context, Result};
use colored::Colorize;
use resilient::Exit;
use resilient::settings::{Backend, Settings};

pub(super) fn run_file(global: &GlobalArgs, run: &RunArgs, file: &std::path::Path) -> Result<Exit> {
    let outputs: Vec<super::paths::Named<'_>> = [
        ("--journal", &run.journal),
        ("--report", &run.report),
        ("--junit", &run.junit),
        ("--summary", &run.summary),
    ]
    .into_iter()
    .filter_map(|(role, path)| {
        path.as_deref()
            .map(|path| super::paths::Named { role, path })
    })
    .collect();
    let mut inputs = vec![super::paths::Named {
        role: "the script",
        path: file,
    }];
    if let Some(path) = &run.baseline {
        inputs.push(super::paths::Named {
            role: "--baseline",
            path,
        });
    }
    super::paths::check(&inputs, &outputs)?;
    let mut host = new_host(global.options())?;
    // A report, a summary, JUnit's hypotheses and a comparison with a
    // baseline are made from a journal: without --journal, a scratch one.
    // Made with a random name and O_EXCL (no one else's link is followed),
    // removed once the report is written, kept and named if it is not.
    let tolerance = super::compare::checked(run.tolerance)?;
    let baseline = match &run.baseline {
        Some(path) => Some(super::compare::read(path)?),
        None => None,
    };
    // Under a supervisor, the journal it reads when the interpreter dies.
    let supervised = super::supervise::journal_given().flatten();
    let scratch = match (run.report.is_some()
        || run.summary.is_some()
        || run.junit.is_some()
        || baseline.is_some())
        && run.journal.is_none()
        && supervised.is_none()
    {
        true => Some(
            tempfile::Builder::new()
                .prefix("resilient-journal-")
                .suffix(".jsonl")
                .tempfile()
                .context("cannot make a scratch journal for the report")?,
        ),
        false => None,
    };
    let journal_path = run
        .journal
        .clone()
        .or(supervised)
        .or_else(|| scratch.as_ref().map(|s| s.path().to_path_buf()));
    let journal = match &journal_path {
        Some(path) => {
            let journal = resilient::journal::Journal::create(
                path,
                &host.session().settings(),
                Some(&file.display().to_string()),
            )
            .with_context(|| format!("cannot write the journal {}", path.display()))?;
            let journal = std::sync::Arc::new(journal);
            host.add_sink(journal.clone());
            Some(journal)
        }
        None => None,
    };
    super::crash_hook::install(&host);
    host.interrupt_on_ctrl_c(true);
    let result = host.run_file(file);
    let session = host.session().clone();
    let interrupted = session.interrupt().is_set();
    let stopped = session.interrupt().stop_reason();
    // Faults never outlive the run that injected them.
    let faults = session.ledger().faults();
    if !faults.is_empty() {
        if run.keep_faults {
            resilient::errln!(
                "{} faults left in place (--keep-faults): {}",
                "!".yellow().bold(),
                faults.join(", ")
            );
        } else {
            // What was rolled back is said by the terminal renderer (the
            // rollback event); a failure is said here, with what to do.
            match session.rollback_faults() {
                Ok(_) => {}
                Err(e) => resilient::errln!(
                    "{} could not roll back the faults ({}): {e}; run `failure::reset()` or destroy the deployment",
                    error_label(),
                    faults.join(", ")
                ),
            }
        }
    }
    let settings = session.settings();
    let left = session.resources();
    let left_now = left.as_ref().ok().cloned();
    if settings.backend == Backend::Local {
        if left.as_ref().is_ok_and(|l| !l.is_empty()) {
            resilient::outln!(
                "{}",
                "The script left resources running on the local cloud: stopping them.".dimmed()
            );
        }
    } else {
        report_left_on_aws(global, &settings, left);
    }
    host.shutdown().context("stopping the local cloud")?;
    let checks = session.checks().all();
    let failed = checks.iter().filter(|c| !c.passed).count();
    if !checks.is_empty() {
        resilient::outln!("checks: {} passed, {failed} failed", checks.len() - failed);
    }
    let exit = match &result {
        Err(_) if interrupted && stopped.is_none() => Exit::Interrupted,
        Err(_) => Exit::Failure,
        Ok(_) if failed > 0 => Exit::Failure,
        Ok(_) => Exit::Success,
    };
    if let Err(e) = &result {
        resilient::err!("{e}");
    }
    if let Some(journal) = &journal {
        let cause = (exit == Exit::Interrupted)
            .then(|| "interrupted by a signal (Ctrl-C, SIGTERM or SIGHUP)".to_string());
        journal.finish_because(
            exit.code(),
            &checks,
            left_now.as_deref().unwrap_or_default(),
            cause,
        );
        if let (Some(e), Some(path)) = (journal.write_error(), &journal_path) {
            resilient::errln!(
                "{} the journal {} is incomplete: a line could not be written ({e})",
                "!".yellow().bold(),
                path.display()
            );
        }
    }
    let made = |journal: &std::path::Path| -> Result<()> {
        if let Some(path) = &run.report {
            report(journal, path)?;
        }
        if let Some(path) = &run.summary {
            summary(journal, Some(path))?;
        }
        Ok(())
    };
    if let Some(journal_path) = &journal_path
        && let Err(e) = made(journal_path)
    {
        if let Some(scratch) = scratch
            && let Ok((_, kept)) = scratch.keep()
        {
            resilient::errln!("the run's journal is kept at {}", kept.display());
        }
        return Err(e);
    }
    if let Some(path) = &run.junit {
        let suite = file.display().to_string();
        let elapsed = session.bus().now_ms();
        let mut cases = checks.clone();
        if let Some(journal) = &journal_path {
            cases.extend(hypotheses(journal, elapsed));
        }
        let xml = resilient::journal::junit(&suite, &cases, elapsed);
        std::fs::write(path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
    }
    let mut exit = exit;
    if let (Some(base), Some(journal)) = (&baseline, &journal_path) {
        let new = super::compare::read(journal)?;
        let c = resilient::verdict::compare::compare(base, &new, tolerance);
        if super::compare::show(&c, tolerance) == Exit::Failure && exit == Exit::Success {
            exit = Exit::Failure;
        }
    }
    host.finish();
    Ok(exit)
}

/// Says what a run left deployed on AWS (it costs money) and how to remove it.
pub(super) fn report_left_on_aws(
    global: &GlobalArgs,
    settings: &Settings,
    left: resilient::Result<Vec<resilient::cloud::Resource>>,
) {
    match left {
        Ok(left) if left.is_empty() => {}
        Ok(left) => {
            let kinds = kinds_of(&left);
            resilient::errln!(
                "{} {} resources of the deployment {} are still on AWS ({}). Destroy them with:\n  {}",
                "!".yellow().bold(),
                left.len(),
                settings.prefix,
                kinds.join(", "),
                global.destroy_command(settings)
            );
        }
        Err(e) => resilient::errln!(
            "{} could not list what is still deployed ({e}); to remove whatever is left run:\n  {}",
            "!".yellow().bold(),
            global.destroy_command(settings)
        ),
    }
}

/// Each kind among `left` once, in alphabetical order (the list comes in
/// no particular order, so neighbours alone are not enough to de-duplicate).
fn kinds_of(left: &[resilient::cloud::Resource]) -> Vec<&str> {
    let kinds: std::collections::BTreeSet<&str> = left.iter().map(|r| r.kind.as_str()).collect();
    kinds.into_iter().collect()
}

/// The report, summary and JUnit a run asked for, made by its supervisor
/// from the journal when the interpreter died (`cause`): JUnit has the
/// run's checks, its hypotheses and one failed case naming the death.
pub(super) fn outputs_after_crash(
    run: &RunArgs,
    journal: &std::path::Path,
    cause: &str,
) -> Result<()> {
    if let Some(path) = &run.report {
        report(journal, path)?;
    }
    if let Some(path) = &run.summary {
        summary(journal, Some(path))?;
    }
    if let Some(path) = &run.junit {
        let read = resilient::journal::read(journal)
            .with_context(|| format!("cannot read the journal {}", journal.display()))?;
        let elapsed = read.end_ms();
        let mut cases = read.checks();
        cases.extend(hypotheses(journal, elapsed));
        cases.push(resilient::journal::CheckRecord {
            name: "the run ended with its outcome".into(),
            passed: false,
            detail: format!("{cause}; the supervisor rolled back and ended the run"),
            t_ms: elapsed,
        });
        let suite = read.header.script.unwrap_or_default();
        let xml = resilient::journal::junit(&suite, &cases, elapsed);
        std::fs::write(path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
    }
    Ok(())
}

/// One JUnit test case per fault's hypothesis (and the steady state's),
/// judged from the journal, when the script declared an objective (`slo`):
/// an inconclusive one passes, saying so.
fn hypotheses(journal: &std::path::Path, t_ms: u64) -> Vec<resilient::journal::CheckRecord> {
    let Ok(run) = resilient::journal::read(journal) else {
        return Vec::new();
    };
    let a = resilient::verdict::assess(&run);
    if !a.declared {
        return Vec::new();
    }
    std::iter::once(&a.steady_state)
        .chain(a.faults.iter().map(|f| &f.hypothesis))
        .map(|h| resilient::journal::CheckRecord {
            name: format!("hypothesis: {}", h.name),
            passed: h.outcome != resilient::verdict::Outcome::Fail,
            detail: format!("{}: {}", h.outcome, h.detail),
            t_ms,
        })
        .collect()
}

/// Writes the summary of a journal to `output`, or prints it.
pub(super) fn summary(journal: &std::path::Path, output: Option<&std::path::Path>) -> Result<()> {
    let run = resilient::journal::read(journal)
        .with_context(|| format!("cannot summarize {}", journal.display()))?;
    let text = serde_json::to_string_pretty(&resilient::verdict::summarize(&run))? + "\n";
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the summary {}", path.display())),
        None => {
            resilient::out!("{text}");
            Ok(())
        }
    }
}

/// Writes the HTML report of a journal.
pub(super) fn report(journal: &std::path::Path, output: &std::path::Path) -> Result<()> {
    let run = resilient::journal::read(journal)
        .with_context(|| format!("cannot make a report of {}", journal.display()))?;
    let html = resilient::report::render(&run);
    std::fs::write(output, html)
        .with_context(|| format!("cannot write the report {}", output.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resilient::cloud::Resource;
    use resilient::cloud::states::ResourceKind::{Instance, LoadBalancer, SecurityGroup};

    #[test]
    fn each_kind_left_is_named_once() {
        let left = [
            Resource::new(Instance, "i-1"),
            Resource::new(LoadBalancer, "lb"),
            Resource::new(Instance, "i-2"),
            Resource::new(SecurityGroup, "sg-1"),
            Resource::new(LoadBalancer, "lb-2"),
            Resource::new(Instance, "i-3"),
        ];
        assert_eq!(
            kinds_of(&left),
            ["instance", "load balancer", "security group"]
        );
    }
}

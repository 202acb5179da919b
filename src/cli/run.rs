//! `resilient run`: a script's run from start to verdict — journal, report
//! and JUnit, fault rollback, what is left deployed — and `resilient report`.

use super::ending::Facts;
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
    let tolerance = super::compare::checked(run.tolerance)?;
    let baseline = match &run.baseline {
        Some(path) => Some(super::compare::read(path)?),
        None => None,
    };
    // Every run keeps a journal: the verdict (the exit code), a report, a
    // summary, JUnit's hypotheses and a comparison are made from it. Without
    // --journal a scratch one, made with a random name and O_EXCL (no one
    // else's link is followed), removed at the end, kept and named if a
    // report could not be made of it.
    // Under a supervisor, the journal it made and reads if the interpreter dies.
    let supervised = super::supervise::journal_given().flatten();
    let scratch = match (&run.journal, &supervised) {
        (Some(_), _) | (_, Some(_)) => None,
        (None, None) => Some(
            tempfile::Builder::new()
                .prefix("resilient-journal-")
                .suffix(".jsonl")
                .tempfile()
                .context("cannot make a scratch journal for the run")?,
        ),
    };
    let journal_path = run
        .journal
        .clone()
        .or(supervised)
        .or_else(|| scratch.as_ref().map(|s| s.path().to_path_buf()))
        .unwrap_or_default();
    let journal = resilient::journal::Journal::create(
        &journal_path,
        &host.session().settings(),
        Some(&file.display().to_string()),
    )
    .with_context(|| format!("cannot write the journal {}", journal_path.display()))?;
    let journal = std::sync::Arc::new(journal);
    host.add_sink(journal.clone());
    let left_behind = std::sync::Arc::new(LeftBehind::default());
    host.add_sink(left_behind.clone());
    super::crash_hook::install(&host);
    host.interrupt_on_ctrl_c(true);
    let result = host.run_file(file);
    let session = host.session().clone();
    let mut facts = Facts {
        error: result.as_ref().err().map(|e| e.to_string()),
        interrupted: session.interrupt().is_set(),
        stopped: session.interrupt().stop_reason(),
        rollback_failed: roll_back(run, &session),
        ..Facts::default()
    };
    let settings = session.settings();
    let left = session.resources();
    let left_now = left.as_ref().ok().cloned().unwrap_or_default();
    if settings.backend == Backend::Local {
        if !left_now.is_empty() {
            resilient::outln!(
                "{}",
                "The script left resources running on the local cloud: stopping them.".dimmed()
            );
        }
    } else {
        report_left_on_aws(global, &settings, left);
    }
    host.shutdown().context("stopping the local cloud")?;
    let mut checks = session.checks().all();
    let failed = checks.iter().filter(|c| !c.passed).count();
    if !checks.is_empty() {
        resilient::outln!("checks: {} passed, {failed} failed", checks.len() - failed);
    }
    facts.checks = (checks.len(), failed);
    facts.left_behind = left_behind.names();
    // The hypotheses and the comparison read the journal as it stands, with
    // the outcome the run has so far.
    let mut so_far = resilient::journal::read(&journal_path).ok();
    let hypotheses = so_far.as_ref().map(hypotheses).unwrap_or_default();
    facts.hypotheses_failed = hypotheses
        .iter()
        .filter(|h| !h.passed)
        .map(|h| format!("{} ({})", h.name, h.detail))
        .collect();
    let mut comparison = None;
    if let (Some(base), Some(so_far)) = (&baseline, &mut so_far) {
        let (exit, reason) = facts.ending();
        so_far.outcome = Some(
            resilient::journal::RunOutcome::new(exit.code(), &checks, &left_now).because(reason),
        );
        let new = resilient::verdict::summarize(so_far);
        let c = resilient::verdict::compare::compare(base, &new, tolerance);
        super::compare::show(&c, tolerance);
        facts.regressions = c.rows.iter().filter(|r| r.regression).count();
        comparison = Some(c);
    }
    let (exit, reason) = facts.ending();
    if let Err(e) = &result {
        resilient::err!("{e}");
    }
    if let (Some(why), true) = (&reason, exit != Exit::Failure) {
        resilient::errln!("{} {why} (exit code {})", "✘".red().bold(), exit.code());
    }
    journal.finish(
        resilient::journal::RunOutcome::new(exit.code(), &checks, &left_now)
            .because(reason.clone()),
    );
    if let Some(e) = journal.write_error() {
        resilient::errln!(
            "{} the journal {} is incomplete: a line could not be written ({e})",
            "!".yellow().bold(),
            journal_path.display()
        );
    }
    let made = |journal: &std::path::Path| -> Result<()> {
        if let Some(path) = &run.report {
            report(journal, path, comparison.as_ref())?;
        }
        if let Some(path) = &run.summary {
            summary(journal, Some(path))?;
        }
        Ok(())
    };
    if let Err(e) = made(&journal_path) {
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
        checks.extend(hypotheses.into_iter().map(|mut h| {
            h.t_ms = elapsed;
            h
        }));
        if baseline.is_some() {
            checks.push(resilient::journal::CheckRecord {
                name: "no regression against the baseline".into(),
                passed: facts.regressions == 0,
                detail: format!(
                    "{} figure(s) worse beyond {} %",
                    facts.regressions,
                    tolerance.relative * 100.0
                ),
                t_ms: elapsed,
            });
        }
        let error = match exit {
            Exit::Success | Exit::CheckFailed | Exit::Regressed => None,
            _ => reason.as_deref(),
        };
        let xml = resilient::journal::junit(&suite, &checks, elapsed, error);
        std::fs::write(path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
    }
    host.finish();
    Ok(exit)
}

/// Rolls back the faults the run left injected (unless `--keep-faults`);
/// why it failed, if it did.
fn roll_back(run: &RunArgs, session: &resilient::Session) -> Option<String> {
    let faults = session.ledger().faults();
    if faults.is_empty() {
        return None;
    }
    if run.keep_faults {
        resilient::errln!(
            "{} faults left in place (--keep-faults): {}",
            "!".yellow().bold(),
            faults.join(", ")
        );
        return None;
    }
    // What was rolled back is said by the terminal renderer (the rollback
    // event); a failure is said here, with what to do.
    match session.rollback_faults() {
        Ok(_) => None,
        Err(e) => {
            resilient::errln!(
                "{} could not roll back the faults ({}): {e}; run `failure::reset()` or destroy the deployment",
                error_label(),
                faults.join(", ")
            );
            Some(format!("{} ({e})", faults.join(", ")))
        }
    }
}

/// Resources a destroy could not delete and no later destroy deleted: a
/// sink on the event stream.
#[derive(Default)]
struct LeftBehind(std::sync::Mutex<Vec<String>>);

impl LeftBehind {
    /// What is left, in words.
    fn names(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl resilient::events::Sink for LeftBehind {
    fn event(&self, event: &resilient::events::Event) {
        use resilient::events::EventKind::{Deleted, Left};
        let Ok(mut left) = self.0.lock() else {
            return;
        };
        match &event.kind {
            Left { kind, name, .. } => {
                let what = format!("{kind} {name}");
                if !left.contains(&what) {
                    left.push(what);
                }
            }
            Deleted { kind, name } => {
                let what = format!("{kind} {name}");
                left.retain(|l| *l != what);
            }
            _ => {}
        }
    }
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
/// run's checks, its hypotheses and the error case naming the death.
pub(super) fn outputs_after_crash(
    run: &RunArgs,
    journal: &std::path::Path,
    cause: &str,
) -> Result<()> {
    if let Some(path) = &run.report {
        report(journal, path, None)?;
    }
    if let Some(path) = &run.summary {
        summary(journal, Some(path))?;
    }
    if let Some(path) = &run.junit {
        let read = resilient::journal::read(journal)
            .with_context(|| format!("cannot read the journal {}", journal.display()))?;
        let elapsed = read.end_ms();
        let mut cases = read.checks();
        cases.extend(hypotheses(&read).into_iter().map(|mut h| {
            h.t_ms = elapsed;
            h
        }));
        let suite = read.header.script.clone().unwrap_or_default();
        let why = format!("{cause}; the supervisor rolled back and ended the run");
        let xml = resilient::journal::junit(&suite, &cases, elapsed, Some(&why));
        std::fs::write(path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
    }
    Ok(())
}

/// One JUnit test case per fault's hypothesis (and the steady state's),
/// judged from the journal, when the script declared an objective (`slo`):
/// an inconclusive one passes, saying so.
fn hypotheses(run: &resilient::journal::Run) -> Vec<resilient::journal::CheckRecord> {
    let a = resilient::verdict::assess(run);
    if !a.declared {
        return Vec::new();
    }
    std::iter::once(&a.steady_state)
        .chain(a.faults.iter().map(|f| &f.hypothesis))
        .map(|h| resilient::journal::CheckRecord {
            name: format!("hypothesis: {}", h.name),
            passed: h.outcome != resilient::verdict::Outcome::Fail,
            detail: format!("{}: {}", h.outcome, h.detail),
            t_ms: 0,
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

/// Writes the HTML report of a journal (against a baseline, when compared
/// with one).
pub(super) fn report(
    journal: &std::path::Path,
    output: &std::path::Path,
    baseline: Option<&resilient::verdict::compare::Comparison>,
) -> Result<()> {
    let run = resilient::journal::read(journal)
        .with_context(|| format!("cannot make a report of {}", journal.display()))?;
    let html = resilient::report::render_against(&run, baseline);
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

//! The supervisor of `resilient run`: the process forks first thing, once
//! its command line is parsed and before any thread or async runtime starts;
//! the child goes on as the interpreter (no second exec: the fork is all it
//! costs) and the parent, the supervisor, waits for it and outlives it. When the interpreter ends without its outcome —
//! an abort, a stack overflow, a panic, SIGKILL, the OOM killer, a closed
//! terminal — the supervisor rolls back from the journal what the run left
//! injected, writes the outcome with the cause, the report, summary and
//! JUnit asked for, says what is still deployed, and exits with
//! [`Exit::Crashed`]. Ctrl-C, SIGTERM and SIGHUP sent to the supervisor
//! alone are forwarded to the interpreter, which handles them as ever.
//!
//! The REPL is not supervised; `run --no-supervisor` (or
//! `RESILIENT_NO_SUPERVISOR=1`) runs the interpreter alone.

use super::{Cli, Command, GlobalArgs, RunArgs};
use anyhow::{Context, Result};
use colored::Colorize;
use resilient::Exit;
use resilient::settings::Backend;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// In the interpreter of a supervised run: the journal it must write when
/// the command line names none (`None` inside: the command line names one).
static GIVEN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// Set to something other than `0` or empty: run without a supervisor.
const OFF: &str = "RESILIENT_NO_SUPERVISOR";

/// Signals to forward to the interpreter, one bit each.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// The signals the supervisor catches and forwards. SIGQUIT (Ctrl-\\) is
/// caught so that it ends the interpreter only: the supervisor then ends
/// the run.
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Whether this process is the interpreter of a supervised run, and the
/// journal its supervisor gave it (none: the command line names one).
pub(super) fn journal_given() -> Option<Option<PathBuf>> {
    GIVEN.get().cloned()
}

/// Runs `cli` under a supervisor when it is a `run` that wants one: in the
/// supervisor, returns how the run ended; `None` when this process goes on
/// as the interpreter (the supervised child, or alone: not a run,
/// `--no-supervisor`).
pub(crate) fn maybe(cli: &Cli) -> Option<Exit> {
    let Some(Command::Run { run, .. }) = &cli.command else {
        return None;
    };
    let off = std::env::var_os(OFF).is_some_and(|v| !v.is_empty() && v != "0");
    if run.no_supervisor || off {
        return None;
    }
    match supervise(&cli.global, run) {
        Ok(exit) => exit,
        Err(e) => {
            resilient::errln!("{} {e:#}", super::error_label());
            Some(Exit::Failure)
        }
    }
}

/// A file's identity and state, to tell whether the interpreter wrote it.
fn stamp(path: &Path) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

fn supervise(global: &GlobalArgs, run: &RunArgs) -> Result<Option<Exit>> {
    let scratch = match &run.journal {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("resilient-journal-")
                .suffix(".jsonl")
                .tempfile()
                .context("cannot make a scratch journal for the supervisor")?,
        ),
    };
    let journal: PathBuf = match (&run.journal, &scratch) {
        (Some(path), _) => path.clone(),
        (None, Some(s)) => s.path().to_path_buf(),
        (None, None) => unreachable!("a scratch journal is made when none is named"),
    };
    let before = stamp(&journal);
    // Before the fork, so that no signal falls between it and the wait.
    install_handlers();
    let supervisor = std::process::id() as libc::pid_t;
    // SAFETY: no other thread runs yet (see `main`): the child gets a
    // consistent copy of the whole process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        anyhow::bail!(
            "cannot start the interpreter: {}",
            std::io::Error::last_os_error()
        );
    }
    if pid == 0 {
        // The interpreter: the default actions back (the interpreter sets
        // its own handlers), the scratch journal is the supervisor's to
        // remove, and it does not outlive its supervisor — killing the
        // supervisor (kill -9) kills the run as a group kill does, and
        // `resilient recover` finishes the job from the journal.
        for sig in FORWARDED {
            // SAFETY: restores a default action.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
        // SAFETY: prctl and getppid have no memory effects.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != supervisor {
                libc::_exit(i32::from(Exit::Crashed.code()));
            }
        }
        let given = scratch.as_ref().map(|s| s.path().to_path_buf());
        std::mem::forget(scratch);
        let _ = GIVEN.set(given);
        return Ok(None);
    }
    let status = wait(pid);
    let cause = match status {
        Status::Exited(code) => {
            format!("the interpreter exited with status {code} without the run's outcome")
        }
        Status::Signaled(sig) => format!(
            "the interpreter was killed by signal {sig} ({})",
            signal_name(sig)
        ),
    };
    let wrote = stamp(&journal) != before;
    let has_outcome = wrote && resilient::journal::ends_with_outcome(&journal);
    if let (Status::Exited(code), true) = (status, has_outcome || !wrote) {
        // The interpreter ended the run itself (or never began it: a bad
        // command line, a file that cannot be read).
        return Ok(Some(
            Exit::ALL
                .into_iter()
                .find(|e| i32::from(e.code()) == code)
                .unwrap_or(Exit::Failure),
        ));
    }
    resilient::errln!(
        "\n{} {cause}: ending the run from its journal",
        "✘".red().bold()
    );
    if !wrote {
        resilient::errln!("the run had not begun: there is nothing to roll back");
        return Ok(Some(Exit::Crashed));
    }
    // Interrupted twice, the interpreter left at once: the run still ends
    // here (rollback, outcome), as interrupted.
    let exit = match status {
        Status::Exited(code) if code == i32::from(Exit::Interrupted.code()) => Exit::Interrupted,
        _ => Exit::Crashed,
    };
    let ended = super::recover::end(global, &journal, &cause, exit.code());
    let kept = match scratch {
        Some(s) => s.keep().map(|(_, p)| p).unwrap_or(journal.clone()),
        None => journal.clone(),
    };
    let ended = ended?;
    let hint = ended.rollback_error.is_none() && ended.settings.backend == Backend::Aws;
    super::recover::tell(global, ended, &kept);
    super::run::outputs_after_crash(run, &kept, &cause)?;
    resilient::errln!(
        "the run's journal is {}{}",
        kept.display(),
        match hint {
            true => format!(
                " (should anything it says was injected still be, `resilient recover {}` undoes it)",
                kept.display()
            ),
            false => String::new(),
        }
    );
    Ok(Some(exit))
}

/// How the interpreter ended.
#[derive(Debug, Clone, Copy)]
enum Status {
    Exited(i32),
    Signaled(i32),
}

/// Waits for the interpreter, forwarding the signals the supervisor gets
/// meanwhile.
fn wait(pid: libc::pid_t) -> Status {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status it is given.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        forward(pid);
        if r == pid {
            if libc::WIFEXITED(status) {
                return Status::Exited(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Status::Signaled(libc::WTERMSIG(status));
            }
        } else if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            return Status::Exited(i32::from(Exit::Failure.code()));
        }
    }
}

/// Sends the interpreter the signals received since the last call.
fn forward(pid: libc::pid_t) {
    let pending = PENDING.swap(0, Ordering::SeqCst);
    for sig in FORWARDED {
        if pending & (1 << sig) != 0 {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(pid, sig) };
        }
    }
}

/// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT no longer end the supervisor: each
/// is noted, to be forwarded, unless the terminal sent it (its Ctrl-C and
/// Ctrl-\\ reach the whole foreground group, the interpreter too). A
/// hang-up is always forwarded: the kernel tells only the session leader,
/// which the supervisor may be (a signal that reaches the interpreter twice
/// counts once, see `Host::interrupt_on_ctrl_c`).
fn install_handlers() {
    extern "C" fn note(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let code = unsafe { (*info).si_code };
        if code != libc::SI_KERNEL || sig == libc::SIGHUP {
            PENDING.fetch_or(1 << sig, Ordering::SeqCst);
        }
    }
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with a handler of the SA_SIGINFO shape;
        // the handler only touches an atomic. No SA_RESTART: waitpid returns
        // EINTR, and the signal is forwarded at once.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// A signal's name (`SIGKILL`).
fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(6), "SIGABRT");
    }
}

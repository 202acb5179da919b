//! The `resilient` command line.

mod cli;

use clap::{CommandFactory, FromArgMatches};
use resilient::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    // What `Cli::parse()` does, except that the command tree (every option
    // of every command) is left to the operating system at exit instead of
    // being freed piece by piece.
    let mut command = std::mem::ManuallyDrop::new(cli::Cli::command());
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|matches| cli::Cli::from_arg_matches(&matches));
    let args = match parsed {
        Ok(args) => args,
        Err(e) => {
            // Help and version go to stdout and succeed; a usage error goes
            // to stderr with its own code (clap's, see `Exit::Usage`).
            let e = e.format(&mut command);
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    cli::setup_color();
    // A run keeps a supervisor that outlives its interpreter: this process,
    // before any thread starts; the interpreter is its child.
    if let Some(exit) = cli::supervise::maybe(&args) {
        return exit.into();
    }
    on_a_large_stack(move || match cli::run(args) {
        Ok(exit) => exit,
        Err(e) => {
            resilient::errln!("{} {e:#}", cli::error_label());
            Exit::Failure
        }
    })
    .into()
}

/// The stack the interpreter runs on. Scripts recurse through Rhai (values
/// nested to the sandbox's limits, chains of closures built within the
/// operation budget, compared, printed or dropped): the main thread's 8 MiB
/// would overflow and abort the process with faults injected. Only the
/// pages used are ever committed.
const STACK_BYTES: usize = 1 << 30;

/// Runs `work` on a thread with [`STACK_BYTES`] of stack, or here when such
/// a thread cannot be made (an address-space limit, `ulimit -v`).
fn on_a_large_stack(work: impl FnOnce() -> Exit + Send + 'static) -> Exit {
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let on_thread = work.clone();
    let spawned = std::thread::Builder::new()
        .name("interpreter".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let work = on_thread.lock().ok().and_then(|mut w| w.take());
            work.map(|work| work())
        });
    match spawned.map(|t| t.join()) {
        Ok(Ok(Some(exit))) => exit,
        // A panic on the thread was printed there (a bug, not user input).
        Ok(Ok(None) | Err(_)) => Exit::Failure,
        Err(_) => {
            let work = work.lock().ok().and_then(|mut w| w.take());
            work.map_or(Exit::Failure, |work| work())
        }
    }
}

#[cfg(test)]
mod tests {
    use resilient::Exit;

    #[test]
    fn a_usage_error_exits_with_clap_s_own_code() {
        let e = clap::Error::new(clap::error::ErrorKind::UnknownArgument);
        assert_eq!(e.exit_code(), i32::from(Exit::Usage.code()));
        let help = clap::Error::new(clap::error::ErrorKind::DisplayHelp);
        assert_eq!(help.exit_code(), i32::from(Exit::Success.code()));
    }
}

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
    on_a_large_stack(|| match cli::run(args) {
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

/// Runs `work` on a stack of [`STACK_BYTES`] mapped here, below a guard
/// page, on this same thread (no thread to start, and the allocator's main
/// arena: a thread's own arena grows a page at a time), or on the current
/// stack when it cannot be mapped (an address-space limit, `ulimit -v`).
/// Going past its end is a SIGSEGV, which the supervisor of `resilient
/// run` reports and ends the run after.
fn on_a_large_stack(work: impl FnOnce() -> Exit) -> Exit {
    // SAFETY: sysconf has no memory effects.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let mapped = STACK_BYTES + page;
    // SAFETY: a new private anonymous mapping, owned here until unmapped.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            mapped,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return work();
    }
    // SAFETY: the first page of the mapping made above becomes the guard.
    if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
        // SAFETY: the mapping made above, not used.
        unsafe { libc::munmap(base, mapped) };
        return work();
    }
    // SAFETY: the stack is page-aligned, its size a multiple of the page,
    // above its guard page and unused; the callback cannot unwind (a panic
    // is caught and resumed once back on this stack).
    let ran = unsafe {
        psm::on_stack(base.cast::<u8>().add(page), STACK_BYTES, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        })
    };
    // SAFETY: nothing runs on the stack any more.
    unsafe { libc::munmap(base, mapped) };
    ran.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
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

//! The process's exit codes, in one place: the command line maps every
//! outcome to one of these, and the README's table lists them.

/// How a `resilient` process ends, and the code it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked was done and every `check::` passed.
    Success,
    /// Something failed: a script error, a failed `check::`, a stop
    /// condition, an incomplete destroy, a script that does not compile, a
    /// failed preflight check, a file that cannot be read or written.
    Failure,
    /// Bad usage: the command line does not parse, or asks for something
    /// the chosen backend does not do (`preflight --policy` on the local
    /// cloud). Clap's own code for usage errors.
    Usage,
    /// Interrupted by Ctrl-C, SIGTERM or SIGHUP before the run ended (a stop
    /// condition is a failure instead): 128 + SIGINT, as shells report it.
    Interrupted,
}

impl Exit {
    /// Every exit, in the order of their codes (for the README's table and its test).
    pub const ALL: [Exit; 4] = [Exit::Success, Exit::Failure, Exit::Usage, Exit::Interrupted];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }

    /// Ends the process now with this code (output is flushed first).
    pub fn now(self) -> ! {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(i32::from(self.code()))
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    }
}

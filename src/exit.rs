//! The process's exit codes, in one place: the command line maps every
//! outcome to one of these, and the README's table lists them.

/// How a `resilient` process ends, and the code it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked was done and every `check::` passed.
    Success,
    /// An error: the script does not compile or failed at a statement, a
    /// cloud call failed, a file cannot be read or written, a preflight check
    /// failed.
    Failure,
    /// Bad usage: the command line does not parse, or asks for something
    /// the chosen backend does not do (`preflight --policy` on the local
    /// cloud). Clap's own code for usage errors.
    Usage,
    /// The run ended, but a `check::` or a fault's hypothesis (the objective
    /// declared with `slo`) did not hold: the service did not survive as
    /// claimed.
    CheckFailed,
    /// A guardrail (a load's stop condition) stopped the run; the faults it
    /// had injected were rolled back.
    Stopped,
    /// `compare` (or `run --baseline`) found a measurement worse than the
    /// baseline beyond the tolerance.
    Regressed,
    /// Cleanup did not finish: a rollback or a destroy left something behind
    /// (the outcome names it and the command that finishes the job).
    Incomplete,
    /// The interpreter died without its outcome (a crash, a kill, a closed
    /// terminal); the supervisor rolled back what the journal says was
    /// injected and wrote the outcome, report and JUnit.
    Crashed,
    /// Interrupted by Ctrl-C, SIGTERM or SIGHUP before the run ended (a stop
    /// condition is a failure instead): 128 + SIGINT, as shells report it.
    Interrupted,
}

impl Exit {
    /// Every exit, in the order of their codes (for the README's table and its test).
    pub const ALL: [Exit; 9] = [
        Exit::Success,
        Exit::Failure,
        Exit::Usage,
        Exit::CheckFailed,
        Exit::Stopped,
        Exit::Regressed,
        Exit::Incomplete,
        Exit::Crashed,
        Exit::Interrupted,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::CheckFailed => 3,
            Exit::Stopped => 4,
            Exit::Regressed => 5,
            Exit::Incomplete => 6,
            Exit::Crashed => 7,
            Exit::Interrupted => 130,
        }
    }

    /// What the code means, in the words of the README's table (a test
    /// keeps the two in step).
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Success => {
                "passed: the script ran to its end, every `check::` held and every hypothesis of its objective held"
            }
            Exit::Failure => {
                "an error: the script does not compile or failed at a statement, a cloud call failed, a file cannot be read or written, a preflight check failed"
            }
            Exit::Usage => {
                "bad usage: the command line does not parse (or `preflight --policy` without `--backend aws`)"
            }
            Exit::CheckFailed => {
                "the run ended but a `check::` or a fault's hypothesis (the objective declared with `slo`) did not hold"
            }
            Exit::Stopped => {
                "a guardrail (a load's `stop_below`) stopped the run; the faults were rolled back"
            }
            Exit::Regressed => {
                "`compare` or `run --baseline`: a figure is worse than the baseline beyond the tolerance"
            }
            Exit::Incomplete => {
                "cleanup incomplete: a fault could not be rolled back or a destroy left resources behind (the message names them and the command that finishes the job)"
            }
            Exit::Crashed => {
                "the interpreter died without its outcome (a crash, a kill, a closed terminal); its supervisor rolled back and wrote the outcome, report and JUnit"
            }
            Exit::Interrupted => {
                "interrupted: Ctrl-C, SIGTERM or SIGHUP; the faults were rolled back"
            }
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

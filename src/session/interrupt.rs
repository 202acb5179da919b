//! Stopping a run: the flag Ctrl-C (or a stop condition) sets, and why it
//! was set.

use crate::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Why a run was halted before its end: not a script error, a decision
/// taken from outside the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Ctrl-C, SIGTERM or SIGHUP (the signal handler cannot tell them apart).
    Interrupted,
    /// A stop condition ended it (like an AWS FIS stop condition); the
    /// condition in words.
    Stopped(String),
}

impl Halt {
    /// The library error a cancelled call ends with.
    pub fn to_error(&self) -> Error {
        match self {
            Halt::Interrupted => Error::Interrupted,
            Halt::Stopped(reason) => Error::Stopped(reason.clone()),
        }
    }

    /// The halt a library error stands for, if it stands for one.
    pub fn of_error(error: &Error) -> Option<Halt> {
        match error {
            Error::Interrupted => Some(Halt::Interrupted),
            Error::Stopped(reason) => Some(Halt::Stopped(reason.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Halt::Interrupted => f.write_str("interrupted (Ctrl-C, SIGTERM or SIGHUP)"),
            Halt::Stopped(reason) => write!(f, "stopped: {reason}"),
        }
    }
}

/// The interrupt state of a session: one flag that Ctrl-C and stop
/// conditions set (scripts and cloud calls stop when it is set), and the
/// stop condition's reason when it was one.
#[derive(Debug, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    stop_reason: Mutex<Option<String>>,
}

impl Interrupt {
    /// The flag Ctrl-C sets; scripts and cloud calls stop when it is set.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// Whether the run is being halted now.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Clears a previous interrupt or stop (the REPL does this before each input).
    pub fn clear(&self) {
        self.flag.store(false, Ordering::SeqCst);
        *crate::sync::lock(&self.stop_reason) = None;
    }

    /// Stops the running script as Ctrl-C does, for `reason` (a stop
    /// condition): the script ends with an error naming it. The first
    /// reason given is kept.
    pub fn stop(&self, reason: String) {
        let mut slot = crate::sync::lock(&self.stop_reason);
        slot.get_or_insert(reason);
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Why the run was stopped, if a stop condition stopped it.
    pub fn stop_reason(&self) -> Option<String> {
        crate::sync::lock(&self.stop_reason).clone()
    }

    /// What halts the run if the flag is set: the stop condition, or Ctrl-C.
    pub fn halt(&self) -> Halt {
        match self.stop_reason() {
            Some(reason) => Halt::Stopped(reason),
            None => Halt::Interrupted,
        }
    }

    /// Clears the flag (not the reason) and returns what it was, so cleanup
    /// can run after a halt; [`Interrupt::restore`] puts it back.
    pub(crate) fn suspend(&self) -> bool {
        self.flag.swap(false, Ordering::SeqCst)
    }

    /// Puts back the flag [`Interrupt::suspend`] returned.
    pub(crate) fn restore(&self, was: bool) {
        self.flag.store(was, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_condition_is_kept_until_cleared_and_names_the_halt() {
        let i = Interrupt::default();
        assert!(!i.is_set());
        assert_eq!(i.halt(), Halt::Interrupted);
        i.stop("stop condition: first".into());
        i.stop("stop condition: second".into());
        assert!(i.is_set());
        assert_eq!(i.halt(), Halt::Stopped("stop condition: first".into()));
        assert_eq!(i.halt().to_string(), "stopped: stop condition: first");
        assert!(matches!(i.halt().to_error(), Error::Stopped(_)));
        i.clear();
        assert!(!i.is_set());
        assert_eq!(i.stop_reason(), None);
    }

    #[test]
    fn errors_that_stand_for_a_halt_are_recognised_by_variant() {
        assert_eq!(Halt::of_error(&Error::Interrupted), Some(Halt::Interrupted));
        assert_eq!(
            Halt::of_error(&Error::Stopped("x".into())),
            Some(Halt::Stopped("x".into()))
        );
        assert_eq!(Halt::of_error(&Error::InvalidArgument("x".into())), None);
    }
}

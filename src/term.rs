//! Standard output that survives a closed pipe: `resilient docs | head -1`
//! and `resilient run … | head` end quietly instead of panicking. Once the
//! reader is gone, output is dropped and the run goes on to its end (and its
//! cleanup): a run that manages cloud resources must not stop half-way
//! because nobody reads its output.
//!
//! Color is decided per stream ([`set_color`]): text is styled (by
//! `colored`) when either stream shows color, and [`write_out`] and
//! [`write_err`] strip the styles from the stream that does not, so
//! `resilient run x > log` keeps red errors on the terminal and a plain log.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static OUT_COLOR: AtomicBool = AtomicBool::new(false);
static ERR_COLOR: AtomicBool = AtomicBool::new(false);
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Which streams show color: each one when it is a terminal, neither when
/// `NO_COLOR` is set to something (an empty `NO_COLOR` does not count).
pub fn color_choice(stdout_terminal: bool, stderr_terminal: bool, no_color: bool) -> (bool, bool) {
    (stdout_terminal && !no_color, stderr_terminal && !no_color)
}

/// Decides color for both streams from the process's own (see
/// [`color_choice`]), and styles text when either shows it.
pub fn setup_color() {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (out, err) = color_choice(
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
        no_color,
    );
    set_color(out, err);
}

/// Sets which streams show color; text is styled when either does.
pub fn set_color(stdout: bool, stderr: bool) {
    OUT_COLOR.store(stdout, Ordering::Relaxed);
    ERR_COLOR.store(stderr, Ordering::Relaxed);
    CONFIGURED.store(true, Ordering::Relaxed);
    colored::control::set_override(stdout || stderr);
}

/// Whether standard output shows color: as [`set_color`] said, else (an
/// embedder that never called it) as `colored` decides.
pub fn stdout_color() -> bool {
    if CONFIGURED.load(Ordering::Relaxed) {
        OUT_COLOR.load(Ordering::Relaxed)
    } else {
        colored::control::SHOULD_COLORIZE.should_colorize()
    }
}

/// Whether standard error shows color (log lines follow it too).
pub fn stderr_color() -> bool {
    ERR_COLOR.load(Ordering::Relaxed)
}

/// `args` as text for a stream: unchanged when that stream shows color or
/// when nothing is styled, else without its styles.
fn for_stream(args: std::fmt::Arguments<'_>, color: bool) -> Option<String> {
    let styled = OUT_COLOR.load(Ordering::Relaxed) || ERR_COLOR.load(Ordering::Relaxed);
    (styled && !color).then(|| anstream::adapter::strip_str(&args.to_string()).to_string())
}

/// Writes to standard error, with a newline if `newline`, without styles
/// unless standard error shows color.
pub fn write_err(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut err = std::io::stderr().lock();
    let _ = match for_stream(args, ERR_COLOR.load(Ordering::Relaxed)) {
        Some(plain) => err.write_all(plain.as_bytes()),
        None => err.write_fmt(args),
    }
    .and_then(|()| {
        if newline {
            err.write_all(b"\n")
        } else {
            Ok(())
        }
    });
}

/// Writes to standard output, with a newline if `newline`; a closed pipe
/// silences every later write. Styles are stripped unless standard output
/// shows color.
pub fn write_out(args: std::fmt::Arguments<'_>, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let plain = for_stream(args, OUT_COLOR.load(Ordering::Relaxed));
    let mut out = std::io::stdout().lock();
    let written = match &plain {
        Some(plain) => out.write_all(plain.as_bytes()),
        None => out.write_fmt(args),
    }
    .and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Flushes standard output (before reading an answer), quietly.
pub fn flush() {
    let _ = std::io::stdout().flush();
}

/// `println!` that survives a closed pipe.
#[doc(hidden)]
#[macro_export]
macro_rules! outln {
    () => {
        $crate::term::write_out(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::term::write_out(format_args!($($arg)*), true)
    };
}

/// `print!` that survives a closed pipe.
#[doc(hidden)]
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::term::write_out(format_args!($($arg)*), false)
    };
}

/// `eprintln!` that strips styles unless standard error shows color.
#[doc(hidden)]
#[macro_export]
macro_rules! errln {
    () => {
        $crate::term::write_err(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::term::write_err(format_args!($($arg)*), true)
    };
}

/// `eprint!` that strips styles unless standard error shows color.
#[doc(hidden)]
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::term::write_err(format_args!($($arg)*), false)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_follows_its_own_terminal() {
        assert_eq!(color_choice(true, false, false), (true, false));
        assert_eq!(color_choice(false, true, false), (false, true));
        assert_eq!(color_choice(true, true, true), (false, false));
    }
}

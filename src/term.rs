//! Standard output that survives a closed pipe: `resilient docs | head -1`
//! and `resilient run … | head` end quietly instead of panicking. Once the
//! reader is gone, output is dropped and the run goes on to its end (and its
//! cleanup): a run that manages cloud resources must not stop half-way
//! because nobody reads its output.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output, with a newline if `newline`; a closed pipe
/// silences every later write.
pub fn write_out(args: std::fmt::Arguments<'_>, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
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
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::term::write_out(format_args!($($arg)*), false)
    };
}

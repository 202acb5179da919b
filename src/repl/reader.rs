//! Where the REPL's inputs come from, on a thread of their own so the
//! session can leave while a read is blocked (SIGTERM, SIGHUP): the line
//! editor at a terminal, or piped lines; and the signals that end the REPL.

use super::helper::{ReplHelper, Words};
use rustyline::Editor;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::{DefaultHistory, History};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a waiting read looks whether the REPL is leaving.
const LOOK: Duration = Duration::from_millis(100);

/// What the REPL asks of the reading thread.
enum Ask {
    /// The next line, after this prompt.
    Read(String),
    /// Add this input to the history.
    Remember(String),
    /// Save the history and end.
    Finish,
}

/// The reading thread.
pub(super) struct Reader {
    asks: mpsc::Sender<Ask>,
    lines: mpsc::Receiver<rustyline::Result<String>>,
    thread: Option<std::thread::JoinHandle<()>>,
    at_terminal: bool,
}

impl Reader {
    /// Starts reading: the line editor (history from `history`) at a
    /// terminal, piped lines otherwise.
    pub(super) fn start(
        words: Arc<Mutex<Words>>,
        color: bool,
        history: Option<PathBuf>,
    ) -> rustyline::Result<Self> {
        let at_terminal = std::io::stdin().is_terminal();
        let (asks, asked) = mpsc::channel::<Ask>();
        let (answer, lines) = mpsc::channel();
        let (ready, started) = mpsc::channel::<rustyline::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("repl-input".into())
            .spawn(move || {
                let mut source = match Source::open(at_terminal, words, color, history.as_ref()) {
                    Ok(source) => {
                        let _ = ready.send(Ok(()));
                        source
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                for ask in asked {
                    match ask {
                        Ask::Read(prompt) => {
                            if answer.send(source.read(&prompt)).is_err() {
                                break;
                            }
                        }
                        Ask::Remember(line) => source.remember(&line),
                        Ask::Finish => break,
                    }
                }
                source.save(history.as_ref());
            })?;
        started.recv().unwrap_or(Err(ReadlineError::Eof))?;
        Ok(Reader {
            asks,
            lines,
            thread: Some(thread),
            at_terminal,
        })
    }

    /// The next input after `prompt`; none if `leaving` turns true first.
    pub(super) fn read(
        &self,
        prompt: String,
        leaving: impl Fn() -> bool,
    ) -> Option<rustyline::Result<String>> {
        if self.asks.send(Ask::Read(prompt)).is_err() {
            return Some(Err(ReadlineError::Eof));
        }
        loop {
            match self.lines.recv_timeout(LOOK) {
                Ok(line) => return Some(line),
                Err(RecvTimeoutError::Disconnected) => return Some(Err(ReadlineError::Eof)),
                Err(RecvTimeoutError::Timeout) if leaving() => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Adds an input to the history.
    pub(super) fn remember(&self, line: &str) {
        let _ = self.asks.send(Ask::Remember(line.to_string()));
    }

    /// Saves the history and ends the thread; when it is still blocked in a
    /// read (the REPL leaves on a signal), the terminal is set back to
    /// normal instead, as the line editor would on its way out.
    pub(super) fn finish(mut self, blocked: bool) {
        if blocked {
            if self.at_terminal {
                let _ = std::process::Command::new("stty")
                    .arg("sane")
                    .stdin(std::process::Stdio::inherit())
                    .status();
            }
            return;
        }
        let _ = self.asks.send(Ask::Finish);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The line editor or piped lines.
enum Source {
    Editor(Box<Editor<ReplHelper, DefaultHistory>>),
    /// Piped lines, and the history they add to.
    Piped(PipedLines<std::io::StdinLock<'static>>, Box<DefaultHistory>),
}

impl Source {
    fn open(
        at_terminal: bool,
        words: Arc<Mutex<Words>>,
        color: bool,
        history: Option<&PathBuf>,
    ) -> rustyline::Result<Self> {
        if !at_terminal {
            let mut kept = DefaultHistory::new();
            if let Some(h) = history {
                let _ = kept.load(h);
            }
            return Ok(Source::Piped(
                PipedLines::new(std::io::stdin().lock()),
                Box::new(kept),
            ));
        }
        let config = Config::builder()
            .completion_type(CompletionType::List)
            .auto_add_history(false)
            .max_history_size(5_000)?
            .build();
        let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
        editor.set_helper(Some(ReplHelper::new(words, color)));
        if let Some(h) = history {
            let _ = editor.load_history(h);
        }
        Ok(Source::Editor(Box::new(editor)))
    }

    fn read(&mut self, prompt: &str) -> rustyline::Result<String> {
        match self {
            Source::Editor(e) => e.readline(prompt),
            Source::Piped(p, _) => p.next(),
        }
    }

    fn remember(&mut self, line: &str) {
        let _ = match self {
            Source::Editor(e) => e.add_history_entry(line),
            Source::Piped(_, kept) => kept.add(line),
        };
    }

    fn save(&mut self, history: Option<&PathBuf>) {
        let Some(h) = history else {
            return;
        };
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = match self {
            Source::Editor(e) => e.save_history(h),
            Source::Piped(_, kept) => kept.save(h),
        };
    }
}

/// Ctrl-C, SIGTERM and SIGHUP in the REPL: while an input runs, Ctrl-C
/// stops its running call and the session goes on (at a terminal, Ctrl-C
/// while the REPL waits is the line editor's: it clears the line); SIGTERM
/// and SIGHUP stop the running call too, then end the session with its
/// farewell, as any of the three does while the REPL waits for input.
pub(super) struct Signals {
    leave: Arc<AtomicBool>,
    busy: Arc<AtomicBool>,
}

/// Set by SIGTERM or SIGHUP: the REPL leaves once the running input stops.
static TERMINATED: AtomicBool = AtomicBool::new(false);

impl Signals {
    /// Installs the handlers; `interrupt` is the session's interrupt flag.
    pub(super) fn install(interrupt: Arc<AtomicBool>) -> Self {
        let leave = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicBool::new(false));
        let (l, b) = (leave.clone(), busy.clone());
        let _ = ctrlc::set_handler(move || {
            if b.load(Ordering::SeqCst) {
                interrupt.store(true, Ordering::SeqCst);
                let then = match TERMINATED.load(Ordering::SeqCst) {
                    true => ", then leaving the REPL",
                    false => "",
                };
                // A dead terminal is not an error here.
                let _ = writeln!(
                    std::io::stderr(),
                    "\ninterrupted: stopping the running call{then}"
                );
            } else {
                l.store(true, Ordering::SeqCst);
            }
        });
        // ctrlc handles the three signals alike; SIGTERM and SIGHUP are
        // told apart here, noted, and handed on to it as a Ctrl-C.
        extern "C" fn terminated(_: libc::c_int) {
            TERMINATED.store(true, Ordering::SeqCst);
            // SAFETY: raise is async-signal-safe; ctrlc's SIGINT handler
            // only writes to its pipe.
            unsafe { libc::raise(libc::SIGINT) };
        }
        for sig in [libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with a plain handler that touches
            // an atomic and raises a signal; calls it interrupts restart,
            // as under ctrlc's own handler.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = terminated as *const () as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
        Signals { leave, busy }
    }

    /// Whether a signal asked the REPL to leave (SIGTERM or SIGHUP at any
    /// time, Ctrl-C while it waits for input).
    pub(super) fn leaving(&self) -> bool {
        self.leave.load(Ordering::SeqCst) || TERMINATED.load(Ordering::SeqCst)
    }

    /// What ended the session, once [`Signals::leaving`].
    pub(super) fn why(&self) -> &'static str {
        match TERMINATED.load(Ordering::SeqCst) {
            true => "terminated (SIGTERM or SIGHUP)",
            false => "interrupted (Ctrl-C)",
        }
    }

    /// Marks an input as running (Ctrl-C stops it) or not (signals leave).
    pub(super) fn busy(&self, running: bool) {
        self.busy.store(running, Ordering::SeqCst);
    }
}

/// Lines of piped input. rustyline's own reader for a pipe re-validates the
/// whole input at every line (quadratic for a pasted block) and ends the
/// session at the first byte that is not UTF-8; here the gatherer decides
/// when an input is whole, and such bytes become U+FFFD with a warning.
pub(super) struct PipedLines<R> {
    reader: R,
    line: usize,
    bytes: Vec<u8>,
}

impl<R: std::io::BufRead> PipedLines<R> {
    fn new(reader: R) -> Self {
        PipedLines {
            reader,
            line: 0,
            bytes: Vec::new(),
        }
    }

    /// The next line without its line ending; `Eof` at the end.
    fn next(&mut self) -> rustyline::Result<String> {
        self.bytes.clear();
        if self.reader.read_until(b'\n', &mut self.bytes)? == 0 {
            return Err(ReadlineError::Eof);
        }
        self.line += 1;
        let mut end = self.bytes.len();
        while end > 0 && matches!(self.bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let text = String::from_utf8_lossy(&self.bytes[..end]);
        if let std::borrow::Cow::Owned(_) = text {
            eprintln!(
                "warning: input line {} is not valid UTF-8; the bytes that are not were replaced with U+FFFD",
                self.line
            );
        }
        Ok(text.into_owned())
    }
}

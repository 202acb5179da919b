//! Writing a journal: one JSON line per [`Line`], flushed per line so a
//! killed process leaves a journal whose every line parses. The outcome is
//! always the last line: once it is written the journal is closed, and an
//! event still arriving (a background watcher's last state change) is
//! dropped rather than written after it.

use super::line::{Header, Line, RunOutcome};
use crate::events::{Event, Sink};
use crate::settings::Settings;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// A journal being written.
pub struct Journal {
    /// `None` once the outcome is written.
    file: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    /// The first write that failed (a full disk), for the caller to report.
    failed: Mutex<Option<String>>,
}

impl Journal {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, settings: &Settings, script: Option<&str>) -> std::io::Result<Self> {
        // Not `File::create`: truncating makes ext4 write the file back when
        // it is closed (its guard for files replaced by truncation), which
        // a fresh scratch journal has no use for.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() > 0 {
            file.set_len(0)?;
        }
        let journal = Journal {
            file: Mutex::new(Some(std::io::BufWriter::new(file))),
            failed: Mutex::new(None),
        };
        journal.line(&Line::Header(Header::new(settings, script)));
        Ok(journal)
    }

    /// Opens the journal of a run that ended without its outcome (its
    /// interpreter died), to add the lines its supervisor or `resilient
    /// recover` writes: a last line cut short by the death is dropped first,
    /// so every line still parses.
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)?;
        let text = std::fs::read(path)?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            file.set_len(whole as u64)?;
        }
        file.flush()?;
        Ok(Journal {
            file: Mutex::new(Some(std::io::BufWriter::new(file))),
            failed: Mutex::new(None),
        })
    }

    /// Writes the last line, how the run ended, and closes the journal:
    /// nothing is written after it.
    pub fn finish(&self, outcome: RunOutcome) {
        self.line(&Line::Outcome(outcome));
        crate::sync::lock(&self.file).take();
    }

    /// Why a line could not be written (the first failure), if one could not:
    /// the journal on disk is then incomplete.
    pub fn write_error(&self) -> Option<String> {
        crate::sync::lock(&self.failed).clone()
    }

    /// Writes one line and flushes it (a line never stays half in a buffer).
    /// A fault's line is also synced to the disk before the fault is made:
    /// what `resilient recover` reads after a reboot.
    fn line(&self, line: &Line) {
        let durable = matches!(line, Line::Event(e)
            if matches!(e.known(), Some(crate::events::EventKind::Fault { .. })));
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        let mut slot = crate::sync::lock(&self.file);
        let Some(file) = slot.as_mut() else {
            return;
        };
        let written = file.write_all(text.as_bytes()).and_then(|()| file.flush());
        let written = match durable {
            true => written.and_then(|()| file.get_ref().sync_data()),
            false => written,
        };
        if let Err(e) = written {
            crate::sync::lock(&self.failed).get_or_insert_with(|| e.to_string());
        }
    }
}

impl Sink for Journal {
    fn event(&self, event: &Event) {
        self.line(&Line::Event(event.clone().into()));
    }

    fn wants_state(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[test]
    fn nothing_is_written_after_the_outcome() {
        let dir = std::env::temp_dir().join(format!("resilient-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j.jsonl");
        let journal = Journal::create(&path, &Settings::default(), None).unwrap();
        let bus = crate::events::Bus::default();
        let event = |text: &str| Event {
            t_ms: bus.now_ms(),
            kind: EventKind::Heading { text: text.into() },
        };
        journal.event(&event("before"));
        journal.finish(RunOutcome::new(0, &[], &[]));
        journal.event(&event("after"));
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.contains("\"outcome\""), "{text}");
        assert!(text.contains("before") && !text.contains("after"), "{text}");
        assert_eq!(journal.write_error(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

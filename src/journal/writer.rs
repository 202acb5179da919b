//! Writing a journal: one JSON line per [`Line`], flushed per line so a
//! killed process leaves a journal whose every line parses.

use super::junit::CheckRecord;
use super::line::{Header, Line, RunOutcome};
use crate::cloud::Resource;
use crate::events::{Event, Sink};
use crate::settings::Settings;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// A journal being written.
pub struct Journal {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl Journal {
    /// Creates the file and writes the header.
    pub fn create(path: &Path, settings: &Settings, script: Option<&str>) -> std::io::Result<Self> {
        let file = std::fs::File::create(path)?;
        let journal = Journal {
            file: Mutex::new(std::io::BufWriter::new(file)),
        };
        journal.line(&Line::Header(Header::new(settings, script)));
        Ok(journal)
    }

    /// Writes the last line: how the run ended.
    pub fn finish(&self, exit_code: u8, checks: &[CheckRecord], still_deployed: &[Resource]) {
        self.line(&Line::Outcome(RunOutcome::new(
            exit_code,
            checks,
            still_deployed,
        )));
    }

    /// Writes one line and flushes it (a line never stays half in a buffer).
    fn line(&self, line: &Line) {
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        let mut file = crate::sync::lock(&self.file);
        let _ = file.write_all(text.as_bytes()).and_then(|()| file.flush());
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

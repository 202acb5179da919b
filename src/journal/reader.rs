//! Reading a journal back into the types that wrote it — also a journal
//! whose run was killed (no outcome, perhaps a last line cut short).

use super::SCHEMA;
use super::entry::Entry;
use super::junit::CheckRecord;
use super::line::{Header, Line, RunOutcome};
use crate::events::EventKind;
use std::path::{Path, PathBuf};

/// A run, as its journal tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// What ran, where, with which settings.
    pub header: Header,
    /// What happened, in order (kinds of a newer version included).
    pub events: Vec<Entry>,
    /// How it ended; none when the run was killed or is still running.
    pub outcome: Option<RunOutcome>,
}

/// A journal could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read.
    #[error("cannot read the journal {}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The journal has no header line.
    #[error("not a resilient journal: its first line is not a header")]
    NoHeader,
    /// A line is not JSON (a journal cut mid-line loses at most its last
    /// line, which is then left out).
    #[error("line {line} of the journal is not JSON: {message}")]
    NotJson {
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A line is JSON but not a journal line of this schema.
    #[error("line {line} of the journal is not a journal line: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The journal was written with a schema whose meanings this version
    /// does not know.
    #[error(
        "the journal is of schema {found}, newer than this resilient reads ({SCHEMA}): read it with a newer resilient"
    )]
    NewerSchema {
        /// The journal's schema version.
        found: u32,
    },
}

/// Reads the journal at `path`.
pub fn read(path: &Path) -> Result<Run, JournalError> {
    let text =
        crate::files::read_text(path, crate::files::MAX_JOURNAL_BYTES).map_err(|source| {
            JournalError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
    parse(&text)
}

/// Whether the journal at `path` has its outcome, looked for in its last
/// 64 KiB only, where the outcome is written (the whole file is read when
/// that end holds none and the file is longer: an outcome line longer than
/// that, or a journal without one).
pub fn ends_with_outcome(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut tail = Vec::new();
    if file
        .seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .is_err()
        || file.take(TAIL).read_to_end(&mut tail).is_err()
    {
        return false;
    }
    let text = String::from_utf8_lossy(&tail);
    // When the end starts inside a line, that line is not whole.
    let whole = text.lines().skip(usize::from(len > TAIL));
    let found = whole
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .any(|l| matches!(serde_json::from_str::<Line>(l), Ok(Line::Outcome(_))));
    found || (len > TAIL && read(path).is_ok_and(|run| run.outcome.is_some()))
}

/// Reads a journal's text. Blank lines are ignored, and so is a last line
/// that is cut short (a crash while writing it).
pub fn parse(text: &str) -> Result<Run, JournalError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let mut header = None;
    let mut events = Vec::with_capacity(lines.len());
    let mut outcome = None;
    for (i, &(n, text)) in lines.iter().enumerate() {
        let line = match serde_json::from_str::<Line>(text) {
            Ok(line) => line,
            Err(e) if e.is_eof() && i > 0 && i + 1 == lines.len() => break,
            Err(e) if e.is_data() && i == 0 => return Err(first_line(text, n + 1, e)),
            Err(e) if e.is_data() => {
                return Err(JournalError::BadLine {
                    line: n + 1,
                    message: e.to_string(),
                });
            }
            Err(e) => {
                return Err(JournalError::NotJson {
                    line: n + 1,
                    message: e.to_string(),
                });
            }
        };
        match (line, i) {
            (Line::Header(h), 0) if h.schema > SCHEMA => {
                return Err(JournalError::NewerSchema { found: h.schema });
            }
            (Line::Header(h), 0) => header = Some(h),
            (_, 0) => return Err(JournalError::NoHeader),
            (Line::Header(_), _) => {
                return Err(JournalError::BadLine {
                    line: n + 1,
                    message: "a second header".into(),
                });
            }
            (Line::Event(e), _) => events.push(e),
            (Line::Outcome(o), _) => outcome = Some(o),
        }
    }
    Ok(Run {
        header: header.ok_or(JournalError::NoHeader)?,
        events,
        outcome,
    })
}

/// Why a first line that is JSON is not a header of this schema.
fn first_line(text: &str, line: usize, e: serde_json::Error) -> JournalError {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    if value["type"] != "header" {
        return JournalError::NoHeader;
    }
    match value["schema"].as_u64() {
        Some(found) if found > u64::from(SCHEMA) => JournalError::NewerSchema {
            found: u32::try_from(found).unwrap_or(u32::MAX),
        },
        _ => JournalError::BadLine {
            line,
            message: e.to_string(),
        },
    }
}

impl Run {
    /// The events of kinds this version knows, with their times, in order.
    pub fn known(&self) -> impl Iterator<Item = (u64, &EventKind)> + '_ {
        self.events
            .iter()
            .filter_map(|e| e.known().map(|kind| (e.t_ms, kind)))
    }

    /// How many events are of kinds this version does not know.
    pub fn unknown_count(&self) -> usize {
        self.events.iter().filter(|e| e.known().is_none()).count()
    }

    /// The time of the last event (0 without events).
    pub fn end_ms(&self) -> u64 {
        self.events.iter().map(|e| e.t_ms).max().unwrap_or(0)
    }

    /// The faults the run injected and did not undo, in injection order: a
    /// fault line (written before the fault was made) with no reset
    /// (`failure::reset()`) or successful rollback after it. What the
    /// supervisor of a run whose interpreter died, and `resilient recover`,
    /// roll back.
    pub fn faults_left(&self) -> Vec<String> {
        let mut left: Vec<String> = Vec::new();
        for (_, kind) in self.known() {
            match kind {
                EventKind::Fault { what, undo, .. }
                    if undo != crate::events::Undo::NOTHING && !left.contains(what) =>
                {
                    left.push(what.clone())
                }
                EventKind::Reset | EventKind::Rollback { error: None, .. } => left.clear(),
                _ => {}
            }
        }
        left
    }

    /// Every check, in order.
    pub fn checks(&self) -> Vec<CheckRecord> {
        self.known()
            .filter_map(|(t_ms, kind)| match kind {
                EventKind::Check {
                    name,
                    passed,
                    detail,
                } => Some(CheckRecord {
                    name: name.clone(),
                    passed: *passed,
                    detail: detail.clone(),
                    t_ms,
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Bus, Event, Style};
    use crate::journal::{Journal, Kind};
    use crate::loadgen::{LoadStats, Window};
    use crate::settings::Settings;
    use std::sync::Arc;

    fn fault(what: &str) -> String {
        format!(r#"{{"type":"event","t_ms":1,"event":"fault","what":"{what}"}}"#)
    }

    #[test]
    fn faults_left_are_those_after_the_last_reset_or_good_rollback() {
        let reset = r#"{"type":"event","t_ms":2,"event":"reset"}"#;
        let failed =
            r#"{"type":"event","t_ms":3,"event":"rollback","faults":["b"],"error":"denied"}"#;
        let rolled = r#"{"type":"event","t_ms":3,"event":"rollback","faults":["c"],"error":null}"#;
        // A reboot passes by itself: nothing to roll back. A journal written
        // before `undo` was recorded reads as the rollback (`fault()`).
        let reboot =
            r#"{"type":"event","t_ms":4,"event":"fault","what":"reboot i-1","undo":"nothing"}"#;
        let run = |lines: &[&str]| {
            parse(
                &[header()]
                    .into_iter()
                    .chain(lines.iter().map(|l| l.to_string()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .unwrap()
        };
        assert_eq!(
            run(&[&fault("a"), reset, &fault("b"), failed, &fault("b")]).faults_left(),
            ["b"]
        );
        assert!(run(&[&fault("c"), rolled]).faults_left().is_empty());
        assert!(run(&[]).faults_left().is_empty());
        assert_eq!(run(&[reboot, &fault("d")]).faults_left(), ["d"]);
    }

    #[test]
    fn an_appended_journal_drops_the_line_cut_short_and_ends_with_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(
            &path,
            format!("{}\n{}\n{{\"type\":\"ev", header(), fault("a")),
        )
        .unwrap();
        let journal = Journal::append(&path).unwrap();
        journal.finish(
            RunOutcome::new(7, &[], &[]).because(Some("killed by signal 9 (SIGKILL)".into())),
        );
        let run = read(&path).unwrap();
        assert_eq!(run.faults_left(), ["a"]);
        let outcome = run.outcome.unwrap();
        assert_eq!(outcome.exit_code, 7);
        assert_eq!(
            outcome.reason.as_deref(),
            Some("killed by signal 9 (SIGKILL)")
        );
    }

    #[test]
    fn only_a_whole_outcome_as_the_last_line_ends_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let ends = |text: String| {
            std::fs::write(&path, text).unwrap();
            ends_with_outcome(&path)
        };
        let outcome = |reason: String| {
            serde_json::to_string(&Line::Outcome(
                RunOutcome::new(1, &[], &[]).because(Some(reason)),
            ))
            .unwrap()
        };
        assert!(!ends(format!("{}\n{}\n", header(), fault("a"))));
        assert!(ends(format!("{}\n{}\n", header(), outcome("x".into()))));
        // Cut short while written: not ended; an event written after it
        // (which nothing should do) does not hide it.
        let whole = outcome("x".into());
        assert!(!ends(format!(
            "{}\n{}",
            header(),
            &whole[..whole.len() - 3]
        )));
        assert!(ends(format!("{}\n{whole}\n{}\n", header(), fault("a"))));
        // An outcome line longer than the end read is read whole.
        let long = outcome("y".repeat(200_000));
        let mut many = vec![header()];
        many.extend((0..2_000).map(|i| fault(&i.to_string())));
        assert!(ends(format!("{}\n{long}\n", many.join("\n"))));
        assert!(!ends(format!("{}\n{}", many.join("\n"), &long[..150_000])));
        assert!(!ends_with_outcome(&dir.path().join("none.jsonl")));
    }

    fn header() -> String {
        serde_json::to_string(&Line::Header(Header::new(
            &Settings::default(),
            Some("s.rhai"),
        )))
        .unwrap()
    }

    #[test]
    fn what_the_journal_writes_reads_back_as_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let journal =
            Arc::new(Journal::create(&path, &Settings::default(), Some("s.rhai")).unwrap());
        let bus = Bus::default();
        bus.subscribe(journal.clone());
        let kinds = vec![
            EventKind::Text {
                style: Style::Good,
                text: "fine".into(),
            },
            EventKind::Check {
                name: "rate".into(),
                passed: false,
                detail: "0.5 (at least 0.9)".into(),
            },
            EventKind::LoadWindow {
                load: 1,
                start_ms: 1000,
                window: Window {
                    start_ms: 0,
                    count: 3,
                    ok: 2,
                    p50_ms: 1.5,
                    p99_ms: 9.0,
                    instances: [("i-1".to_string(), 3)].into(),
                },
            },
            EventKind::Load {
                load: 1,
                stats: LoadStats {
                    count: 3,
                    success_rate: 2.0 / 3.0,
                    ..LoadStats::default()
                },
            },
            EventKind::Reset,
        ];
        for kind in &kinds {
            bus.publish(kind.clone());
        }
        let checks = vec![CheckRecord {
            name: "rate".into(),
            passed: false,
            detail: "0.5 (at least 0.9)".into(),
            t_ms: 3,
        }];
        journal.finish(crate::journal::RunOutcome::new(1, &checks, &[]));
        let run = read(&path).unwrap();
        assert_eq!(run.header.schema, SCHEMA);
        assert_eq!(run.header.script.as_deref(), Some("s.rhai"));
        let read: Vec<&EventKind> = run.known().map(|(_, k)| k).collect();
        assert_eq!(read, kinds.iter().collect::<Vec<_>>());
        let outcome = run.outcome.as_ref().unwrap();
        assert_eq!(
            (
                outcome.exit_code,
                outcome.checks.passed,
                outcome.checks.failed
            ),
            (1, 0, 1)
        );
        assert_eq!(run.checks().len(), 1);
        assert_eq!(run.checks()[0].detail, "0.5 (at least 0.9)");
    }

    #[test]
    fn a_killed_journal_reads_without_outcome_and_without_its_cut_line() {
        let text = format!(
            "{}\n{}\n{{\"type\":\"event\",\"t_ms\":9,\"event\":\"te",
            header(),
            r#"{"type":"event","t_ms":5,"event":"heading","text":"Stage 1"}"#
        );
        let run = parse(&text).unwrap();
        assert_eq!(run.events.len(), 1);
        assert_eq!(run.outcome, None);
        assert_eq!(run.end_ms(), 5);
    }

    #[test]
    fn kinds_of_a_newer_version_are_kept_and_skipped() {
        let text = format!(
            "{}\n{}\n{}\n",
            header(),
            r#"{"type":"event","t_ms":5,"event":"solar_flare","strength":9}"#,
            r#"{"type":"event","t_ms":6,"event":"reset","added_later":true}"#
        );
        let run = parse(&text).unwrap();
        assert_eq!(run.events.len(), 2);
        assert_eq!(run.unknown_count(), 1);
        assert!(matches!(&run.events[0].kind, Kind::Unknown(u) if u.event == "solar_flare"));
        assert_eq!(
            run.known().collect::<Vec<_>>(),
            vec![(6, &EventKind::Reset)],
            "an unknown field is ignored"
        );
        assert_eq!(run.end_ms(), 6);
    }

    #[test]
    fn broken_journals_are_one_line_errors() {
        let event = r#"{"type":"event","t_ms":5,"event":"reset"}"#;
        let error = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            error(&format!("{event}\n")),
            "not a resilient journal: its first line is not a header"
        );
        assert_eq!(
            error("{\"x\":1}\n"),
            "not a resilient journal: its first line is not a header"
        );
        assert_eq!(
            error(""),
            "not a resilient journal: its first line is not a header"
        );
        assert!(
            error(&format!("{}\nnot json\n{event}\n", header()))
                .starts_with("line 2 of the journal is not JSON"),
        );
        let wrong = error(&format!(
            "{}\n\n{}\n",
            header(),
            r#"{"type":"event","t_ms":5,"event":"fault"}"#
        ));
        assert!(
            wrong.starts_with("line 3 of the journal is not a journal line")
                && wrong.contains("what"),
            "{wrong}"
        );
        let newer = header().replace(&format!("\"schema\":{SCHEMA}"), "\"schema\":99");
        assert_eq!(
            error(&newer),
            format!(
                "the journal is of schema 99, newer than this resilient reads ({SCHEMA}): read it with a newer resilient"
            )
        );
        assert!(error(&format!("{}\n{}\n", header(), header())).contains("a second header"));
        for e in [error("{\"x\":1}\n"), error(&newer)] {
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_header_and_outcome_keep_their_json() {
        let settings = Settings::default();
        let line = serde_json::to_value(Line::Header(Header::new(&settings, None))).unwrap();
        assert_eq!(line["type"], "header");
        assert_eq!(line["tool"], "resilient");
        assert_eq!(line["backend"], "local");
        assert_eq!(line["script"], serde_json::Value::Null);
        assert_eq!(line["settings"]["time_scale"], settings.time_scale);
        assert_eq!(line["settings"]["instances"], settings.instances);
        let event = Event {
            t_ms: 1,
            kind: EventKind::Reset,
        };
        let text = serde_json::to_string(&Line::Event(event.into())).unwrap();
        assert_eq!(text, r#"{"type":"event","t_ms":1,"event":"reset"}"#);
    }
}

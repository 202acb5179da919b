//! The journal of a run: JSON Lines, one object per line, flushed per line
//! so a killed process leaves a journal whose every line parses; read back
//! through the same types that wrote it ([`read`]); and the JUnit XML
//! verdict of a run's checks.
//!
//! Every line is a [`Line`], an object with a `type`:
//!
//! - `header` (first line, [`Header`]): `schema` ([`SCHEMA`]), `tool`,
//!   `version`, `backend`, `prefix`, `settings` (`endpoint_url`,
//!   `instances`, `region`, `time_scale`, `health_check`: the target
//!   group's interval, timeout and thresholds), `script`, `started_at`
//!   (RFC 3339, UTC).
//! - `event` ([`Entry`]): `t_ms` (ms since the run started), `event` (the
//!   kind) and the kind's fields — see [`crate::events::EventKind`]. A kind
//!   this version does not know is kept as an [`UnknownKind`] and skipped.
//! - `outcome` (last line, when the run ends, [`RunOutcome`]): `exit_code`,
//!   `checks` (`passed`, `failed`), `still_deployed` (`[{kind, name}]`).
//!
//! [`json_schema`] is the JSON Schema of a line, generated from these types
//! (`resilient journal-schema`, `docs/journal.schema.json`); [`SCHEMA`]
//! says when its version changes.

mod entry;
mod junit;
mod line;
mod reader;
mod schema;
mod writer;

pub use entry::{Entry, Kind, UnknownKind};
pub use junit::{CheckRecord, junit};
pub use line::{CheckCounts, Header, Line, RunOutcome, RunSettings, SCHEMA, TOOL};
pub use reader::{JournalError, Run, ends_with_outcome, parse, read};
pub use schema::json_schema;
pub use writer::Journal;

/// Now, in RFC 3339 (UTC), as journals and saved sessions stamp themselves.
pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

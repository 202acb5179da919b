//! The scenario library: `.rhai` files that each begin with a header saying
//! what they rehearse — hypothesis, fault, expected outcome, how long they
//! take — and end in checks. `resilient scenarios` lists them from their
//! headers, `resilient new NAME` starts one from a template that runs as is.
//!
//! The header, exactly (a field may go on over indented lines):
//!
//! ```text
//! // Scenario: <title>
//! //
//! // Hypothesis: <one line>
//! // Fault:      <what is injected>
//! // Expect:     <expected outcome>
//! // Takes:      about N s on the local cloud, about M min on AWS
//! //
//! // <free text explanation>
//! //
//! //   resilient run examples/<name>.rhai
//! ```

mod header;
mod library;
mod template;

pub use header::{HeaderError, Scenario, Takes};
pub use library::{Library, LibraryError, find as find_library};
pub use template::{NameError, TEMPLATE, render as render_template, render_at, validate_name};

/// The directory the library is looked for in when none is given: the
/// shipped `examples/`, relative to the current directory.
pub const DEFAULT_DIR: &str = "examples";

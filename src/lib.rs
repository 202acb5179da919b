//! `resilient` deploys a small load-balanced web service, breaks it in realistic
//! ways, shows what customers and the load balancer see, repairs it, and tears it
//! down — every action a Rust function registered into an embedded Rhai engine.
//!
//! # Embedding
//!
//! What this crate offers another Rust program, and all `cargo doc` shows:
//!
//! - [`Host`] and [`HostOptions`]: build the Rhai engine with every script
//!   module, run files or snippets ([`Host::run_file`], [`Host::eval`]), add
//!   your own functions ([`Host::engine_mut`]); [`Limits`] is the sandbox,
//!   [`ScriptError`] what a failed script says (file, line, column, the line),
//!   [`Halt`] why a run was stopped rather than failed.
//! - [`Session`] ([`Host::session`]): one run's state — settings, the cloud,
//!   checks, the faults injected and their rollback.
//! - [`events`]: the typed event stream every action is published on, and the
//!   [`events::Sink`] an embedder adds with [`Host::add_sink`].
//! - [`Answerer`], [`Question`], [`Answer`]: prompts (`ui::pause`,
//!   `ui::confirm`, `ui::choose`) are asked through the host; an embedder
//!   answers them, or every question takes its default answer.
//! - [`journal`]: the JSON Lines journal of a run — its one schema, the
//!   writer (a sink), the reader and JUnit; [`report`] renders a journal as
//!   a self-contained HTML page; [`verdict`] judges a journal — the
//!   objective a script declared (`slo`), every fault measured, pass, fail
//!   or inconclusive — and makes its summary and comparisons.
//! - [`settings`]: backend, names, time scale, AWS options; [`cloud`]: the
//!   words the cloud speaks (target and instance states, resource kinds) and
//!   the preflight report.
//! - [`Error`] and [`Result`]: what the library's calls fail with; [`Exit`]:
//!   the process exit codes of the command line.
//!
//! Everything else (the local cloud, the AWS backend, the script modules,
//! the load generator, the service) is private: the compiler sees its dead
//! code and an embedder cannot come to depend on it. The command line is
//! itself an embedder of this API ([`repl::run`] gives it the REPL).

#![warn(unreachable_pub)]

mod api;
pub mod cloud;
mod error;
pub mod events;
mod exit;
mod files;
pub mod host;
mod http;
pub mod journal;
mod loadgen;
mod names;
mod recorder;
pub mod repl;
pub mod report;
mod service;
mod session;
pub mod settings;
mod sync;
#[doc(hidden)]
pub mod term;
mod terminal;
pub mod verdict;

pub use error::{Error, Result};
pub use exit::Exit;
pub use host::{
    Answer, Answerer, DefaultAnswers, Host, HostOptions, Limits, Question, ScriptError,
};
pub use session::Session;
pub use session::interrupt::Halt;
pub use settings::{Backend, Settings};

/// Not part of the API: what the crate's own integration tests and benches
/// reach into (the backends, the load generator, the HTTP helpers). No
/// stability promise; hidden from the documentation.
#[doc(hidden)]
pub mod internals {
    /// AWS backend pieces the moto tests call directly.
    pub mod aws {
        pub use crate::cloud::aws::Clients;
        pub use crate::cloud::aws::clients::connect;
        pub use crate::cloud::aws::ec2::default_vpc;
        pub use crate::cloud::aws::iam::policy_of;
        pub use crate::cloud::aws::preflight::policy_document;
        pub use crate::cloud::aws::ssm::latest_ami;
        pub use crate::cloud::aws::user_data::{PARAMETER_MAX_AGE, SERVER_PY};
        pub use crate::cloud::aws::zones::offering;
    }
    pub use crate::api::MODULES;
    pub use crate::api::deploy::all as deploy_all;
    pub use crate::api::load::OPTIONS as LOAD_OPTIONS;
    pub use crate::cloud::local::LocalCloud;
    pub use crate::cloud::{Cloud, Parameter};
    pub use crate::repl::gather::Gatherer;
    pub use crate::service::catalog;
    /// The HTTP client and server helpers.
    pub mod http {
        pub use crate::http::*;
    }
    /// The load generator.
    pub mod loadgen {
        pub use crate::loadgen::*;
    }
}

//! `resilient` deploys a small load-balanced web service, breaks it in realistic
//! ways, shows what customers and the load balancer see, repairs it, and tears it
//! down — every action a Rust function registered into an embedded Rhai engine.
//!
//! Where things live:
//!
//! - [`service`]: the recommendation web service every instance runs.
//! - [`cloud`]: the [`cloud::Cloud`] trait (what the script API needs from a
//!   cloud) and its backends, [`cloud::local`] first.
//! - [`api`]: the script API modules (`deploy::`, `inspect::`, `failure::`, …).
//! - [`session`]: one run's state below the script API: cloud, events, the
//!   ledger of injected faults and their rollback, checks.
//! - [`host`]: builds the Rhai engine, runs scripts, renders script errors.
//! - [`repl`]: the interactive REPL on top of the host.
//! - [`http`]: the small HTTP client and server helpers everything shares.
//! - [`events`]: the event stream every action is published on, and its sinks.
//! - [`terminal`]: the terminal renderer, the one sink that prints.
//! - [`recorder`]: watches a deployment and publishes its state changes.
//! - [`report`]: the self-contained HTML report of a run, from its journal.
//! - [`journal`]: the JSON Lines journal of a run, and its JUnit verdicts.
//! - [`verdict`]: what a run proves from its journal: the objective, each
//!   fault measured, pass, fail or inconclusive.
//! - [`term`]: standard output that survives a closed pipe.

pub mod api;
pub mod cloud;
pub mod error;
pub mod events;
pub mod exit;
pub mod host;
pub mod http;
pub mod journal;
pub mod loadgen;
pub mod names;
pub mod recorder;
pub mod repl;
pub mod report;
pub mod service;
pub mod session;
pub mod settings;
pub mod term;
pub mod terminal;
pub mod verdict;

pub use error::{Error, Result};
pub use exit::Exit;
pub use host::{Host, HostOptions};
pub use settings::{Backend, Settings};

mod sync;

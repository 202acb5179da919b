//! The library's error type.

use thiserror::Error;

/// Everything that can go wrong in the library, in words a script author can act on.
#[derive(Debug, Error)]
pub enum Error {
    /// A function needs a deployed resource that does not exist (yet).
    #[error("{what} is not deployed: run deploy::all() (or the deploy step that creates it) first")]
    NotDeployed {
        /// The missing resource, e.g. "the load balancer".
        what: String,
    },
    /// An instance id that this deployment does not know.
    #[error("unknown instance `{id}`: inspect::instances() lists this deployment's instances")]
    UnknownInstance {
        /// The id as given.
        id: String,
    },
    /// A cloud operation failed; names the action and the resource.
    #[error("{action} {resource} failed: {message}")]
    Cloud {
        /// What was attempted, e.g. "create load balancer".
        action: String,
        /// The resource it was attempted on.
        resource: String,
        /// Why it failed.
        message: String,
    },
    /// A resource has one of our names but not our deployment tag.
    #[error(
        "{kind} {name} already exists but is not tagged resilient:deployment={prefix}: it is someone else's, so it is neither used nor changed; choose another --prefix"
    )]
    Foreign {
        /// The kind, e.g. "launch template".
        kind: String,
        /// Its name.
        name: String,
        /// Our prefix.
        prefix: String,
    },
    /// An argument outside what the function accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A condition was not reached in time.
    #[error("timed out after {waited_ms} ms waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        waited_ms: u64,
    },
    /// The backend cannot be used as configured (no region, no credentials,
    /// endpoint unreachable): one sentence saying what to do.
    #[error("{0}")]
    Setup(String),
    /// The user pressed Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// A stop condition ended the run (like an AWS FIS stop condition).
    #[error("stopped: {0}")]
    Stopped(String),
}

impl Error {
    /// Builds a [`Error::Cloud`].
    pub fn cloud(
        action: impl Into<String>,
        resource: impl Into<String>,
        message: impl std::fmt::Display,
    ) -> Self {
        Error::Cloud {
            action: action.into(),
            resource: resource.into(),
            message: message.to_string(),
        }
    }

    /// Builds a [`Error::NotDeployed`].
    pub fn not_deployed(what: impl Into<String>) -> Self {
        Error::NotDeployed { what: what.into() }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

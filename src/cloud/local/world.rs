//! What every part of one local deployment shares.

use super::iam::Iam;
use super::store::{ParameterStore, Tables};
use super::timing::Timing;
use crate::names::Names;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The Availability Zones of the local cloud.
pub(crate) const ZONES: [&str; 3] = ["local-1a", "local-1b", "local-1c"];

/// Everything instances share: identity, data stores, and the background work of
/// one deployment (cancelled and awaited as a whole at destroy).
pub(crate) struct World {
    /// Cloud time.
    pub timing: Timing,
    /// The deployment's names.
    pub names: Names,
    /// Instance profiles.
    pub iam: Iam,
    /// Tables.
    pub tables: Tables,
    /// Parameters.
    pub params: ParameterStore,
    /// Cancelled at destroy: stops every server and loop.
    pub token: CancellationToken,
    /// Every background task of the deployment.
    pub tasks: TaskTracker,
}

impl World {
    pub(crate) fn new(names: &Names, timing: Timing) -> Arc<World> {
        Arc::new(World {
            timing,
            names: names.clone(),
            iam: Iam::default(),
            tables: Tables::default(),
            params: ParameterStore::default(),
            token: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }
}

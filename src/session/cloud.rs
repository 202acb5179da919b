//! The session's cloud handle: the settings, the cloud they open (on first
//! use) and the HTTP client requests through the load balancer share.

use crate::cloud::Cloud;
use crate::http::HttpClient;
use crate::settings::Settings;
use std::sync::{Arc, OnceLock, RwLock};

/// Settings and the cloud opened from them; changing the settings drops the
/// cloud, so the next use opens one from the new settings.
pub(crate) struct CloudHandle {
    settings: RwLock<Settings>,
    cloud: RwLock<Option<Arc<dyn Cloud>>>,
    http: OnceLock<HttpClient>,
}

impl CloudHandle {
    /// A handle with these settings and no cloud opened yet.
    pub(crate) fn new(settings: Settings) -> Self {
        CloudHandle {
            settings: RwLock::new(settings),
            cloud: RwLock::new(None),
            http: OnceLock::new(),
        }
    }

    /// The current settings.
    pub(crate) fn settings(&self) -> Settings {
        crate::sync::read(&self.settings).clone()
    }

    /// Replaces the settings and forgets the cloud opened from the old ones.
    pub(crate) fn replace_settings(&self, settings: Settings) {
        *crate::sync::write(&self.cloud) = None;
        *crate::sync::write(&self.settings) = settings;
    }

    /// The cloud if one was opened, without opening it.
    pub(crate) fn current(&self) -> Option<Arc<dyn Cloud>> {
        crate::sync::read(&self.cloud).clone()
    }

    /// The cloud, opened with `open` from the settings on first use (once,
    /// even when several threads ask at the same time).
    pub(crate) fn get_or_open(
        &self,
        open: impl FnOnce(&Settings) -> crate::Result<Arc<dyn Cloud>>,
    ) -> crate::Result<Arc<dyn Cloud>> {
        if let Some(c) = self.current() {
            return Ok(c);
        }
        let settings = self.settings();
        let mut slot = crate::sync::write(&self.cloud);
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let cloud = open(&settings)?;
        *slot = Some(cloud.clone());
        Ok(cloud)
    }

    /// The shared HTTP client, built inside `runtime` on first use.
    pub(crate) fn http(&self, runtime: &tokio::runtime::Handle) -> HttpClient {
        self.http
            .get_or_init(|| {
                let _guard = runtime.enter();
                HttpClient::new(16)
            })
            .clone()
    }
}

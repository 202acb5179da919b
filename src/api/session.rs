//! The state one script run or REPL session shares across every API call.

use crate::cloud::Cloud;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::settings::{Backend, Settings};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// One recorded steady-state check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The observed value, in words.
    pub detail: String,
}

/// What every script function reaches through the engine's tag.
pub struct Session {
    /// Started on first use, so scripts that never touch a cloud start fast.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: OnceLock<tokio::runtime::Handle>,
    settings: RwLock<Settings>,
    cloud: RwLock<Option<Arc<dyn Cloud>>>,
    http: OnceLock<HttpClient>,
    batch: bool,
    interrupted: Arc<AtomicBool>,
    checks: Mutex<Vec<CheckRecord>>,
    fault: Mutex<crate::cloud::DependencyFault>,
}

impl Session {
    /// A session with these settings; `batch` makes prompts take their
    /// default answers. The async runtime starts on first use.
    pub fn new(settings: Settings, batch: bool) -> Self {
        Session {
            runtime: Mutex::new(None),
            handle: OnceLock::new(),
            settings: RwLock::new(settings),
            cloud: RwLock::new(None),
            http: OnceLock::new(),
            batch,
            interrupted: Arc::new(AtomicBool::new(false)),
            checks: Mutex::new(Vec::new()),
            fault: Mutex::new(Default::default()),
        }
    }

    /// Whether prompts take their default answer.
    pub fn batch(&self) -> bool {
        self.batch
    }

    /// The flag Ctrl-C sets; scripts and cloud calls stop when it is set.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    /// Clears a previous interrupt (the REPL does this before each input).
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::SeqCst);
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes settings; refused once a cloud is in use with resources deployed.
    pub fn configure(&self, settings: Settings) -> Result<()> {
        settings.validate()?;
        if self.has_resources()? {
            return Err(Error::InvalidArgument(
                "settings cannot change while resources are deployed: run destroy::all() first"
                    .into(),
            ));
        }
        *self.cloud.write().unwrap_or_else(|p| p.into_inner()) = None;
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
        Ok(())
    }

    /// The cloud, created on first use from the settings.
    pub fn cloud(&self) -> Result<Arc<dyn Cloud>> {
        if let Some(c) = self
            .cloud
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(c.clone());
        }
        let settings = self.settings();
        let mut slot = self.cloud.write().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let cloud = self.block_on(crate::cloud::open(&settings))?;
        *slot = Some(cloud.clone());
        Ok(cloud)
    }

    /// The cloud if one was created, without creating it.
    pub fn cloud_if_created(&self) -> Option<Arc<dyn Cloud>> {
        self.cloud.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the current cloud owns any resource.
    pub fn has_resources(&self) -> Result<bool> {
        match self.cloud_if_created() {
            Some(c) => Ok(!self
                .block_on(async move { c.resources().await })?
                .is_empty()),
            None => Ok(false),
        }
    }

    /// The shared HTTP client (for requests through the load balancer).
    pub fn http(&self) -> HttpClient {
        self.http
            .get_or_init(|| {
                let _guard = self.runtime().enter();
                HttpClient::new(16)
            })
            .clone()
    }

    /// The runtime background work is spawned on (two worker threads),
    /// started on first use.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start its threads.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.handle.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("resilient-cloud")
                .enable_all()
                .build()
                .expect("cannot start the async runtime's threads");
            let handle = rt.handle().clone();
            *self.runtime.lock().unwrap_or_else(|p| p.into_inner()) = Some(rt);
            handle
        })
    }

    /// Takes the runtime out (if it was started), to shut it down.
    pub fn take_runtime(&self) -> Option<tokio::runtime::Runtime> {
        self.runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Runs a cloud future to completion from script code; Ctrl-C cancels it.
    pub fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let flag = self.interrupted.clone();
        self.runtime().block_on(async move {
            tokio::select! {
                result = fut => result,
                _ = wait_for(flag) => Err(Error::Interrupted),
            }
        })
    }

    /// Sleeps in small steps, stopping early on Ctrl-C.
    pub fn sleep(&self, d: Duration) -> Result<()> {
        self.block_on(async move {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }

    /// Records a check outcome.
    pub fn record_check(&self, record: CheckRecord) {
        self.checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }

    /// The dependency fault currently injected (latency and error rate together).
    pub fn fault(&self) -> std::sync::MutexGuard<'_, crate::cloud::DependencyFault> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every check recorded so far.
    pub fn checks(&self) -> Vec<CheckRecord> {
        self.checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Destroys whatever the local cloud still runs (the local cloud lives only
    /// as long as the process). Resources on AWS are left for `destroy`.
    pub fn shutdown_local(&self) -> Result<()> {
        if let Some(cloud) = self.cloud_if_created()
            && cloud.backend() == Backend::Local
        {
            let flag = self.interrupted.swap(false, Ordering::SeqCst);
            let result = self
                .block_on(async move { cloud.destroy().await })
                .map(|_| ());
            self.interrupted.store(flag, Ordering::SeqCst);
            return result;
        }
        Ok(())
    }
}

async fn wait_for(flag: Arc<AtomicBool>) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

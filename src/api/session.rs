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
    /// When it was checked (ms since the session started).
    pub t_ms: u64,
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
    /// Faults injected and not yet reverted, in words, in injection order.
    injected: Mutex<Vec<String>>,
    /// Why the run was stopped, when a stop condition (not Ctrl-C) stopped it.
    stop_reason: Mutex<Option<String>>,
    /// Background loads running now.
    loads: Arc<std::sync::atomic::AtomicUsize>,
    /// The event stream every action is published on.
    bus: Arc<crate::events::Bus>,
    /// What was last seen of targets and instances (fed by the watcher and
    /// the script's own looks).
    recorder: Arc<crate::recorder::Recorder>,
    /// Stops the background watcher, once started.
    watcher: Mutex<Option<tokio_util::sync::CancellationToken>>,
}

impl Session {
    /// A session with these settings; `batch` makes prompts take their
    /// default answers. The async runtime starts on first use.
    pub fn new(settings: Settings, batch: bool) -> Self {
        let bus: Arc<crate::events::Bus> = Arc::default();
        Session {
            runtime: Mutex::new(None),
            handle: OnceLock::new(),
            settings: RwLock::new(settings),
            cloud: RwLock::new(None),
            http: OnceLock::new(),
            batch,
            interrupted: Arc::new(AtomicBool::new(false)),
            checks: Mutex::new(Vec::new()),
            injected: Mutex::new(Vec::new()),
            stop_reason: Mutex::new(None),
            loads: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            recorder: Arc::new(crate::recorder::Recorder::new(bus.clone())),
            bus,
            watcher: Mutex::new(None),
        }
    }

    /// The event stream of this session.
    pub fn bus(&self) -> &crate::events::Bus {
        &self.bus
    }

    /// Starts the background recorder of target and instance states, if a
    /// sink wants them and a cloud is in use (and it is not running yet).
    pub fn ensure_recorder(&self) {
        if let Some(cloud) = self.cloud_if_created() {
            self.start_recorder(&cloud);
        }
    }

    fn start_recorder(&self, cloud: &Arc<dyn Cloud>) {
        if !self.bus.wants_state() {
            return;
        }
        let mut slot = crate::sync::lock(&self.watcher);
        if slot.is_some() {
            return;
        }
        let stop = tokio_util::sync::CancellationToken::new();
        self.runtime().spawn(crate::recorder::watch(
            cloud.clone(),
            self.recorder.clone(),
            stop.clone(),
        ));
        *slot = Some(stop);
    }

    /// The state recorder, when some sink wants state changes.
    pub fn recorder(&self) -> Option<&crate::recorder::Recorder> {
        self.bus.wants_state().then_some(self.recorder.as_ref())
    }

    /// Publishes an event to every sink.
    pub fn publish(&self, kind: crate::events::EventKind) {
        self.bus.publish(kind);
    }

    /// Whether prompts take their default answer.
    pub fn batch(&self) -> bool {
        self.batch
    }

    /// The flag Ctrl-C sets; scripts and cloud calls stop when it is set.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupted.clone()
    }

    /// Clears a previous interrupt or stop (the REPL does this before each input).
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::SeqCst);
        *crate::sync::lock(&self.stop_reason) = None;
    }

    /// Stops the running script as Ctrl-C does, for `reason` (a stop
    /// condition): the script ends with an error naming it.
    pub fn stop(&self, reason: String) {
        let mut slot = crate::sync::lock(&self.stop_reason);
        slot.get_or_insert(reason);
        self.interrupted.store(true, Ordering::SeqCst);
    }

    /// Why the run was stopped, if a stop condition stopped it.
    pub fn stop_reason(&self) -> Option<String> {
        crate::sync::lock(&self.stop_reason).clone()
    }

    /// The error a cancelled call ends with: the stop condition, or Ctrl-C.
    fn cancelled(&self) -> Error {
        match self.stop_reason() {
            Some(reason) => Error::Stopped(reason),
            None => Error::Interrupted,
        }
    }

    /// Records a fault about to be injected, so it can be rolled back.
    pub fn record_fault(&self, what: impl Into<String>) {
        let what = what.into();
        let mut faults = crate::sync::lock(&self.injected);
        if !faults.contains(&what) {
            faults.push(what);
        }
    }

    /// Forgets recorded faults (after `failure::reset()` or a destroy).
    pub fn clear_faults(&self) {
        crate::sync::lock(&self.injected).clear();
    }

    /// The faults injected and not reverted yet.
    pub fn faults(&self) -> Vec<String> {
        crate::sync::lock(&self.injected).clone()
    }

    /// Reverts every fault still injected (as `failure::reset()` does), even
    /// after Ctrl-C or a stop condition; returns what was rolled back.
    pub fn rollback_faults(&self) -> Result<Vec<String>> {
        let faults = self.faults();
        let Some(cloud) = self.cloud_if_created() else {
            return Ok(Vec::new());
        };
        if faults.is_empty() {
            return Ok(faults);
        }
        let result = self.block_on_regardless(async move {
            crate::api::failure::revert_all(cloud.as_ref()).await
        });
        self.clear_faults();
        self.publish(crate::events::EventKind::Rollback {
            faults: faults.clone(),
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        result.map(|()| faults)
    }

    /// The counter of background loads running now.
    pub fn loads(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.loads.clone()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        crate::sync::read(&self.settings).clone()
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
        *crate::sync::write(&self.cloud) = None;
        *crate::sync::write(&self.settings) = settings;
        Ok(())
    }

    /// The cloud, created on first use from the settings.
    pub fn cloud(&self) -> Result<Arc<dyn Cloud>> {
        if let Some(c) = crate::sync::read(&self.cloud).as_ref() {
            return Ok(c.clone());
        }
        let settings = self.settings();
        let mut slot = crate::sync::write(&self.cloud);
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let cloud = self.block_on(crate::cloud::open(&settings))?;
        self.start_recorder(&cloud);
        *slot = Some(cloud.clone());
        Ok(cloud)
    }

    /// The cloud if one was created, without creating it.
    pub fn cloud_if_created(&self) -> Option<Arc<dyn Cloud>> {
        crate::sync::read(&self.cloud).clone()
    }

    /// Whether the current cloud owns any resource.
    pub fn has_resources(&self) -> Result<bool> {
        Ok(!self.resources()?.is_empty())
    }

    /// What the current cloud owns (nothing when no cloud was used). Asks
    /// even after Ctrl-C: this is what a run reports when it ends.
    pub fn resources(&self) -> Result<Vec<crate::cloud::Resource>> {
        match self.cloud_if_created() {
            Some(c) => self.block_on_regardless(async move { c.resources().await }),
            None => Ok(Vec::new()),
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
            *crate::sync::lock(&self.runtime) = Some(rt);
            handle
        })
    }

    /// Takes the runtime out (if it was started), to shut it down.
    pub fn take_runtime(&self) -> Option<tokio::runtime::Runtime> {
        crate::sync::lock(&self.runtime).take()
    }

    /// Runs a cloud future to completion from script code; Ctrl-C cancels it.
    pub fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(self.cancelled());
        }
        let flag = self.interrupted.clone();
        let result = self.runtime().block_on(async move {
            tokio::select! {
                result = fut => result.map(Some),
                _ = wait_for(flag) => Ok(None),
            }
        });
        result?.ok_or_else(|| self.cancelled())
    }

    /// Runs a cleanup call to completion even after Ctrl-C or a stop
    /// condition (rollback, the end-of-run inventory, local shutdown); the
    /// interrupt stays set for everything else.
    fn block_on_regardless<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let flag = self.interrupted.swap(false, Ordering::SeqCst);
        let result = self.block_on(fut);
        self.interrupted.store(flag, Ordering::SeqCst);
        result
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
        crate::sync::lock(&self.checks).push(record);
    }

    /// Every check recorded so far.
    pub fn checks(&self) -> Vec<CheckRecord> {
        crate::sync::lock(&self.checks).clone()
    }

    /// Destroys whatever the local cloud still runs (the local cloud lives only
    /// as long as the process). Resources on AWS are left for `destroy`.
    pub fn shutdown_local(&self) -> Result<()> {
        if let Some(cloud) = self.cloud_if_created()
            && cloud.backend() == Backend::Local
        {
            let result = self
                .block_on_regardless(async move { cloud.destroy().await })
                .map(|_| ());
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

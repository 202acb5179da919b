//! The state one script run or REPL session shares across every API call,
//! below the script modules: they write into it (events, faults, checks),
//! the host reads it (rollback, verdict). Each part has one job:
//!
//! - [`runtime`]: the async runtime, and blocking on it Ctrl-C aware;
//! - [`interrupt`]: the Ctrl-C flag and the stop condition's reason;
//! - [`cloud`]: the settings, the cloud they open, the HTTP client;
//! - [`outputs`]: the event stream and the state recorder;
//! - [`ledger`] and [`rollback`]: faults injected, and putting them back;
//! - [`checks`]: the steady-state checks recorded;
//! - [`prompt`]: questions scripts ask, and who answers them.

pub(crate) mod checks;
pub(crate) mod cloud;
pub(crate) mod interrupt;
pub(crate) mod ledger;
pub(crate) mod outputs;
pub(crate) mod prompt;
pub(crate) mod rollback;
pub(crate) mod runtime;

use crate::cloud::Cloud;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::settings::Settings;
use checks::Checks;
use cloud::CloudHandle;
use interrupt::Interrupt;
use ledger::Ledger;
use outputs::Outputs;
use prompt::Answerer;
use runtime::Runtime;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// One recorded steady-state check (the journal owns the type: its JUnit
/// verdicts and readers use it too).
pub(crate) use crate::journal::CheckRecord;

/// What every script function reaches through the engine's tag: one part
/// per concern, and the few operations that need several of them.
pub struct Session {
    runtime: Runtime,
    interrupt: Interrupt,
    cloud: CloudHandle,
    outputs: Outputs,
    ledger: Ledger,
    checks: Checks,
    /// Who answers `ui::` prompts.
    answerer: Arc<dyn Answerer>,
    /// Background loads running now.
    loads: Arc<AtomicUsize>,
    /// The service-level objective the script declared (`slo`).
    objective: std::sync::Mutex<Option<crate::verdict::Objective>>,
    /// The id of the instance refresh this session started last.
    refresh_started: std::sync::Mutex<Option<String>>,
}

impl Session {
    /// A session with these settings, whose prompts `answerer` answers. The
    /// async runtime starts on first use.
    pub fn new(settings: Settings, answerer: Arc<dyn Answerer>) -> Self {
        Session {
            runtime: Runtime::default(),
            interrupt: Interrupt::default(),
            cloud: CloudHandle::new(settings),
            outputs: Outputs::default(),
            ledger: Ledger::default(),
            checks: Checks::default(),
            answerer,
            loads: Arc::default(),
            objective: std::sync::Mutex::default(),
            refresh_started: std::sync::Mutex::default(),
        }
    }

    /// Where events go: the stream and the state recorder.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// The event stream of this session.
    pub fn bus(&self) -> &crate::events::Bus {
        self.outputs.bus()
    }

    /// Publishes an event to every sink.
    pub fn publish(&self, kind: crate::events::EventKind) {
        self.outputs.publish(kind);
    }

    /// The state recorder, when some sink wants state changes.
    pub fn recorder(&self) -> Option<&crate::recorder::Recorder> {
        self.outputs.recorder()
    }

    /// Starts the background recorder of target and instance states, if a
    /// sink wants them and a cloud is in use (and it is not running yet).
    pub fn ensure_recorder(&self) {
        if let Some(cloud) = self.cloud_if_created() {
            self.outputs.start_recorder(&cloud, self.runtime());
        }
    }

    /// The interrupt state: Ctrl-C and stop conditions.
    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// The ledger of faults injected and not reverted yet.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The steady-state checks recorded so far.
    pub fn checks(&self) -> &Checks {
        &self.checks
    }

    /// Who answers the prompts scripts show.
    pub fn answerer(&self) -> &dyn Answerer {
        self.answerer.as_ref()
    }

    /// Reverts every fault still injected (as `failure::reset()` does), even
    /// after Ctrl-C or a stop condition; returns what was rolled back.
    pub fn rollback_faults(&self) -> Result<Vec<String>> {
        let faults = self.ledger.faults();
        let Some(cloud) = self.cloud_if_created() else {
            return Ok(Vec::new());
        };
        if faults.is_empty() {
            return Ok(faults);
        }
        let result =
            self.block_on_regardless(async move { rollback::revert_all(cloud.as_ref()).await });
        if let Ok(Some(id)) = &result {
            self.set_refresh_started(id);
        }
        let result = result.map(|_| ());
        self.ledger.clear();
        self.publish(crate::events::EventKind::Rollback {
            faults: faults.clone(),
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        result.map(|()| faults)
    }

    /// Declares the service-level objective (`slo`): later loads without a
    /// `window_ms` of their own use its windows.
    pub fn set_objective(&self, objective: crate::verdict::Objective) {
        *crate::sync::lock(&self.objective) = Some(objective);
    }

    /// Notes the id of the instance refresh this session just started.
    pub(crate) fn set_refresh_started(&self, id: &str) {
        *crate::sync::lock(&self.refresh_started) = Some(id.to_string());
    }

    /// The id of the instance refresh this session started last, if any.
    pub(crate) fn refresh_started(&self) -> Option<String> {
        crate::sync::lock(&self.refresh_started).clone()
    }

    /// The service-level objective declared, if any.
    pub fn objective(&self) -> Option<crate::verdict::Objective> {
        crate::sync::lock(&self.objective).clone()
    }

    /// The counter of background loads running now.
    pub fn loads(&self) -> Arc<AtomicUsize> {
        self.loads.clone()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.cloud.settings()
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
        self.cloud.replace_settings(settings);
        Ok(())
    }

    /// The cloud, created on first use from the settings.
    pub fn cloud(&self) -> Result<Arc<dyn Cloud>> {
        self.cloud.get_or_open(|settings| {
            let cloud = self.block_on(crate::cloud::open(settings))?;
            self.outputs.start_recorder(&cloud, self.runtime());
            Ok(cloud)
        })
    }

    /// The cloud if one was created, without creating it.
    pub fn cloud_if_created(&self) -> Option<Arc<dyn Cloud>> {
        self.cloud.current()
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
        self.cloud.http(self.runtime())
    }

    /// The runtime background work is spawned on (two worker threads),
    /// started on first use.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start its threads.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// Takes the runtime out (if it was started), to shut it down.
    pub fn take_runtime(&self) -> Option<tokio::runtime::Runtime> {
        self.runtime.take()
    }

    /// Runs a cloud future to completion from script code; Ctrl-C (or a
    /// stop condition) cancels it.
    pub fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.runtime.block_on(&self.interrupt, fut)
    }

    /// Runs a cleanup call to completion even after Ctrl-C or a stop
    /// condition (rollback, the end-of-run inventory, local shutdown); the
    /// interrupt stays set for everything else.
    fn block_on_regardless<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.runtime.block_on_regardless(&self.interrupt, fut)
    }

    /// Sleeps, stopping early on Ctrl-C.
    pub fn sleep(&self, d: Duration) -> Result<()> {
        self.block_on(async move {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }

    /// Destroys whatever the local cloud still runs (the local cloud lives only
    /// as long as the process). Resources on AWS are left for `destroy`.
    pub fn shutdown_local(&self) -> Result<()> {
        if let Some(cloud) = self.cloud_if_created()
            && !cloud.outlives_process()
        {
            let result = self
                .block_on_regardless(async move { cloud.destroy().await })
                .map(|_| ());
            return result;
        }
        Ok(())
    }
}

//! The async runtime a session's cloud calls and background work run on,
//! started on first use, and blocking on it from script code with Ctrl-C
//! (or a stop condition) cancelling the call.

use super::interrupt::Interrupt;
use crate::error::Result;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A multi-thread runtime (two worker threads) started on first use, so
/// scripts that never touch a cloud start fast.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: OnceLock<tokio::runtime::Handle>,
}

impl Runtime {
    /// The runtime's handle, starting it on first use.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start its threads.
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
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
    pub(crate) fn take(&self) -> Option<tokio::runtime::Runtime> {
        crate::sync::lock(&self.runtime).take()
    }

    /// Runs a future to completion from script code; when `interrupt` is
    /// set (before or during the call) the call is cancelled and ends with
    /// the halt's error.
    pub(crate) fn block_on<T>(
        &self,
        interrupt: &Interrupt,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if interrupt.is_set() {
            return Err(interrupt.halt().to_error());
        }
        let flag = interrupt.flag();
        let result = self.handle().block_on(async move {
            tokio::select! {
                result = fut => result.map(Some),
                _ = wait_for(flag) => Ok(None),
            }
        });
        result?.ok_or_else(|| interrupt.halt().to_error())
    }

    /// [`Runtime::block_on`] that runs to completion even after Ctrl-C or a
    /// stop condition (rollback, the end-of-run inventory, local shutdown);
    /// the interrupt stays set for everything else.
    pub(crate) fn block_on_regardless<T>(
        &self,
        interrupt: &Interrupt,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let was = interrupt.suspend();
        let result = self.block_on(interrupt, fut);
        interrupt.restore(was);
        result
    }
}

/// Returns once `flag` is set.
async fn wait_for(flag: Arc<AtomicBool>) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

//! The parameters as one service process sees them: read from the parameter
//! store at most once per max age, one read at a time (concurrent requests
//! share it), and the last good values kept when a read fails.
//!
//! Parameter Store allows an account 40 `GetParameter`/`GetParameters`
//! transactions per second per region by default: a service that read its
//! parameters on every request and health check would be throttled by its
//! own load (and answer 502). The shipped Python server caches the same way.

use super::{Dependencies, DependencyError, ParameterNames};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The four values, in the order of [`ParameterNames::in_order`]: table,
/// failure response, health check, fault.
pub(crate) type Values = Arc<[String; 4]>;

/// What the last read left.
#[derive(Default)]
struct Last {
    /// When the last read (good or failed) started.
    started: Option<Instant>,
    /// The last good values.
    good: Option<Values>,
    /// Why the last read failed, if it did.
    error: Option<DependencyError>,
}

/// The parameters of one service process (a restart starts with none).
pub(crate) struct ParameterCache {
    names: ParameterNames,
    max_age: Duration,
    last: Mutex<Last>,
    /// Held by the one read in flight.
    reading: tokio::sync::Mutex<()>,
}

impl ParameterCache {
    /// A cache of `names` whose values are at most `max_age` old (0: a read
    /// per request).
    pub(crate) fn new(names: ParameterNames, max_age: Duration) -> Self {
        ParameterCache {
            names,
            max_age,
            last: Mutex::default(),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// How old values may be: a change reaches every request within it.
    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The values: those of a read that started less than the max age ago,
    /// else of a new read (one at a time: requests that arrive meanwhile
    /// wait for it and share its outcome). A failed read leaves the last
    /// good values in use until the next read, a max age later; only with
    /// no good values yet is its error returned.
    pub(crate) async fn get(&self, deps: &dyn Dependencies) -> Result<Values, DependencyError> {
        if let Some(recent) = self.recent() {
            return recent;
        }
        let _reading = self.reading.lock().await;
        // A read may have finished while this request waited for it.
        if let Some(recent) = self.recent() {
            return recent;
        }
        let started = Instant::now();
        let names = self.names.in_order();
        let read =
            deps.get_parameters(&names).await.and_then(|values| {
                match <[String; 4]>::try_from(values) {
                    Ok(values) => Ok(Arc::new(values)),
                    Err(values) => Err(DependencyError {
                        code: "InvalidResponse".into(),
                        message: format!("{} values for 4 parameters", values.len()),
                    }),
                }
            });
        // An injected outage of Parameter Store: the read is made (to learn
        // when the outage ends) and counted as failed.
        let read = read.and_then(|values| {
            if super::Faults::parse(&values[3]).parameter_store_down {
                Err(DependencyError {
                    code: "InternalServerError".into(),
                    message: "Parameter Store is unavailable (injected)".into(),
                })
            } else {
                Ok(values)
            }
        });
        let mut last = self.lock();
        last.started = Some(started);
        match read {
            Ok(values) => {
                last.good = Some(values.clone());
                last.error = None;
                Ok(values)
            }
            Err(e) => {
                last.error = Some(e.clone());
                last.good.clone().ok_or(e)
            }
        }
    }

    /// The outcome of the last read if it started less than the max age ago.
    fn recent(&self) -> Option<Result<Values, DependencyError>> {
        let last = self.lock();
        if last.started?.elapsed() >= self.max_age {
            return None;
        }
        match (&last.good, &last.error) {
            (Some(values), _) => Some(Ok(values.clone())),
            (None, Some(e)) => Some(Err(e.clone())),
            (None, None) => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Last> {
        crate::sync::lock(&self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Item;
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A parameter store that counts reads, can fail, and takes a while.
    #[derive(Default)]
    struct Store {
        reads: AtomicUsize,
        failing: AtomicBool,
        value: Mutex<String>,
    }

    #[async_trait]
    impl Dependencies for Store {
        async fn get_parameters(&self, names: &[&str]) -> Result<Vec<String>, DependencyError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            if self.failing.load(Ordering::SeqCst) {
                return Err(DependencyError {
                    code: "ThrottlingException".into(),
                    message: "Rate exceeded".into(),
                });
            }
            let value = self.value.lock().unwrap().clone();
            Ok(names.iter().map(|_| value.clone()).collect())
        }
        async fn query(&self, _: &str, _: &str) -> Result<Vec<Item>, DependencyError> {
            Ok(Vec::new())
        }
    }

    fn cache(max_age_ms: u64) -> ParameterCache {
        let names = ParameterNames {
            table: "t".into(),
            failure_response: "f".into(),
            health_check: "h".into(),
            fault: "x".into(),
        };
        ParameterCache::new(names, Duration::from_millis(max_age_ms))
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_read_per_max_age() {
        let store = Store::default();
        *store.value.lock().unwrap() = "a".into();
        let cache = cache(1000);
        let all = join_all((0..50).map(|_| cache.get(&store)).collect()).await;
        assert!(all.iter().all(|v| v.as_ref().unwrap()[0] == "a"));
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);
        *store.value.lock().unwrap() = "b".into();
        assert_eq!(cache.get(&store).await.unwrap()[0], "a", "still fresh");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(
            cache.get(&store).await.unwrap()[0],
            "b",
            "a change shows within the max age"
        );
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_keeps_the_last_good_values_and_is_not_retried_at_once() {
        let store = Store::default();
        *store.value.lock().unwrap() = "a".into();
        let cache = cache(300);
        cache.get(&store).await.unwrap();
        store.failing.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..20 {
            assert_eq!(cache.get(&store).await.unwrap()[0], "a");
        }
        let reads = store.reads.load(Ordering::SeqCst);
        assert!(
            (2..=3).contains(&reads),
            "{reads} reads: one failed read per max age"
        );
        store.failing.store(false, Ordering::SeqCst);
        *store.value.lock().unwrap() = "b".into();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(cache.get(&store).await.unwrap()[0], "b");
    }

    #[tokio::test]
    async fn with_no_good_values_yet_a_failed_read_fails_the_request() {
        let store = Store::default();
        store.failing.store(true, Ordering::SeqCst);
        let cache = cache(1000);
        let all = join_all((0..10).map(|_| cache.get(&store)).collect()).await;
        assert!(
            all.iter()
                .all(|r| r.as_ref().unwrap_err().code == "ThrottlingException")
        );
        assert_eq!(store.reads.load(Ordering::SeqCst), 1, "shared, not retried");
        store.failing.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(cache.get(&store).await.is_ok());
    }

    #[tokio::test]
    async fn max_age_zero_reads_every_time() {
        let store = Store::default();
        let cache = cache(0);
        for _ in 0..3 {
            cache.get(&store).await.unwrap();
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), 3);
    }

    /// Polls every future together until all are done.
    async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
        let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
        let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
                if o.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *o = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().map(|o| o.unwrap()).collect()
    }
}

//! Bounded waiting with backoff: never a fixed sleep.

use crate::error::{Error, Result};
use std::future::Future;
use std::time::{Duration, Instant};

/// The outcome of one attempt of a retried call.
pub(crate) enum Attempt<E> {
    /// A transient failure (eventual consistency): try again.
    Retry(E),
    /// A real failure: give up.
    Fail(E),
}

fn next(delay: Duration) -> Duration {
    (delay * 2).min(Duration::from_secs(5))
}

/// Calls `check` with backoff (0.2 s doubling to 5 s) until it yields a value.
pub(crate) async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        tracing::debug!(%what, ?delay, "not yet");
        if started.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_string(),
                waited_ms: timeout.as_millis() as u64,
            });
        }
        tokio::time::sleep(delay).await;
        delay = next(delay);
    }
}

/// Calls `op` with backoff while it fails transiently, up to `timeout`.
pub(crate) async fn retry<T, F, Fut>(timeout: Duration, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<Error>>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(Attempt::Fail(e)) => return Err(e),
            Err(Attempt::Retry(e)) if started.elapsed() >= timeout => return Err(e),
            Err(Attempt::Retry(e)) => {
                tracing::debug!(error = %e, ?delay, "transient failure, retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay = next(delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_transient_failures_then_succeeds() {
        let mut n = 0;
        let v = retry(Duration::from_secs(5), || {
            n += 1;
            let n = n;
            async move {
                if n < 3 {
                    Err(Attempt::Retry(Error::InvalidArgument("not yet".into())))
                } else {
                    Ok(n)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn gives_up_at_once_on_real_failures_and_after_the_timeout() {
        let r: Result<()> = retry(Duration::from_secs(5), || async {
            Err(Attempt::Fail(Error::InvalidArgument("no".into())))
        })
        .await;
        assert!(r.is_err());
        let r: Result<()> = until("never", Duration::from_millis(300), || async { Ok(None) }).await;
        assert!(matches!(r, Err(Error::Timeout { .. })));
    }
}

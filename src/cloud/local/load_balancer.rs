//! The load balancer: a real HTTP reverse proxy on 127.0.0.1 in front of a
//! target group, answering like an Application Load Balancer does.

use super::World;
use super::target_group::TargetGroup;
use super::upstream::Upstreams;
use crate::http::{self, Abort, HttpFailure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The body an Application Load Balancer sends with an error status.
fn error_page(status: u16, text: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n<center><h1>{status} {text}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    http::response(status, "text/html", body)
}

/// Headers that concern one connection only: not forwarded either way.
const HOP_BY_HOP: [hyper::header::HeaderName; 6] = [
    hyper::header::CONNECTION,
    hyper::header::TRANSFER_ENCODING,
    hyper::header::UPGRADE,
    hyper::header::TE,
    hyper::header::TRAILER,
    hyper::header::PROXY_AUTHORIZATION,
];

/// Forwards one request to a target chosen by the target group, with the
/// client's headers (its `Host` included, as an ALB keeps it) and
/// `X-Forwarded-For`/`-Proto`; the target's answer comes back with its
/// headers.
///
/// 503 when no target is registered, 502 when the target refuses the connection
/// or drops it without a response, 504 when it does not accept the connection
/// within the connection timeout or does not answer within the idle timeout;
/// otherwise the target's own status and body.
async fn forward(req: Request<Incoming>, proxy: &Proxy) -> Result<Response<Full<Bytes>>, Abort> {
    let Some(port) = proxy.group.pick_port(&proxy.next) else {
        return Ok(error_page(503, "Service Temporarily Unavailable"));
    };
    let (mut parts, body) = req.into_parts();
    let body = if body.is_end_stream() {
        Bytes::new()
    } else {
        body.collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default()
    };
    parts.uri = match parts.uri.path_and_query() {
        Some(p) => hyper::Uri::from(p.clone()),
        None => hyper::Uri::from_static("/"),
    };
    for name in &HOP_BY_HOP {
        parts.headers.remove(name);
    }
    if !parts.headers.contains_key(hyper::header::HOST) {
        if let Ok(host) = hyper::header::HeaderValue::from_str(&format!("127.0.0.1:{port}")) {
            parts.headers.insert(hyper::header::HOST, host);
        }
    }
    parts.headers.insert(
        hyper::header::HeaderName::from_static("x-forwarded-for"),
        hyper::header::HeaderValue::from_static("127.0.0.1"),
    );
    parts.headers.insert(
        hyper::header::HeaderName::from_static("x-forwarded-proto"),
        hyper::header::HeaderValue::from_static("http"),
    );
    let upstream = Request::from_parts(parts, Full::new(body));
    match proxy
        .upstreams
        .send(port, upstream, proxy.idle_timeout)
        .await
    {
        Ok(mut resp) => {
            for name in &HOP_BY_HOP {
                resp.headers_mut().remove(name);
            }
            Ok(resp)
        }
        Err(HttpFailure::Timeout(_) | HttpFailure::ConnectTimeout(_)) => {
            Ok(error_page(504, "Gateway Time-out"))
        }
        Err(_) => Ok(error_page(502, "Bad Gateway")),
    }
}

/// The future one proxied request is.
pub(crate) type ProxyFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send>,
>;

/// Builds the handler a listener serves with: targets must accept a
/// connection within `connect_timeout` and answer within `idle_timeout`.
pub(crate) fn handler(
    group: Arc<TargetGroup>,
    connect_timeout: Duration,
    idle_timeout: Duration,
) -> impl Fn(Request<Incoming>) -> ProxyFuture + Send + Sync + 'static {
    let proxy = Arc::new(Proxy {
        group,
        upstreams: Upstreams::new(connect_timeout),
        next: AtomicUsize::new(0),
        idle_timeout,
    });
    move |req| {
        let proxy = proxy.clone();
        Box::pin(async move { forward(req, &proxy).await })
    }
}

/// What one load balancer thread forwards with (nothing per request is
/// shared with the other threads but the target group).
struct Proxy {
    group: Arc<TargetGroup>,
    upstreams: Upstreams,
    /// This thread's round-robin position.
    next: AtomicUsize,
    idle_timeout: Duration,
}

/// Threads the load balancer runs on, each an event loop of its own with its
/// own listener on the same port (the kernel spreads connections over them)
/// and its own connections to the targets — as nginx runs its workers: a
/// request never changes thread, and the balancer does not share threads
/// with the instances behind it.
const WORKERS: usize = 2;

/// Starts the load balancer of `group` on 127.0.0.1 (a free port, returned):
/// its threads stop, and the port closes, when the world's token is
/// cancelled (the world's task tracker waits for them).
pub(crate) fn start(world: &World, group: Arc<TargetGroup>) -> std::io::Result<u16> {
    let first = http::bind_loopback_shared(0)?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first.into_std()?];
    for _ in 1..WORKERS {
        listeners.push(http::bind_loopback_shared(port)?.into_std()?);
    }
    let (connect, idle) = (world.timing.connect_timeout(), world.timing.idle_timeout());
    for (i, listener) in listeners.into_iter().enumerate() {
        let serving = world.tasks.track_future(serve(
            listener,
            world.token.clone(),
            handler(group.clone(), connect, idle),
        ));
        std::thread::Builder::new()
            .name(format!("load-balancer-{i}"))
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(serving),
                    Err(e) => tracing::error!("load balancer thread {i}: no runtime: {e}"),
                }
            })?;
    }
    Ok(port)
}

async fn serve(
    listener: std::net::TcpListener,
    stop: CancellationToken,
    handler: impl Fn(Request<Incoming>) -> ProxyFuture + Send + Sync + 'static,
) {
    match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => http::serve(listener, stop, handler).await,
        Err(e) => tracing::error!("load balancer listener: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::local::timing::Timing;
    use std::time::Instant;
    use tokio_util::sync::CancellationToken;

    /// A load balancer on 127.0.0.1 in front of one target at `port`.
    fn balancer(port: u16, connect: Duration, idle: Duration) -> (String, CancellationToken) {
        let tg = Arc::new(TargetGroup::new(Timing::new(1.0)));
        tg.set_in_use();
        tg.register("i-target", port);
        let listener = http::bind_loopback(0).unwrap();
        let url = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        let stop = CancellationToken::new();
        tokio::spawn(http::serve(
            listener,
            stop.clone(),
            handler(tg, connect, idle),
        ));
        (url, stop)
    }

    async fn timed_get(url: &str) -> (u16, Duration) {
        let started = Instant::now();
        let resp = http::HttpClient::new(0)
            .get(url, Duration::from_secs(30))
            .await
            .unwrap();
        (resp.status, started.elapsed())
    }

    /// A target whose accept queue is full never completes the handshake:
    /// the load balancer answers 504 after its connection timeout, long
    /// before the idle timeout.
    #[tokio::test]
    async fn a_target_that_does_not_accept_gets_504_after_the_connect_timeout() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let _listener = socket.listen(0).unwrap();
        // Fill the accept queue until a connection attempt hangs.
        let mut held = Vec::new();
        loop {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => held.push(s),
                Err(_) => break,
            }
            assert!(held.len() < 64, "the accept queue never filled");
        }
        let (url, stop) = balancer(port, Duration::from_millis(300), Duration::from_secs(20));
        let (status, took) = timed_get(&url).await;
        stop.cancel();
        assert_eq!(status, 504);
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(5),
            "504 after {took:?}"
        );
    }

    /// A target that accepts and never answers: 504 after the idle timeout,
    /// not after the (shorter) connection timeout.
    #[tokio::test]
    async fn a_target_that_accepts_and_never_answers_gets_504_after_the_idle_timeout() {
        let listener = http::bind_loopback(0).unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let (url, stop) = balancer(port, Duration::from_millis(100), Duration::from_millis(800));
        let (status, took) = timed_get(&url).await;
        stop.cancel();
        assert_eq!(status, 504);
        assert!(
            took >= Duration::from_millis(750) && took < Duration::from_secs(5),
            "504 after {took:?}"
        );
    }
}

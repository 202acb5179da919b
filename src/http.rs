//! The small HTTP toolkit shared by instances, the load balancer, health checks,
//! `inspect::request()` and the load generator: one pooled client, one server loop.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
    /// Time from sending the request to the last body byte.
    pub latency: Duration,
    /// The `Content-Type` header, if any.
    pub content_type: Option<hyper::header::HeaderValue>,
}

/// Why a request got no HTTP response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpFailure {
    /// The URL could not be parsed.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// No answer in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The peer did not accept the connection in time.
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    /// Connecting failed, or the peer closed the connection without a response.
    #[error("{0}")]
    Transport(String),
}

/// A pooled HTTP/1.1 client (keep-alive, no proxy, no TLS).
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    connect_timeout: Duration,
}

impl HttpClient {
    /// A client keeping up to `idle_per_host` idle connections per host.
    ///
    /// Must be called within a Tokio runtime.
    pub fn new(idle_per_host: usize) -> Self {
        Self::with_connect_timeout(idle_per_host, Duration::from_secs(5))
    }

    /// A client keeping up to `idle_per_host` idle connections per host (0:
    /// a new connection per request, closed after it), giving up on a
    /// connection the peer has not accepted after `connect_timeout`.
    ///
    /// Must be called within a Tokio runtime.
    pub fn with_connect_timeout(idle_per_host: usize, connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        // No pool timer: it would keep a task alive for as long as the client;
        // idle connections to a server that went away are dropped at checkout.
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(idle_per_host)
            .build(connector);
        HttpClient {
            inner,
            connect_timeout,
        }
    }

    /// Sends `GET url` and reads the whole body, giving up after `timeout`.
    pub async fn get(&self, url: &str, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| HttpFailure::InvalidUrl(url.to_string()))?;
        let req = Request::get(uri)
            .header(hyper::header::USER_AGENT, "resilient")
            .body(Full::new(Bytes::new()))
            .map_err(|e| HttpFailure::InvalidUrl(e.to_string()))?;
        self.send(req, timeout).await
    }

    /// Sends any request and reads the whole body, giving up after `timeout`.
    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<HttpResponse, HttpFailure> {
        let started = Instant::now();
        let exchange = async {
            let resp = self.inner.request(req).await.map_err(|e| {
                if e.is_connect() && timed_out(&e) {
                    HttpFailure::ConnectTimeout(self.connect_timeout)
                } else {
                    HttpFailure::Transport(describe(&e))
                }
            })?;
            let status = resp.status().as_u16();
            let content_type = resp.headers().get(hyper::header::CONTENT_TYPE).cloned();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| HttpFailure::Transport(e.to_string()))?
                .to_bytes();
            Ok(HttpResponse {
                status,
                body,
                latency: started.elapsed(),
                content_type,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpFailure::Timeout(timeout)),
        }
    }
}

/// Whether an error's causes include an I/O time-out (the connector's).
fn timed_out(e: &hyper_util::client::legacy::Error) -> bool {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// A handler's decision to answer nothing and drop the connection.
#[derive(Debug)]
pub struct Abort(pub String);

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Abort {}

/// Builds a response with a body and content type.
pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

/// Serves HTTP/1.1 on `listener` until `stop` is cancelled; then the listener is
/// closed and every open connection is dropped at once (like a machine going away).
pub async fn serve<H, F>(listener: TcpListener, stop: CancellationToken, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handler(req));
            // Small answers: one flattened write each, not a vectored one.
            let conn = http1::Builder::new()
                .keep_alive(true)
                .writev(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

/// Binds a listener on 127.0.0.1 that other listeners may share
/// (`SO_REUSEPORT`: the kernel spreads new connections over them); `port` 0
/// for any free port.
pub fn bind_loopback_shared(port: u16) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(1024)
}

/// Binds a listener on 127.0.0.1 (`port` 0 for any free port), allowing a quick
/// re-bind of the same port after a restart.
pub fn bind_loopback(port: u16) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_until_stopped_then_refuses() {
        let listener = bind_loopback(0).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, stop.clone(), |req: Request<Incoming>| {
            let path = req.uri().path().to_string();
            async move {
                if path == "/abort" {
                    Err(Abort("asked to".into()))
                } else {
                    Ok(response(200, "text/plain", "hi"))
                }
            }
        }));
        let client = HttpClient::new(4);
        let url = format!("http://127.0.0.1:{port}/");
        let ok = client.get(&url, Duration::from_secs(2)).await.unwrap();
        assert_eq!((ok.status, &ok.body[..]), (200, &b"hi"[..]));
        let aborted = client
            .get(&format!("{url}abort"), Duration::from_secs(2))
            .await;
        assert!(matches!(aborted, Err(HttpFailure::Transport(_))));
        stop.cancel();
        server.await.unwrap();
        let refused = client.get(&url, Duration::from_secs(2)).await;
        assert!(refused.is_err(), "port must be closed after stop");
    }
}

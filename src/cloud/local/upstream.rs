//! The load balancer's connections to its targets: HTTP/1.1 connections kept
//! alive per target port and reused request after request (as an Application
//! Load Balancer keeps its back-end connections), with AWS's two deadlines —
//! the target must accept a connection within the connection timeout and
//! answer within the idle timeout.
//!
//! One pool for all targets, taken and given back under a short lock; a
//! connection that closed while idle is dropped at checkout, and a request
//! that an idle connection could not send is sent again on a new one (it
//! never reached the target).

use crate::http::HttpFailure;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;

/// Idle connections kept per target at most.
const MAX_IDLE_PER_TARGET: usize = 64;

/// Kept-alive connections to the targets on 127.0.0.1, by port.
pub(crate) struct Upstreams {
    idle: Mutex<HashMap<u16, Vec<SendRequest<Full<Bytes>>>>>,
    connect_timeout: Duration,
}

impl Upstreams {
    /// No connection yet; new ones must be accepted within `connect_timeout`.
    pub(crate) fn new(connect_timeout: Duration) -> Self {
        Upstreams {
            idle: Mutex::new(HashMap::new()),
            connect_timeout,
        }
    }

    /// Sends `req` (origin-form URI) to the target on `port` and reads the
    /// whole answer, which must come within `timeout`.
    pub(crate) async fn send(
        &self,
        port: u16,
        req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Response<Full<Bytes>>, HttpFailure> {
        // One deadline (one timer) for the whole exchange.
        match tokio::time::timeout(timeout, self.exchange(port, req)).await {
            Ok(answer) => answer,
            Err(_) => Err(HttpFailure::Timeout(timeout)),
        }
    }

    async fn exchange(
        &self,
        port: u16,
        mut req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, HttpFailure> {
        let failed = |e: hyper::Error| HttpFailure::Transport(e.to_string());
        loop {
            let (mut sender, reused) = match self.checkout(port) {
                Some(sender) => (sender, true),
                None => (self.connect(port).await?, false),
            };
            // Ready once the connection is set up, or has finished its last
            // exchange; an idle one may have closed meanwhile.
            match sender.ready().await {
                Err(_) if reused => continue,
                Err(e) => return Err(failed(e)),
                Ok(()) => {}
            }
            let resp = match sender.try_send_request(req).await {
                Ok(resp) => resp,
                Err(mut e) => match e.take_message() {
                    // Never sent: the idle connection had gone. Again, on a new one.
                    Some(unsent) if reused => {
                        req = unsent;
                        continue;
                    }
                    _ => return Err(failed(e.into_error())),
                },
            };
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(failed)?.to_bytes();
            self.give_back(port, sender);
            return Ok(Response::from_parts(parts, Full::new(body)));
        }
    }

    /// An idle connection to `port` that is still open.
    fn checkout(&self, port: u16) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = crate::sync::lock(&self.idle);
        let senders = idle.get_mut(&port)?;
        while let Some(sender) = senders.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn give_back(&self, port: u16, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = crate::sync::lock(&self.idle);
        if !idle.contains_key(&port) {
            // A new target (rare): forget the targets whose connections all
            // closed (terminated instances), so the pool holds live ones only.
            idle.retain(|_, senders| {
                senders.retain(|s| !s.is_closed());
                !senders.is_empty()
            });
        }
        let senders = idle.entry(port).or_default();
        if senders.len() < MAX_IDLE_PER_TARGET {
            senders.push(sender);
        }
    }

    async fn connect(&self, port: u16) -> Result<SendRequest<Full<Bytes>>, HttpFailure> {
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            Err(_) => return Err(HttpFailure::ConnectTimeout(self.connect_timeout)),
            Ok(Err(e)) => return Err(HttpFailure::Transport(e.to_string())),
            Ok(Ok(stream)) => stream,
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| HttpFailure::Transport(e.to_string()))?;
        // The connection runs as its own task for as long as the target keeps
        // it open and a sender (idle here, or in use) exists: it notices a
        // target that closes it while idle.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

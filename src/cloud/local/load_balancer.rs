//! The load balancer: a real HTTP reverse proxy on 127.0.0.1 in front of a
//! target group, answering like an Application Load Balancer does.

use super::target_group::TargetGroup;
use crate::http::{self, Abort, HttpClient, HttpFailure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::Arc;
use std::time::Duration;

/// The body an Application Load Balancer sends with an error status.
fn error_page(status: u16, text: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n<center><h1>{status} {text}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    http::response(status, "text/html", body)
}

/// Forwards one request to a target chosen by the target group.
///
/// 503 when no target is registered, 502 when the target refuses the connection
/// or drops it without a response, 504 when it does not accept the connection
/// within the connection timeout (the client's) or does not answer within the
/// idle timeout; otherwise the target's own status and body.
pub async fn forward(
    req: Request<Incoming>,
    group: &TargetGroup,
    client: &HttpClient,
    idle_timeout: Duration,
) -> Result<Response<Full<Bytes>>, Abort> {
    let Some(target) = group.pick() else {
        return Ok(error_page(503, "Service Temporarily Unavailable"));
    };
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = Request::builder()
        .method(parts.method)
        .uri(format!("http://127.0.0.1:{}{path}", target.port));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONNECTION {
            upstream = upstream.header(name, value);
        }
    }
    let upstream = upstream
        .header("x-forwarded-for", "127.0.0.1")
        .header("x-forwarded-proto", "http")
        .body(Full::new(body))
        .map_err(|e| Abort(e.to_string()))?;
    match client.send(upstream, idle_timeout).await {
        Ok(resp) => {
            let mut out = Response::new(Full::new(resp.body));
            *out.status_mut() =
                hyper::StatusCode::from_u16(resp.status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
            if let Some(ct) = resp.content_type {
                out.headers_mut().insert(hyper::header::CONTENT_TYPE, ct);
            }
            Ok(out)
        }
        Err(HttpFailure::Timeout(_) | HttpFailure::ConnectTimeout(_)) => {
            Ok(error_page(504, "Gateway Time-out"))
        }
        Err(_) => Ok(error_page(502, "Bad Gateway")),
    }
}

/// The future one proxied request is.
pub type ProxyFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Abort>> + Send>,
>;

/// Builds the handler a listener serves with.
pub fn handler(
    group: Arc<TargetGroup>,
    client: HttpClient,
    idle_timeout: Duration,
) -> impl Fn(Request<Incoming>) -> ProxyFuture + Send + Sync + 'static {
    move |req| {
        let group = group.clone();
        let client = client.clone();
        Box::pin(async move { forward(req, &group, &client, idle_timeout).await })
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
        let tg = Arc::new(TargetGroup::new("tg", Timing::new(1.0)));
        tg.set_in_use();
        tg.register("i-target", port);
        let listener = http::bind_loopback(0).unwrap();
        let url = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        let stop = CancellationToken::new();
        let client = HttpClient::with_connect_timeout(4, connect);
        tokio::spawn(http::serve(
            listener,
            stop.clone(),
            handler(tg, client, idle),
        ));
        (url, stop)
    }

    async fn timed_get(url: &str) -> (u16, Duration) {
        let started = Instant::now();
        let resp = HttpClient::new(0)
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

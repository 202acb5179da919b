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
/// or drops it without a response, 504 when it does not answer within the idle
/// timeout; otherwise the target's own status and body.
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
        Err(HttpFailure::Timeout(_)) => Ok(error_page(504, "Gateway Time-out")),
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

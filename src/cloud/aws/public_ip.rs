//! Your public IP, for the load balancer's port-80 rule: asked of
//! `https://checkip.amazonaws.com` over HTTPS only (a plain-HTTP answer could
//! be forged on the way and open the port to someone else).

use crate::error::{Error, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Where the IP is asked.
pub(crate) const SERVICE: &str = "https://checkip.amazonaws.com/";

fn failed(why: impl std::fmt::Display) -> Error {
    Error::Setup(format!(
        "cannot find your public IP at {SERVICE} ({why}): pass --my-ip with your public IPv4 address"
    ))
}

/// Looks the IP up (10 s at most).
pub(crate) async fn lookup() -> Result<String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| failed(format!("no root certificates: {e}")))?
        .https_only()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let uri: hyper::Uri = SERVICE.parse().map_err(failed)?;
    let fetch = async {
        let response = client.get(uri).await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let body = response.into_body().collect().await.map_err(failed)?;
        Ok(body.to_bytes())
    };
    let body = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| failed("no answer within 10 s"))??;
    parse(&body)
}

/// The answer: one IPv4 address and a newline.
fn parse(body: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(body).trim().to_string();
    text.parse::<std::net::Ipv4Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            failed(format!(
                "unexpected answer `{}`",
                text.chars().take(40).collect::<String>()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_ipv4_address_and_names_the_flag_otherwise() {
        assert_eq!(parse(b"203.0.113.9\n").unwrap(), "203.0.113.9");
        for bad in [&b"<html>"[..], b"", b"203.0.113.9 203.0.113.10", b"::1"] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("--my-ip"), "{e}");
        }
    }
}

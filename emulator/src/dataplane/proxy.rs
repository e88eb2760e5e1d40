//! The reverse proxy from a pool endpoint to a session's forwarded target port.
//!
//! The caller's request goes over a pooled keep-alive HTTP/1.1 connection ([`super::upstream`],
//! `TCP_NODELAY`) with the same method and path (the part after the pool endpoint root), the
//! query minus `identifier`/`api-version`, the headers rewritten by [`super::headers`] and
//! `Host` set to the session's address. Bodies stream in
//! both directions frame by frame; nothing is buffered whole. The container's status, headers
//! (minus hop-by-hop) and body go back unchanged. Waiting for the container's response headers
//! is bounded by [`RESPONSE_TIMEOUT`] (the ACA ingress idle timeout is about 4 minutes).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, Uri};

use super::error::DataPlaneError;
use super::headers;
use super::upstream::{Upstream, UpstreamError};

/// Longest wait for a container's response headers.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(240);

/// The shared proxy client.
#[derive(Clone, Debug, Default)]
pub struct ProxyClient {
    upstream: Upstream,
}

impl ProxyClient {
    /// A client with an empty keep-alive pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forwards `req` to `addr`, with `path` (starting with `/`) as the upstream path.
    pub async fn forward(
        &self,
        addr: SocketAddr,
        path: &str,
        req: Request<Body>,
        client_ip: Option<IpAddr>,
        proto: &str,
    ) -> Result<Response<Body>, DataPlaneError> {
        let (parts, body) = req.into_parts();
        let query = headers::forwarded_query(parts.uri.query());
        let pq = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let uri: Uri = pq.parse().map_err(|e| {
            DataPlaneError::validation("path", format!("the request path is not valid: {e}"))
        })?;
        let mut out = Request::builder()
            .method(parts.method)
            .uri(uri)
            .version(http::Version::HTTP_11)
            .body(body)
            .map_err(|e| {
                DataPlaneError::validation(
                    "path",
                    format!("the request could not be forwarded: {e}"),
                )
            })?;
        let mut h = headers::request_headers(parts.headers, client_ip, proto);
        if let Ok(host) = HeaderValue::from_str(&addr.to_string()) {
            h.insert(header::HOST, host);
        }
        *out.headers_mut() = h;
        let resp = match tokio::time::timeout(RESPONSE_TIMEOUT, self.upstream.send(addr, out)).await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e @ (UpstreamError::Connect { .. } | UpstreamError::Exchange { .. }))) => {
                return Err(DataPlaneError::Unreachable(e.to_string()))
            }
            Err(_) => return Err(DataPlaneError::Timeout(RESPONSE_TIMEOUT.as_secs())),
        };
        let (mut parts, body) = resp.into_parts();
        parts.headers = headers::response_headers(std::mem::take(&mut parts.headers));
        Ok(Response::from_parts(parts, body))
    }
}

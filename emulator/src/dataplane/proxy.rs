//! The reverse proxy from a pool endpoint to a session's forwarded target port.
//!
//! One shared hyper client (HTTP/1.1, keep-alive pool, `TCP_NODELAY`) sends the caller's request
//! with the same method and path (the part after the pool endpoint root), the query minus
//! `identifier`/`api-version`, and the headers rewritten by [`super::headers`]. Bodies stream in
//! both directions frame by frame; nothing is buffered whole. The container's status, headers
//! (minus hop-by-hop) and body go back unchanged. Waiting for the container's response headers
//! is bounded by [`RESPONSE_TIMEOUT`] (the ACA ingress idle timeout is about 4 minutes).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::error::DataPlaneError;
use super::headers;

/// Longest wait for a container's response headers.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(240);

/// The shared proxy client.
#[derive(Clone, Debug)]
pub struct ProxyClient {
    client: Client<HttpConnector, Body>,
}

impl Default for ProxyClient {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyClient {
    /// A client with a keep-alive pool.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self { client }
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
        let uri: Uri = format!("http://{addr}{pq}").parse().map_err(|e| {
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
        *out.headers_mut() = headers::request_headers(parts.headers, client_ip, proto);
        let resp = match tokio::time::timeout(RESPONSE_TIMEOUT, self.client.request(out)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(DataPlaneError::Unreachable(error_chain(&e))),
            Err(_) => return Err(DataPlaneError::Timeout(RESPONSE_TIMEOUT.as_secs())),
        };
        let (mut parts, body) = resp.into_parts();
        parts.headers = headers::response_headers(std::mem::take(&mut parts.headers));
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

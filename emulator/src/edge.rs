//! The serve loop every listener runs (the main one and each pool's origin), with the limits
//! that protect the emulator from its clients ([`crate::config::EdgeLimits`]):
//!
//! - **Connection cap**: one count over every listener of an instance ([`Edge`]). A connection
//!   beyond it is answered `503 ServerBusy` with `Retry-After` (after its TLS handshake, on
//!   HTTPS) and closed; beyond a further [`OVERFLOW`] it is closed at once.
//! - **Timeouts**: the TLS handshake, the HTTP/1 request head (hyper's header-read timeout,
//!   which also ends an idle keep-alive connection), and an idle timeout for any connection
//!   (HTTP/2 included) with no request in flight and no bytes moving.
//! - **Shutdown**: when the shutdown future resolves the listener closes, every connection is
//!   asked to finish (HTTP/1 closes after its current response, HTTP/2 sends GOAWAY), and
//!   whatever is still open after `drain_timeout` is closed: shutdown never waits on a client.
//! - **Running out of file descriptors**: `accept` failing with `EMFILE`/`ENFILE` (or the
//!   kernel out of buffers) backs off (10 ms doubling to 1 s) and logs once per second instead
//!   of retrying in a tight loop.
//!
//! Request bodies are limited by the router ([`crate::server::router`]), not here: the data
//! plane streams bodies of any size.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::EdgeLimits;

/// Connections beyond the cap that still get their `503` answer; more are closed at once.
pub const OVERFLOW: usize = 256;
/// How long an over-cap connection may take to send its request before it is closed.
const OVERFLOW_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a connection checks its idle timeout.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The limits and connection count shared by every listener of one emulator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Edge {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: EdgeLimits,
    permits: Arc<Semaphore>,
    overflow: Arc<Semaphore>,
    open: AtomicUsize,
    refused: AtomicU64,
}

/// What an [`Edge`] has seen (for tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeStats {
    /// Connections open now (within the cap).
    pub open: usize,
    /// Connections answered `503 ServerBusy` or closed because of the cap, since start.
    pub refused: u64,
}

impl Edge {
    /// An edge applying `limits`.
    pub fn new(limits: EdgeLimits) -> Self {
        Edge {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
                overflow: Arc::new(Semaphore::new(OVERFLOW)),
                limits,
                open: AtomicUsize::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &EdgeLimits {
        &self.inner.limits
    }

    /// Counters so far.
    pub fn stats(&self) -> EdgeStats {
        EdgeStats {
            open: self.inner.open.load(Ordering::Relaxed),
            refused: self.inner.refused.load(Ordering::Relaxed),
        }
    }
}

/// True for `accept` errors that mean the process or the system ran out of something
/// (descriptors, buffers, memory): retrying at once would spin.
fn is_exhaustion(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves `app` on `listener` (TLS when `tls`) under `edge`'s limits until `shutdown`
/// resolves, then drains (see the module docs). Returns when every connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    edge: Edge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Duration::ZERO;
    let mut last_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            res = listener.accept() => match res {
                Ok((tcp, peer)) => {
                    backoff = Duration::ZERO;
                    let _ = tcp.set_nodelay(true);
                    let conn = Connection {
                        edge: edge.clone(),
                        app: app.clone(),
                        acceptor: acceptor.clone(),
                        stop: stop_rx.clone(),
                        peer,
                    };
                    tasks.spawn(conn.run(tcp));
                }
                Err(e) if is_exhaustion(&e) => {
                    backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                    if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        last_warning = Some(Instant::now());
                        tracing::warn!(error = %e, open = edge.stats().open, retry_in_ms = backoff.as_millis() as u64,
                            "cannot accept connections: out of file descriptors or memory; backing off (raise `ulimit -n` or lower --max-connections)");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut shutdown => break,
                    }
                }
                // The peer gave up before we accepted (ECONNABORTED and the like).
                Err(e) => tracing::debug!(error = %e, "accept failed"),
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(edge.limits().drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open = tasks.len(),
            "closing connections still open after the drain timeout"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// One accepted connection and what it needs.
struct Connection {
    edge: Edge,
    app: Router,
    acceptor: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
}

/// Holds a connection's place under the cap (and its count in [`EdgeStats::open`]).
struct Slot {
    _permit: OwnedSemaphorePermit,
    edge: Edge,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.edge.inner.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connection {
    async fn run(mut self, tcp: tokio::net::TcpStream) {
        let inner = &self.edge.inner;
        let slot = match inner.permits.clone().try_acquire_owned() {
            Ok(p) => {
                inner.open.fetch_add(1, Ordering::Relaxed);
                Some(Slot {
                    _permit: p,
                    edge: self.edge.clone(),
                })
            }
            Err(_) => None,
        };
        let overflow = match slot {
            Some(_) => None,
            None => {
                inner.refused.fetch_add(1, Ordering::Relaxed);
                match inner.overflow.clone().try_acquire_owned() {
                    Ok(p) => Some(p),
                    // Far beyond the cap: close at once (the peer sees the connection reset).
                    Err(_) => return,
                }
            }
        };
        let handshake_timeout = self.edge.limits().tls_handshake_timeout;
        match self.acceptor.take() {
            None => self.serve_io(tcp, slot, overflow).await,
            Some(acceptor) => {
                let mut stop = self.stop.clone();
                let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp));
                let tls = tokio::select! {
                    r = handshake => r,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match tls {
                    Ok(Ok(stream)) => self.serve_io(stream, slot, overflow).await,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    /// Serves HTTP on `io`: the app within the cap, the `503` answer beyond it.
    async fn serve_io<I>(self, io: I, slot: Option<Slot>, overflow: Option<OwnedSemaphorePermit>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = self.edge.limits().clone();
        let io = Activity::new(io);
        let last = io.last.clone();
        let inflight = Arc::new(AtomicUsize::new(0));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(if overflow.is_some() {
                OVERFLOW_TIMEOUT
            } else {
                limits.header_read_timeout
            })
            .keep_alive(overflow.is_none());
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .max_concurrent_streams(256);
        let mut stop = self.stop.clone();
        let peer = self.peer;
        if let Some(_permit) = overflow {
            let max = limits.max_connections;
            let svc = hyper::service::service_fn(move |_req| async move {
                Ok::<_, std::convert::Infallible>(busy_response(max))
            });
            let conn = builder.serve_connection(TokioIo::new(io), svc);
            let _ = tokio::time::timeout(OVERFLOW_TIMEOUT, conn).await;
            return;
        }
        let svc = hyper_util::service::TowerToHyperService::new(Counted {
            inner: self.app,
            inflight: inflight.clone(),
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
        let mut conn = std::pin::pin!(conn);
        let mut tick = tokio::time::interval(IDLE_CHECK);
        let mut closing = false;
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = stop.wait_for(|s| *s), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = tick.tick() => {
                    let idle = last.idle_for() >= limits.idle_timeout
                        && inflight.load(Ordering::Relaxed) == 0;
                    if idle && closing {
                        // Asked to close and still silent: close it ourselves.
                        break;
                    }
                    if idle {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
        drop(slot);
    }
}

/// The `503 ServerBusy` answer to a connection beyond the cap.
fn busy_response(max: usize) -> http::Response<axum::body::Body> {
    let body = serde_json::json!({"error": {
        "code": "ServerBusy",
        "message": format!("The emulator is serving its maximum of {max} connections. Retry shortly, close idle connections, or start it with a higher --max-connections."),
    }});
    let mut resp = http::Response::new(axum::body::Body::from(body.to_string()));
    *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("1"),
    );
    h.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    resp
}

/// The app, counting requests in flight (a connection with one is never idle).
#[derive(Clone)]
struct Counted {
    inner: Router,
    inflight: Arc<AtomicUsize>,
}

/// Decrements the in-flight count when the response (or its body) is done.
struct InflightGuard(Arc<AtomicUsize>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl tower::Service<http::Request<hyper::body::Incoming>> for Counted {
    type Response = http::Response<axum::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        let guard = InflightGuard(self.inflight.clone());
        let app = self.inner.clone();
        Box::pin(async move {
            let resp = tower::ServiceExt::oneshot(app, req.map(axum::body::Body::new)).await?;
            // The request stays in flight until its response body has been sent.
            Ok(resp.map(|b| {
                axum::body::Body::new(GuardedBody {
                    body: b,
                    _guard: guard,
                })
            }))
        })
    }
}

/// A response body holding an [`InflightGuard`].
struct GuardedBody {
    body: axum::body::Body,
    _guard: InflightGuard,
}

impl hyper::body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// When bytes last moved on a connection.
#[derive(Clone)]
struct LastActivity(Arc<AtomicU64>, Instant);

impl LastActivity {
    fn touch(&self) {
        self.0
            .store(self.1.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.0.load(Ordering::Relaxed));
        self.1.elapsed().saturating_sub(last)
    }
}

/// An I/O stream that records when bytes last moved.
struct Activity<I> {
    io: I,
    last: LastActivity,
}

impl<I> Activity<I> {
    fn new(io: I) -> Self {
        Activity {
            io,
            last: LastActivity(Arc::new(AtomicU64::new(0)), Instant::now()),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Activity<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.last.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Activity<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.last.touch();
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.last.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_errors_are_recognised() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_exhaustion(&std::io::Error::from_raw_os_error(code)));
        }
        assert!(!is_exhaustion(&std::io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }

    #[test]
    fn busy_answer_is_a_503_with_retry_after() {
        let r = busy_response(10);
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "1");
    }
}

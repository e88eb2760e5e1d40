//! HTTP/1.1 connections from the data plane to sessions, kept alive in a small pool and driven
//! by the task that serves the caller's request (no connection task per upstream connection).
//!
//! Why: a general-purpose client (hyper's pooled client) runs every connection in its own task,
//! so each proxied request crosses tasks (and often threads) several times; here the caller's
//! task polls the connection while it waits for the response head, and the response body polls
//! it while the body streams ([`DrivenBody`]). When the body has ended and the connection is
//! still usable it goes back to the pool.
//!
//! Idle connections: at most [`MAX_IDLE_PER_ADDR`] per session address, dropped after
//! [`IDLE_TIMEOUT`]. A pooled connection is polled once when taken, so one the container has
//! closed meanwhile is noticed and skipped; a request that could not be sent on a pooled
//! connection is retried once on a new one (nothing of it reached the container).
//!
//! Ended sessions: a sweep every [`SWEEP_EVERY`] (a task that lives as long as the pool) polls
//! every idle connection once and drops those whose session closed them (an ended session's
//! socket is closed: QEMU or the fake session is gone) or that outlived [`IDLE_TIMEOUT`], over
//! every address, not only the ones still in use. The descriptor count stays flat however
//! many sessions come and go.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;

/// Most idle connections kept per session address.
pub const MAX_IDLE_PER_ADDR: usize = 256;
/// Idle connections older than this are closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often idle connections of every address are checked (see the module docs).
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// Bound for opening a connection to a session.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Body>>>;

/// One HTTP/1.1 connection: the request half and the connection future that does its I/O.
struct Conn {
    sender: http1::SendRequest<Body>,
    driver: Driver,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// Errors talking to a session.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connecting failed or timed out.
    #[error("connecting to the session at {addr} failed: {reason}")]
    Connect {
        /// Session address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The exchange failed after connecting.
    #[error("the session at {addr} did not answer the request: {reason}")]
    Exchange {
        /// Session address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

type IdleMap = HashMap<SocketAddr, Vec<Idle>>;

/// The pool of idle upstream connections. Cheap to clone.
#[derive(Clone, Default)]
pub struct Upstream {
    idle: Arc<Mutex<IdleMap>>,
    sweeper: Arc<std::sync::OnceLock<()>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

impl Upstream {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `req` (origin-form URI, `Host` set by the caller) to `addr` and returns the
    /// response once its head has arrived; its body streams from the session as it is read.
    pub async fn send(
        &self,
        addr: SocketAddr,
        req: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        let mut req = req;
        while let Some(conn) = self.take_idle(addr) {
            match exchange(conn, req, addr).await {
                Ok(resp) => return Ok(self.wrap(addr, resp)),
                Err(Failed::Unsent(back)) => req = back,
                Err(Failed::Sent(e)) => return Err(e),
            }
        }
        let conn = connect(addr).await?;
        match exchange(conn, req, addr).await {
            Ok(resp) => Ok(self.wrap(addr, resp)),
            Err(Failed::Unsent(_)) => Err(UpstreamError::Exchange {
                addr,
                reason: "the new connection closed before the request could be sent".into(),
            }),
            Err(Failed::Sent(e)) => Err(e),
        }
    }

    fn wrap(
        &self,
        addr: SocketAddr,
        (resp, conn): (Response<Incoming>, Option<Conn>),
    ) -> Response<Body> {
        let (parts, body) = resp.into_parts();
        let driven = DrivenBody {
            body,
            conn,
            home: Some((self.clone(), addr)),
        };
        Response::from_parts(parts, Body::new(driven))
    }

    /// An idle connection to `addr` that is still open, if any.
    fn take_idle(&self, addr: SocketAddr) -> Option<Conn> {
        loop {
            let idle = {
                let mut map = self.idle.lock();
                let list = map.get_mut(&addr)?;
                let idle = list.pop();
                if list.is_empty() {
                    map.remove(&addr);
                }
                idle?
            };
            if idle.since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            let mut conn = idle.conn;
            if !is_open(&mut conn) {
                continue;
            }
            return Some(conn);
        }
    }

    /// Idle connections kept now, over every address.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().values().map(Vec::len).sum()
    }

    /// Drops every idle connection that is closed or too old, over every address.
    pub fn sweep(&self) {
        sweep(&mut self.idle.lock());
    }

    /// Starts the periodic sweep (once per pool; it ends when the pool is dropped).
    fn start_sweeper(&self) {
        let weak = Arc::downgrade(&self.idle);
        self.sweeper.get_or_init(|| {
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                return;
            };
            rt.spawn(async move {
                let mut tick = tokio::time::interval(SWEEP_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(idle) = weak.upgrade() else { return };
                    sweep(&mut idle.lock());
                }
            });
        });
    }

    fn put_idle(&self, addr: SocketAddr, conn: Conn) {
        self.start_sweeper();
        let mut map = self.idle.lock();
        let list = map.entry(addr).or_default();
        list.retain(|i| i.since.elapsed() <= IDLE_TIMEOUT);
        if list.len() < MAX_IDLE_PER_ADDR {
            list.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }
}

/// True when `conn` is still usable: polled once without a real waker, a connection the
/// session has closed completes here.
fn is_open(conn: &mut Conn) -> bool {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    !(conn.driver.as_mut().poll(&mut cx).is_ready() || conn.sender.is_closed())
}

fn sweep(map: &mut IdleMap) {
    map.retain(|_, list| {
        list.retain_mut(|i| i.since.elapsed() <= IDLE_TIMEOUT && is_open(&mut i.conn));
        !list.is_empty()
    });
}

enum Failed {
    /// Nothing was sent: the request comes back for a retry.
    Unsent(Request<Body>),
    /// The request (or part of it) was sent; no retry.
    Sent(UpstreamError),
}

async fn connect(addr: SocketAddr) -> Result<Conn, UpstreamError> {
    let started = Instant::now();
    let err = |reason: String| UpstreamError::Connect { addr, reason };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            err(format!(
                "no connection within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| err(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (sender, driver) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| err(e.to_string()))?;
    tracing::debug!(%addr, connect_us = started.elapsed().as_micros() as u64, "new upstream connection");
    Ok(Conn {
        sender,
        driver: Box::pin(driver),
    })
}

/// Sends `req` on `conn`, polling the connection until the response head is in.
async fn exchange(
    mut conn: Conn,
    req: Request<Body>,
    addr: SocketAddr,
) -> Result<(Response<Incoming>, Option<Conn>), Failed> {
    let sent = {
        let Conn { sender, driver } = &mut conn;
        let ready = futures::future::poll_fn(|cx| {
            // Drive the connection until it can take a request.
            if let Poll::Ready(r) = driver.as_mut().poll(cx) {
                return Poll::Ready(Err(r.err()));
            }
            sender.poll_ready(cx).map(|r| r.map_err(Some))
        })
        .await;
        if ready.is_err() {
            return Err(Failed::Unsent(req));
        }
        let mut response = std::pin::pin!(sender.try_send_request(req));
        let mut driver_done = false;
        let sent = futures::future::poll_fn(|cx| {
            if let Poll::Ready(r) = response.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            // The connection ending first makes the send future fail with the reason.
            if !driver_done && driver.as_mut().poll(cx).is_ready() {
                driver_done = true;
                return response.as_mut().poll(cx);
            }
            Poll::Pending
        })
        .await;
        (sent, driver_done)
    };
    let (sent, driver_done) = sent;
    match sent {
        // A connection that ended with the response (e.g. `Connection: close`) is not reused.
        Ok(resp) => Ok((resp, (!driver_done).then_some(conn))),
        Err(mut e) => match e.take_message() {
            Some(req) => Err(Failed::Unsent(req)),
            None => Err(Failed::Sent(UpstreamError::Exchange {
                addr,
                reason: error_chain(e.error()),
            })),
        },
    }
}

/// The response body of a session: polls the upstream connection (so its bytes arrive) and
/// returns the connection to the pool once the body has ended.
struct DrivenBody {
    body: Incoming,
    conn: Option<Conn>,
    home: Option<(Upstream, SocketAddr)>,
}

impl Drop for DrivenBody {
    fn drop(&mut self) {
        // A body that is complete but was never polled to its end (e.g. empty) still frees its
        // connection for reuse.
        if hyper::body::Body::is_end_stream(&self.body) {
            if let (Some(conn), Some((pool, addr))) = (self.conn.take(), self.home.take()) {
                pool.put_idle(addr, conn);
            }
        }
    }
}

impl hyper::body::Body for DrivenBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        if let Some(conn) = &mut this.conn {
            if conn.driver.as_mut().poll(cx).is_ready() {
                // Closed (e.g. `Connection: close`): the body still holds what was read.
                this.conn = None;
            }
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            if let (Some(conn), Some((pool, addr))) = (this.conn.take(), this.home.take()) {
                pool.put_idle(addr, conn);
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// `e` and its sources, joined with `: `.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A raw HTTP/1.1 server: answers each request with `body`; closes the connection after
    /// each response when `close_after` (without saying so when `silent`). Counts connections.
    async fn server(
        close_after: bool,
        silent: bool,
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let conns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match s.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        let conn = if close_after && !silent {
                            "Connection: close\r\n"
                        } else {
                            ""
                        };
                        let resp = format!("HTTP/1.1 200 OK\r\n{conn}Content-Length: 2\r\n\r\nok");
                        if s.write_all(resp.as_bytes()).await.is_err() || close_after {
                            return;
                        }
                    }
                });
            }
        });
        (addr, conns)
    }

    async fn get(up: &Upstream, addr: SocketAddr) -> String {
        let req = Request::get("/x")
            .header(http::header::HOST, addr.to_string())
            .body(Body::empty())
            .expect("request");
        let resp = up.send(addr, req).await.expect("response");
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&body).into_owned()
    }

    #[tokio::test]
    async fn keep_alive_connections_are_reused() {
        let (addr, conns) = server(false, false).await;
        let up = Upstream::new();
        for _ in 0..5 {
            assert_eq!(get(&up, addr).await, "ok");
        }
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn connection_close_and_silently_closed_connections_are_not_reused() {
        for silent in [false, true] {
            let (addr, conns) = server(true, silent).await;
            let up = Upstream::new();
            for _ in 0..3 {
                assert_eq!(get(&up, addr).await, "ok", "silent: {silent}");
                // Let the close reach us before the next request (it may also race: then the
                // request is retried on a new connection).
                tokio::task::yield_now().await;
            }
            assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 3);
        }
    }

    #[tokio::test]
    async fn idle_connections_of_closed_servers_are_swept() {
        let up = Upstream::new();
        let mut servers = Vec::new();
        for _ in 0..20 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let server = tokio::spawn(async move {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                // Keep the connection open until the "session" ends (the task is aborted).
                let _ = s.read(&mut buf).await;
            });
            assert_eq!(get(&up, addr).await, "ok");
            servers.push(server);
        }
        assert_eq!(up.idle_count(), 20);
        for s in &servers {
            s.abort();
        }
        for s in servers {
            let _ = s.await;
        }
        // Give the closes a moment to reach the sockets, then sweep: nothing is kept.
        for _ in 0..50 {
            up.sweep();
            if up.idle_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(up.idle_count(), 0);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let req = Request::get("/").body(Body::empty()).expect("request");
        let err = Upstream::new()
            .send(addr, req)
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, UpstreamError::Connect { .. }), "{err}");
    }
}

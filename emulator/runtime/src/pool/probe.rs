//! Startup and Liveness probes: their settings, the pure threshold logic ([`ProbeTracker`]) and
//! the network checks (HTTP GET and TCP connect).
//!
//! # Ports
//!
//! Every probe is sent to the container port it names: sessions are started with each probe
//! port forwarded besides the target port ([`super::spec::Template::session_container`]), and
//! the supervisor sends the probe to that port's host address. Probe-only ports are never
//! reachable through the data plane.
//!
//! # HTTP probes
//!
//! `GET {path}` with `Host: {host or the address}`, the probe's `httpHeaders`, `Connection:
//! close`; a status 200-399 is a success (as in Kubernetes). The request is built with the
//! `http` types and sent over hyper's HTTP/1.1 client connection: a path, host or header that
//! is not valid HTTP (a line break, a space, a control character) fails the check without a
//! byte sent ([`ProbeRequestError`]; the ARM edge refuses such probes up front with the same
//! [`validate_path`], [`validate_host`] and [`validate_header`]). `HTTPS` probes do the same request
//! over TLS after a handshake that does not verify the container's certificate (like the
//! kubelet: any certificate, self-signed or expired, is accepted; see [`super::probe_tls`]).
//!
//! # Warm-up
//!
//! Only for microVMs under TCG (software emulation; never with KVM or the fake backend), only
//! in `Timed` pools, and unless an HTTP Startup probe has already talked HTTP to its target
//! port: once a session passes its readiness check it gets one `OPTIONS * HTTP/1.1` request on
//! the target port ([`warm_up`]), HTTP's no-op "ping" (RFC 9110 section 9.3.7). The answer is
//! read and ignored (any status, or none, within [`WARM_UP_TIMEOUT`]). It runs the guest's
//! network and HTTP paths once before the first caller arrives: a microVM cloned from a
//! template runs every code path for the first time, which under TCG costs tens of
//! milliseconds. The container sees this one request (Azure sends none; it is the price of
//! emulating the CPU in software). `OnContainerExit` pools never get it, so a container that
//! ends after its work sees only its callers' requests.
//!
//! # Without probes
//!
//! A session is ready when the backend reports the process started and the target port accepts
//! a TCP connection that stays open ([`tcp_accepts`]; polled every [`DEFAULT_POLL`], real time,
//! bounded by the boot timeout). TCP probes use the same check.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clock::TimeScale;

/// How often the implicit readiness check (no Startup probe) polls the target port.
pub const DEFAULT_POLL: Duration = Duration::from_millis(20);

/// How long a TCP connection must stay open to count as accepted by the container. QEMU's
/// user-mode network accepts on the host side of a port forward even when nothing listens in
/// the guest, then closes the connection at once; a connection that survives this long (or
/// gets data) was accepted by the container.
pub const TCP_SETTLE: Duration = Duration::from_millis(100);

/// Connects to `addr` and checks the connection is really accepted (see [`TCP_SETTLE`]).
pub async fn tcp_accepts(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr} failed: {e}"))?;
    let mut buf = [0u8; 1];
    match tokio::time::timeout(TCP_SETTLE, stream.read(&mut buf)).await {
        Err(_) | Ok(Ok(1..)) => Ok(()),
        Ok(Ok(_)) => Err(format!(
            "the connection to {addr} was closed at once: nothing listens on the port yet"
        )),
        Ok(Err(e)) => Err(format!("the connection to {addr} failed: {e}")),
    }
}

/// Bound for the warm-up exchange.
pub const WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// What the warm-up exchange saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUp {
    /// The container answered (any bytes), closed the connection in order, or did not answer
    /// within [`WARM_UP_TIMEOUT`]: it is there.
    Done,
    /// The connection was reset (or could not be opened) before a single byte came back:
    /// nothing listens in the guest yet. Under TCG on a busy host QEMU's user-mode network can
    /// keep a forwarded connection open longer than [`TCP_SETTLE`] before the guest's reset
    /// reaches it, so [`tcp_accepts`] alone can pass too early.
    Refused,
}

/// Sends `OPTIONS * HTTP/1.1` to `addr` and reads the answer to its end (see the module docs);
/// the answer itself is ignored, only whether there was one ([`WarmUp`]).
pub async fn warm_up(addr: SocketAddr) -> WarmUp {
    let exchange = async {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            return WarmUp::Refused;
        };
        let _ = stream.set_nodelay(true);
        let req = format!(
            "OPTIONS * HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: sessions-emulator-warm-up\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(req.as_bytes()).await.is_err() {
            return WarmUp::Refused;
        }
        let mut buf = [0u8; 4096];
        let mut got = 0usize;
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return WarmUp::Done,
                Ok(n) => got += n,
                Err(e) if got == 0 && e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return WarmUp::Refused
                }
                Err(_) => return WarmUp::Done,
            }
        }
    };
    tokio::time::timeout(WARM_UP_TIMEOUT, exchange)
        .await
        .unwrap_or(WarmUp::Done)
}

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// Gates readiness.
    Startup,
    /// Watches ready and allocated sessions.
    Liveness,
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    /// HTTP GET.
    Http {
        /// Request path (default `/`).
        path: String,
        /// Container port named by the probe.
        port: u16,
        /// `HTTPS` instead of `HTTP`.
        https: bool,
        /// Extra request headers.
        headers: Vec<(String, String)>,
        /// `Host` header value.
        host: Option<String>,
    },
    /// TCP connect.
    Tcp {
        /// Container port named by the probe.
        port: u16,
    },
}

impl ProbeAction {
    /// The container port the probe names.
    pub fn port(&self) -> u16 {
        match self {
            ProbeAction::Http { port, .. } | ProbeAction::Tcp { port } => *port,
        }
    }
}

/// One probe with its settings (defaults already applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// Startup or Liveness.
    pub kind: ProbeKind,
    /// HTTP or TCP.
    pub action: ProbeAction,
    /// `initialDelaySeconds` (default 0).
    pub initial_delay_secs: u64,
    /// `periodSeconds` (default 10).
    pub period_secs: u64,
    /// `failureThreshold` (default 3).
    pub failure_threshold: u32,
    /// `successThreshold` (default 1).
    pub success_threshold: u32,
    /// `timeoutSeconds` (default 1).
    pub timeout_secs: u64,
}

impl ProbeSpec {
    /// A probe with the documented defaults.
    pub fn new(kind: ProbeKind, action: ProbeAction) -> Self {
        Self {
            kind,
            action,
            initial_delay_secs: 0,
            period_secs: 10,
            failure_threshold: 3,
            success_threshold: 1,
            timeout_secs: 1,
        }
    }

    /// Scaled initial delay.
    pub fn initial_delay(&self, scale: TimeScale) -> Duration {
        scale.secs(self.initial_delay_secs)
    }

    /// Scaled period.
    pub fn period(&self, scale: TimeScale) -> Duration {
        scale.period(self.period_secs.max(1))
    }

    /// Network timeout of one check.
    pub fn timeout(&self, scale: TimeScale) -> Duration {
        scale.timeout(self.timeout_secs.max(1))
    }
}

/// The outcome of feeding one result to a [`ProbeTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep probing.
    Pending,
    /// `successThreshold` consecutive successes (Startup: the session is ready).
    Passed,
    /// `failureThreshold` consecutive failures.
    Failed,
}

/// Consecutive success/failure counting of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTracker {
    success_threshold: u32,
    failure_threshold: u32,
    successes: u32,
    failures: u32,
}

impl ProbeTracker {
    /// A tracker for `spec`'s thresholds (each at least 1).
    pub fn new(spec: &ProbeSpec) -> Self {
        Self {
            success_threshold: spec.success_threshold.max(1),
            failure_threshold: spec.failure_threshold.max(1),
            successes: 0,
            failures: 0,
        }
    }

    /// Records one check result.
    pub fn record(&mut self, ok: bool) -> Verdict {
        if ok {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.success_threshold {
                return Verdict::Passed;
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.failure_threshold {
                return Verdict::Failed;
            }
        }
        Verdict::Pending
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Runs one check of `action` against the session's forwarded `addr`.
/// `Err` carries a one-line reason for pool events.
pub async fn check(
    action: &ProbeAction,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(timeout, check_inner(action, addr)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

async fn check_inner(action: &ProbeAction, addr: SocketAddr) -> Result<(), String> {
    let ProbeAction::Http {
        path,
        headers,
        host,
        https,
        ..
    } = action
    else {
        return tcp_accepts(addr).await;
    };
    // The request is built (and so validated) before anything is sent: a path, host or
    // header that is not valid HTTP never reaches the container.
    let request = http_request(path, host.as_deref(), addr, headers)?;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr} failed: {e}"))?;
    let _ = stream.set_nodelay(true);
    let status = if *https {
        let tls = super::probe_tls::connect(stream, host.as_deref(), addr).await?;
        exchange(tls, request).await?
    } else {
        exchange(stream, request).await?
    };
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "HTTP probe {} returned status {status}",
            origin_form(path)
        ))
    }
}

/// `path` as an origin-form request target (a leading `/` added when missing).
fn origin_form(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// Why a probe's request cannot be built: the part that is not valid HTTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeRequestError {
    /// `httpGet.path` is not a valid origin-form request target.
    #[error("the probe path {0:?} is not a valid HTTP request path (no spaces, control characters or '#')")]
    Path(String),
    /// `httpGet.host` is not a valid `Host` header value.
    #[error("the probe host {0:?} is not a valid HTTP host name")]
    Host(String),
    /// A header name is not an HTTP token.
    #[error("the probe header name {0:?} is not a valid HTTP header name")]
    HeaderName(String),
    /// A header value holds a line break or another control character.
    #[error("the value of the probe header {0:?} is not a valid HTTP header value (no line breaks or control characters)")]
    HeaderValue(String),
}

/// Checks that `path` is a valid HTTP request path for a probe (what [`http_request`] would
/// send); the ARM edge calls the same check to refuse bad probes up front.
pub fn validate_path(path: &str) -> Result<(), ProbeRequestError> {
    let target = origin_form(path);
    match target.parse::<http::uri::PathAndQuery>() {
        Ok(pq) if pq.as_str() == target && !target.contains('#') => Ok(()),
        _ => Err(ProbeRequestError::Path(path.to_string())),
    }
}

/// Checks that `host` is a host name or IP address usable as a probe's `Host` header.
pub fn validate_host(host: &str) -> Result<(), ProbeRequestError> {
    let bad = || ProbeRequestError::Host(host.to_string());
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let dns_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 || !name.split('.').all(dns_label) {
        return Err(bad());
    }
    http::HeaderValue::from_str(host).map_err(|_| bad())?;
    Ok(())
}

/// Checks one probe header (name and value) as [`http_request`] would send it.
pub fn validate_header(name: &str, value: &str) -> Result<(), ProbeRequestError> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ProbeRequestError::HeaderName(name.to_string()))?;
    http::HeaderValue::from_str(value)
        .map_err(|_| ProbeRequestError::HeaderValue(name.to_string()))?;
    Ok(())
}

/// The probe's request: `GET {path}` with `Host` (the probe's `host`, else the address), the
/// kubelet's `User-Agent` and `Accept`, `Connection: close` and the probe's headers (a `Host`
/// among them is skipped). Built with the `http` types, so every part is valid HTTP or the
/// request is refused with the reason.
fn http_request(
    path: &str,
    host: Option<&str>,
    addr: SocketAddr,
    headers: &[(String, String)],
) -> Result<http::Request<http_body_util::Empty<bytes::Bytes>>, String> {
    validate_path(path).map_err(|e| e.to_string())?;
    let host_header = match host {
        Some(h) => {
            validate_host(h).map_err(|e| e.to_string())?;
            h.to_string()
        }
        None => addr.to_string(),
    };
    let mut builder = http::Request::get(origin_form(path))
        .header(http::header::HOST, host_header)
        .header(http::header::USER_AGENT, "kube-probe/1.30")
        .header(http::header::ACCEPT, "*/*")
        .header(http::header::CONNECTION, "close");
    for (k, v) in headers {
        validate_header(k, v).map_err(|e| e.to_string())?;
        if k.eq_ignore_ascii_case("host") {
            continue;
        }
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(http_body_util::Empty::new())
        .map_err(|e| format!("the probe request is not valid HTTP: {e}"))
}

/// Sends `request` on `stream` over HTTP/1.1 (hyper's client connection, driven here until the
/// response head is in) and returns the status code of the response.
async fn exchange<S>(
    stream: S,
    request: http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("sending the probe request failed: {e}"))?;
    let mut conn = std::pin::pin!(conn);
    let mut response = std::pin::pin!(sender.send_request(request));
    let result = tokio::select! {
        biased;
        r = &mut response => r,
        c = &mut conn => match futures::FutureExt::now_or_never(&mut response) {
            Some(r) => r,
            None => {
                return Err(match c {
                    Ok(()) => "the connection closed before a response arrived".to_string(),
                    Err(e) => format!("reading the probe response failed: {e}"),
                })
            }
        },
    };
    result
        .map(|resp| resp.status().as_u16())
        .map_err(|e| format!("the probe got no valid HTTP response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(success: u32, failure: u32) -> ProbeSpec {
        ProbeSpec {
            success_threshold: success,
            failure_threshold: failure,
            ..ProbeSpec::new(ProbeKind::Liveness, ProbeAction::Tcp { port: 80 })
        }
    }

    #[test]
    fn failure_threshold_counts_consecutive_failures() {
        let mut t = ProbeTracker::new(&spec(1, 3));
        assert_eq!(t.record(false), Verdict::Pending);
        assert_eq!(t.record(false), Verdict::Pending);
        assert_eq!(t.record(true), Verdict::Passed);
        assert_eq!(t.record(false), Verdict::Pending);
        assert_eq!(t.record(false), Verdict::Pending);
        assert_eq!(t.record(false), Verdict::Failed);
    }

    #[test]
    fn success_threshold_counts_consecutive_successes() {
        let mut t = ProbeTracker::new(&spec(2, 5));
        assert_eq!(t.record(true), Verdict::Pending);
        assert_eq!(t.record(false), Verdict::Pending);
        assert_eq!(t.record(true), Verdict::Pending);
        assert_eq!(t.record(true), Verdict::Passed);
    }

    #[tokio::test]
    async fn tcp_and_http_checks_against_a_local_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            for status in [200u16, 503] {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                    )
                    .await;
            }
        });
        let http = ProbeAction::Http {
            path: "health".into(),
            port: 80,
            https: false,
            headers: vec![("X-Probe".into(), "1".into())],
            host: None,
        };
        assert_eq!(check(&http, addr, Duration::from_secs(5)).await, Ok(()));
        let err = check(&http, addr, Duration::from_secs(5))
            .await
            .expect_err("503");
        assert!(err.contains("503"), "{err}");
        // Nothing listens any more on a fresh closed port.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let closed_addr = closed.local_addr().expect("addr");
        drop(closed);
        assert!(check(
            &ProbeAction::Tcp { port: 1 },
            closed_addr,
            Duration::from_secs(5)
        )
        .await
        .is_err());
    }

    /// A TLS server with a fresh self-signed certificate (expired, wrong name: the probe must
    /// not care) answering each connection with `status`; records each request head.
    async fn tls_server(
        statuses: Vec<u16>,
    ) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["somewhere.else".to_string()]).expect("params");
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        let cert = params.self_signed(&key).expect("cert");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for status in statuses {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let Ok(mut tls) = acceptor.accept(s).await else {
                    let _ = tx.send("handshake failed".to_string());
                    continue;
                };
                let mut buf = vec![0u8; 4096];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = tls
                    .write_all(
                        format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                    )
                    .await;
                let _ = tls.shutdown().await;
            }
        });
        (addr, rx)
    }

    #[tokio::test]
    async fn https_probe_does_a_tls_handshake_without_verifying_the_certificate() {
        let (addr, mut requests) = tls_server(vec![204, 500]).await;
        let https = ProbeAction::Http {
            path: "/healthz".into(),
            port: 8443,
            https: true,
            headers: vec![("X-Probe".into(), "tls".into())],
            host: Some("app.internal".into()),
        };
        assert_eq!(check(&https, addr, Duration::from_secs(10)).await, Ok(()));
        let head = requests.recv().await.expect("request");
        assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("Host: app.internal\r\n"), "{head}");
        assert!(head.contains("X-Probe: tls\r\n"), "{head}");
        let err = check(&https, addr, Duration::from_secs(10))
            .await
            .expect_err("500 is a failure");
        assert!(err.contains("500"), "{err}");
    }

    #[tokio::test]
    async fn https_probe_against_a_plain_http_port_fails_the_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let https = ProbeAction::Http {
            path: "/".into(),
            port: 80,
            https: true,
            headers: Vec::new(),
            host: None,
        };
        let err = check(&https, addr, Duration::from_secs(10))
            .await
            .expect_err("no TLS there");
        assert!(err.contains("TLS handshake"), "{err}");
    }

    #[tokio::test]
    async fn invalid_http_in_a_probe_is_refused_before_anything_is_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let a = accepted.clone();
        tokio::spawn(async move {
            while let Ok((_s, _)) = listener.accept().await {
                a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let http = |path: &str, host: Option<&str>, headers: Vec<(&str, &str)>| ProbeAction::Http {
            path: path.into(),
            port: 80,
            https: false,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            host: host.map(str::to_string),
        };
        let cases = [
            (http("/health\r\nPOST /log HTTP/1.1", None, vec![]), "path"),
            (http("/a b", None, vec![]), "path"),
            (http("/x#frag", None, vec![]), "path"),
            (http("/", Some("evil\r\nX-Injected: 1"), vec![]), "host"),
            (http("/", Some("two words"), vec![]), "host"),
            (http("/", None, vec![("X-A", "1\r\nPOST /log")]), "header"),
            (http("/", None, vec![("X A", "1")]), "header"),
        ];
        for (action, what) in cases {
            let err = check(&action, addr, Duration::from_secs(5))
                .await
                .expect_err("refused");
            assert!(err.contains(what), "{what}: {err}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn valid_probe_parts_pass() {
        for p in ["/", "health", "/a/b?x=1&y=%20", "/~user/x.y"] {
            assert_eq!(validate_path(p), Ok(()), "{p}");
        }
        for h in [
            "localhost",
            "app.internal",
            "10.0.0.1",
            "::1",
            "a-b.c_d.example.",
        ] {
            assert_eq!(validate_host(h), Ok(()), "{h}");
        }
        assert_eq!(validate_header("X-Probe", "a value\twith tab"), Ok(()));
    }

    proptest! {
        /// Whatever the parts, a request that validates is one hyper can send unchanged:
        /// no line break ever reaches the wire.
        #[test]
        fn validated_requests_carry_no_line_breaks(path in "\\PC{0,40}", host in proptest::option::of("\\PC{0,20}"), name in "\\PC{1,12}", value in "\\PC{0,20}") {
            let addr: SocketAddr = "127.0.0.2:80".parse().expect("addr");
            let headers = vec![(name, value)];
            if let Ok(req) = http_request(&path, host.as_deref(), addr, &headers) {
                prop_assert!(!req.uri().to_string().contains(['\r', '\n', ' ']));
                for (k, v) in req.headers() {
                    prop_assert!(!v.as_bytes().iter().any(|b| *b == b'\r' || *b == b'\n'), "{k}");
                }
            }
        }

        #[test]
        fn tracker_verdicts_follow_streaks(results in proptest::collection::vec(any::<bool>(), 0..50), s in 1u32..4, f in 1u32..4) {
            let mut t = ProbeTracker::new(&spec(s, f));
            let (mut ok_run, mut bad_run) = (0, 0);
            for r in results {
                if r { ok_run += 1; bad_run = 0 } else { bad_run += 1; ok_run = 0 }
                let expected = if ok_run >= s { Verdict::Passed } else if bad_run >= f { Verdict::Failed } else { Verdict::Pending };
                prop_assert_eq!(t.record(r), expected);
            }
        }
    }
}

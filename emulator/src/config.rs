//! Runtime configuration of one emulator instance, fixed at start-up.

use std::path::PathBuf;
use std::time::Duration;

use sessions_runtime::clock::TimeScale;

/// Which session backend the pool manager uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendKind {
    /// Each session is a QEMU microVM (KVM when usable, TCG otherwise).
    #[default]
    Qemu,
    /// In-process fake sessions (fast tests, no VMs).
    Fake,
}

/// Configuration of one emulator instance, shared by every route. Everything per instance is
/// here or in [`crate::state::AppState`]; nothing is read from process-wide state.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL clients reach the emulator at, without a trailing slash
    /// (`https://127.0.0.1:7443`). Used in `nextLink`, LRO headers, token issuer, endpoints.
    pub endpoint: String,
    /// Data directory (`None` with `--in-memory`).
    pub data_dir: Option<PathBuf>,
    /// Session backend.
    pub backend: BackendKind,
    /// Whether the listener speaks TLS.
    pub tls: bool,
    /// Factor applied to every configured lifecycle and probe duration (`--time-scale`).
    pub time_scale: TimeScale,
    /// Limits every listener (the main one and each pool origin) applies at the edge.
    pub limits: EdgeLimits,
}

/// Limits applied at the edge, before a request reaches a route: by every listener's serve
/// loop (`crate::edge`) and, for bodies, by the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeLimits {
    /// Most connections open at once over every listener of the instance (`--max-connections`);
    /// beyond it a connection gets `503 ServerBusy` and is closed.
    pub max_connections: usize,
    /// A TLS handshake must complete within this.
    pub tls_handshake_timeout: Duration,
    /// An HTTP/1 request head must arrive within this (also bounds an idle keep-alive
    /// connection waiting for its next request).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no bytes moving for this long is closed
    /// (HTTP/2 included).
    pub idle_timeout: Duration,
    /// On shutdown, open connections get this long to finish before they are closed.
    pub drain_timeout: Duration,
    /// Largest request body of ARM routes (the data plane streams any size to the session).
    pub arm_body_bytes: usize,
    /// Largest request body of the token endpoint.
    pub token_body_bytes: usize,
    /// Deepest JSON nesting accepted in a request body.
    pub json_depth: usize,
}

/// Connections the edge keeps in reserve below the process's file-descriptor limit: each
/// proxied request holds a second descriptor to its session, and sessions, the database and
/// logs need their own.
const FD_RESERVE: u64 = 256;

/// Default for [`EdgeLimits::max_connections`]: 10,000, or half of what the open-file limit
/// leaves after [`FD_RESERVE`] when that is less (at least 64).
pub fn default_max_connections() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    };
    let by_fds = soft.saturating_sub(FD_RESERVE) / 2;
    usize::try_from(by_fds.clamp(64, 10_000)).unwrap_or(10_000)
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            max_connections: default_max_connections(),
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            drain_timeout: Duration::from_secs(3),
            arm_body_bytes: 4 * 1024 * 1024,
            token_body_bytes: 64 * 1024,
            json_depth: 64,
        }
    }
}

impl Config {
    /// A plain-HTTP, in-memory configuration for `endpoint` (tests).
    pub fn in_memory(endpoint: impl Into<String>) -> Self {
        Config {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            data_dir: None,
            backend: BackendKind::Fake,
            tls: false,
            time_scale: TimeScale::default(),
            limits: EdgeLimits::default(),
        }
    }

    /// `{endpoint}/{tenant}`: the authority clients send to the token endpoint.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.endpoint, crate::defaults::TENANT_ID)
    }
}

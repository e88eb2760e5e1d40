//! Runtime configuration of one emulator instance, fixed at start-up.

use std::path::PathBuf;

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
        }
    }

    /// `{endpoint}/{tenant}`: the authority clients send to the token endpoint.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.endpoint, crate::defaults::TENANT_ID)
    }
}

//! The `fake` backend: every session is an in-process tokio HTTP server on `127.0.0.1:0` that
//! behaves like the sample session image (see [`app`] for the routes). It keeps every test that
//! does not need a real VM fast, and its [`FakeOptions`] make containers misbehave on demand.

mod app;
pub mod knobs;
mod session;

use std::sync::Arc;

use async_trait::async_trait;

pub use knobs::FakeOptions;

use super::backend::{Backend, Session, SessionSpec};
use super::error::{BackendError, Result};

/// The in-process backend.
#[derive(Debug, Clone, Default)]
pub struct FakeBackend {
    options: FakeOptions,
}

impl FakeBackend {
    /// A backend whose sessions behave as `options` say (container env may override per pool).
    pub fn new(options: FakeOptions) -> Self {
        Self { options }
    }

    /// Shared handle, as the pool manager wants it.
    pub fn arc(options: FakeOptions) -> Arc<dyn Backend> {
        Arc::new(Self::new(options))
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn kind(&self) -> &str {
        "fake"
    }

    async fn start(&self, spec: SessionSpec) -> Result<Session> {
        let options = self.options.with_env(&spec.container.env)?;
        if options.fail_start {
            return Err(BackendError::Start {
                session: spec.session_id,
                message: "the fake backend was told to fail (SESSIONS_FAKE_FAIL_START)".into(),
            });
        }
        let ports = spec.container.forwarded_ports();
        session::start(spec.session_id, options, &ports).await
    }
}

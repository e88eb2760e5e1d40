//! [`Ctx`]: what every provider, resource, data source and action call receives.
//!
//! It gives access to the configured provider data (the shared Azure client, downcast with
//! [`Ctx::data`]), the stop token that `StopProvider` cancels, the Terraform version and
//! client capabilities, and collects warnings that accompany a successful result.

use std::any::Any;
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;

use super::diagnostics::{Diagnostic, Diagnostics, TfResult};

/// Whatever `Provider::configure` returns, shared by all later calls.
pub type ProviderData = Arc<dyn Any + Send + Sync>;

/// What the calling Terraform supports (from `ClientCapabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// Terraform can handle deferred changes.
    pub deferral_allowed: bool,
    /// Terraform 1.11+: write-only attributes may be used.
    pub write_only_attributes_allowed: bool,
}

/// State shared by all calls of one provider process.
#[derive(Debug, Default)]
pub struct ProviderState {
    stop: RwLock<CancellationToken>,
    data: RwLock<Option<ProviderData>>,
    terraform_version: RwLock<Option<String>>,
}

impl ProviderState {
    /// A fresh, unconfigured state.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels every in-flight call (StopProvider) and arms a fresh token for later calls.
    pub fn stop(&self) {
        let mut guard = self.stop.write().unwrap_or_else(|e| e.into_inner());
        guard.cancel();
        *guard = CancellationToken::new();
    }

    /// The token new calls get.
    pub fn current_token(&self) -> CancellationToken {
        self.stop.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records what `configure` returned.
    pub fn set_data(&self, data: ProviderData) {
        *self.data.write().unwrap_or_else(|e| e.into_inner()) = Some(data);
    }

    /// Records the Terraform version from ConfigureProvider.
    pub fn set_terraform_version(&self, v: String) {
        *self
            .terraform_version
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(v);
    }

    /// The Terraform version, once configured.
    pub fn terraform_version(&self) -> Option<String> {
        self.terraform_version
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn data(&self) -> Option<ProviderData> {
        self.data.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Per-call context.
#[derive(Debug)]
pub struct Ctx {
    state: Arc<ProviderState>,
    stop: CancellationToken,
    capabilities: ClientCapabilities,
    warnings: Mutex<Diagnostics>,
}

impl Ctx {
    /// A context for one call.
    pub fn new(state: Arc<ProviderState>, capabilities: ClientCapabilities) -> Self {
        let stop = state.current_token();
        Self {
            state,
            stop,
            capabilities,
            warnings: Mutex::new(Diagnostics::new()),
        }
    }

    /// A context with a fresh unconfigured state (unit tests of resources).
    pub fn detached() -> Self {
        Self::new(ProviderState::new(), ClientCapabilities::default())
    }

    /// The provider data returned by `configure`, downcast to `T`. Errors with a clear
    /// diagnostic when the provider is not configured yet or `T` is the wrong type.
    pub fn data<T: Any + Send + Sync>(&self) -> TfResult<Arc<T>> {
        let data = self.state.data().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Provider not configured",
                "This operation needs the provider configuration, but ConfigureProvider has not \
                 run yet. Make sure the provider block's values are known at plan time.",
            ))
        })?;
        data.downcast::<T>().map_err(|_| {
            Diagnostics::from(Diagnostic::error(
                "Internal provider error",
                format!(
                    "The provider data is not a {}; this is a bug in the provider.",
                    std::any::type_name::<T>()
                ),
            ))
        })
    }

    /// Cancelled when Terraform sends StopProvider (user pressed Ctrl-C).
    pub fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// True once StopProvider was received.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// What the calling Terraform supports.
    pub fn capabilities(&self) -> ClientCapabilities {
        self.capabilities
    }

    /// The Terraform version (known after ConfigureProvider).
    pub fn terraform_version(&self) -> Option<String> {
        self.state.terraform_version()
    }

    /// Adds a diagnostic (usually a warning) reported along with the call's result.
    pub fn warn(&self, d: crate::plugin::Diagnostic) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(d);
    }

    /// Takes the collected diagnostics (used by the server).
    pub fn take_diagnostics(&self) -> Diagnostics {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The shared provider state.
    pub fn provider_state(&self) -> &Arc<ProviderState> {
        &self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_downcasts_and_reports_missing_configuration() {
        let ctx = Ctx::detached();
        let e = ctx.data::<String>().unwrap_err();
        assert!(e.to_string().contains("not configured"));
        ctx.provider_state()
            .set_data(Arc::new(String::from("client")));
        assert_eq!(*ctx.data::<String>().unwrap(), "client");
        assert!(ctx.data::<u32>().is_err());
    }

    #[test]
    fn stop_cancels_in_flight_and_rearms() {
        let state = ProviderState::new();
        let ctx = Ctx::new(state.clone(), ClientCapabilities::default());
        state.stop();
        assert!(ctx.is_stopped());
        let later = Ctx::new(state, ClientCapabilities::default());
        assert!(!later.is_stopped());
    }
}

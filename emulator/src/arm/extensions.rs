//! Extension resources addressed under any resource id:
//! `{resourceId}/providers/Microsoft.Insights/{kind}[/{name}]`. axum cannot route a wildcard
//! prefix, so the ARM fallback calls [`dispatch`] after the token check (the path is split by
//! [`super::path::split_extension`]). Add a branch here to serve another extension kind (e.g.
//! Azure Monitor `metrics`).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use super::diagnostic_settings;
use super::error::ArmError;
use super::path::split_extension;
use crate::state::AppState;

/// Serves an extension request, or `None` when the path is not an extension this emulator
/// knows (the caller answers 404).
pub async fn dispatch(state: AppState, req: Request, path: &str) -> Option<Response> {
    let ext = split_extension(path)?;
    if !ext.namespace.eq_ignore_ascii_case("Microsoft.Insights") {
        return None;
    }
    match ext.kind.as_str() {
        "diagnosticSettings" => Some(diagnostic_settings::handle(state, req, ext).await),
        "diagnosticSettingsCategories" => {
            Some(diagnostic_settings::categories(state, req, ext).await)
        }
        k if crate::monitor::metrics::KINDS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(k)) =>
        {
            let kind = ext.kind.clone();
            Some(crate::monitor::metrics::handle(state, req, &ext.resource_id, &kind).await)
        }
        _ => Some(ArmError::InvalidResourceType(path.to_string()).into_response()),
    }
}

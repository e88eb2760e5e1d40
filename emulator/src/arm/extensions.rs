//! Extension resources addressed under any resource id:
//! `{resourceId}/providers/Microsoft.Insights/{kind}[/{name}]`. axum cannot route a wildcard
//! prefix, so the ARM fallback calls [`dispatch`] after the token check. Add a branch here to
//! serve another extension kind (e.g. Azure Monitor `metrics`).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use super::diagnostic_settings;
use super::error::ArmError;
use crate::state::AppState;

/// An extension request split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionPath {
    /// The resource id the extension is attached to (as sent, canonical keywords).
    pub resource_id: String,
    /// Provider namespace of the extension (`Microsoft.Insights`).
    pub namespace: String,
    /// Extension kind (`diagnosticSettings`, `metrics`, ...).
    pub kind: String,
    /// Name of the extension resource, if addressed.
    pub name: Option<String>,
}

/// Splits `{resourceId}/providers/{ns}/{kind}[/{name}]` at the LAST `/providers/` that
/// follows a resource id. `None` when the path has no such suffix.
pub fn split(path: &str) -> Option<ExtensionPath> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // segs[0] is "" (leading slash). Find the last "providers" at index i with 2 or 3 segments after it.
    let i = (1..segs.len())
        .rev()
        .find(|&i| segs[i] == "providers" && (segs.len() - i == 3 || segs.len() - i == 4))?;
    if i < 3 {
        return None;
    }
    Some(ExtensionPath {
        resource_id: segs[..i].join("/"),
        namespace: segs[i + 1].to_string(),
        kind: segs[i + 2].to_string(),
        name: segs.get(i + 3).map(|s| s.to_string()),
    })
}

/// Serves an extension request, or `None` when the path is not an extension this emulator
/// knows (the caller answers 404).
pub async fn dispatch(state: AppState, req: Request, path: &str) -> Option<Response> {
    let ext = split(path)?;
    if !ext.namespace.eq_ignore_ascii_case("Microsoft.Insights") {
        return None;
    }
    match ext.kind.as_str() {
        "diagnosticSettings" => Some(diagnostic_settings::handle(state, req, ext).await),
        "diagnosticSettingsCategories" => {
            Some(diagnostic_settings::categories(state, req, ext).await)
        }
        _ => Some(ArmError::InvalidResourceType(path.to_string()).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_extension_paths() {
        let env =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e";
        let p = split(&format!(
            "{env}/providers/Microsoft.Insights/diagnosticSettings/d"
        ))
        .expect("split");
        assert_eq!(p.resource_id, env);
        assert_eq!(p.kind, "diagnosticSettings");
        assert_eq!(p.name.as_deref(), Some("d"));
        let p = split(&format!(
            "{env}/providers/Microsoft.Insights/diagnosticSettings"
        ))
        .expect("split");
        assert_eq!(p.name, None);
        assert!(split("/subscriptions/s/resourceGroups/rg").is_none());
        // Subscription-level extensions split too (the store then answers 404).
        let p = split("/subscriptions/s/providers/Microsoft.Insights/diagnosticSettings")
            .expect("split");
        assert_eq!(p.resource_id, "/subscriptions/s");
    }
}

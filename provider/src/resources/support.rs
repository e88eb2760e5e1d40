//! Helpers shared by the resource, data source and action implementations: walking nested
//! blocks, collecting validation errors with attribute paths, and turning [`AzureError`]s into
//! diagnostics.

use crate::azure::AzureError;
use crate::plugin::model::Tf;
use crate::plugin::{AttributePath, Diagnostic, Diagnostics, Value};

/// Elements of a list/set block or list attribute; empty when null or unknown.
pub fn elems(v: &Value) -> &[Value] {
    v.as_list().unwrap_or(&[])
}

/// The single element of a `max_items = 1` list block, if present.
pub fn first(v: &Value) -> Option<&Value> {
    elems(v).first()
}

/// Strings of a list/set attribute (unknown or non-string elements are skipped).
pub fn strings(v: &Value) -> Vec<String> {
    elems(v)
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// Collects validation errors.
#[derive(Debug, Default)]
pub struct Checker {
    diags: Diagnostics,
}

impl Checker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error about `path`.
    pub fn error(
        &mut self,
        path: &AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(summary, detail).at(path.clone()));
    }

    /// Checks that a known integer is within `lo..=hi`.
    pub fn range(&mut self, v: &Value, path: &AttributePath, name: &str, lo: i64, hi: i64) {
        if let Some(n) = v.as_number() {
            match n.as_i64() {
                Some(i) if (lo..=hi).contains(&i) => {}
                _ => self.error(
                    path,
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` must be a whole number from {lo} to {hi}, got {n}."),
                ),
            }
        }
    }

    /// Checks that a known string is one of `allowed` (exact case, like the service's enums).
    pub fn one_of(&mut self, v: &Value, path: &AttributePath, name: &str, allowed: &[&str]) {
        if let Some(s) = v.as_str() {
            if !allowed.contains(&s) {
                self.error(
                    path,
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` must be one of {}, got {s:?}.", quoted(allowed)),
                );
            }
        }
    }

    /// Records a ready-made diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Checks that a known whole number is within `lo..=hi` (typed models).
    pub fn range_tf(&mut self, v: &Tf<i64>, path: &AttributePath, name: &str, lo: i64, hi: i64) {
        if let Some(i) = v.known() {
            if !(lo..=hi).contains(i) {
                self.error(
                    path,
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` must be a whole number from {lo} to {hi}, got {i}."),
                );
            }
        }
    }

    /// Checks that a known string is one of `allowed` (typed models).
    pub fn one_of_tf(
        &mut self,
        v: &Tf<String>,
        path: &AttributePath,
        name: &str,
        allowed: &[&str],
    ) {
        if let Some(s) = v.as_str() {
            if !allowed.contains(&s) {
                self.error(
                    path,
                    format!("Invalid value for `{name}`"),
                    format!("`{name}` must be one of {}, got {s:?}.", quoted(allowed)),
                );
            }
        }
    }

    /// The collected errors: `Ok` when there are none.
    pub fn finish(self) -> Result<(), Diagnostics> {
        if self.diags.has_errors() {
            Err(self.diags)
        } else {
            Ok(())
        }
    }

    /// The collected diagnostics.
    pub fn into_diagnostics(self) -> Diagnostics {
        self.diags
    }
}

/// `"a", "b" or "c"`.
pub fn quoted(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        n => format!("{} or {}", q[..n - 1].join(", "), q[n - 1]),
    }
}

/// Turns an Azure failure into a diagnostic. When the service named a `target` property that
/// maps to a Terraform attribute (through `target_to_path`), the diagnostic points at it.
pub fn azure_diag(
    summary: impl Into<String>,
    err: &AzureError,
    target_to_path: &dyn Fn(&str) -> Option<AttributePath>,
) -> Diagnostics {
    let mut detail = err.to_string();
    match err {
        AzureError::Api { status: 401, .. } => detail.push_str(
            "\n\nThe token was rejected: check tenant_id, client_id, client_secret / authority_host.",
        ),
        AzureError::Api { status: 403, .. } => detail.push_str(
            "\n\nThe credential lacks permission on this scope: grant it a role (for sessions, \
             Azure ContainerApps Session Executor).",
        ),
        _ => {}
    }
    let mut d = Diagnostic::error(summary, detail);
    if let Some(p) = err.target().and_then(target_to_path) {
        d = d.at(p);
    }
    d.into()
}

/// No attribute mapping.
pub fn no_path(_: &str) -> Option<AttributePath> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted(&["a"]), "\"a\"");
        assert_eq!(quoted(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }

    #[test]
    fn range_and_one_of_report_paths() {
        let mut c = Checker::new();
        let p = AttributePath::attr("x");
        c.range(&Value::from(5i64), &p, "x", 1, 4);
        c.range(&Value::unknown(), &p, "x", 1, 4);
        c.one_of(&Value::from("b"), &p, "x", &["a"]);
        c.one_of(&Value::Null, &p, "x", &["a"]);
        let d = c.finish().unwrap_err();
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.path.as_ref() == Some(&p)));
    }

    #[test]
    fn azure_errors_carry_target_path() {
        let e = AzureError::Api {
            method: "PUT".into(),
            path: "/p".into(),
            status: 400,
            code: "InvalidParameter".into(),
            message: "bad".into(),
            target: Some("properties.scaleConfiguration.maxConcurrentSessions".into()),
        };
        let d = azure_diag("Failed", &e, &|t| {
            t.ends_with("maxConcurrentSessions")
                .then(|| AttributePath::attr("max_concurrent_sessions"))
        });
        let d = d.iter().next().unwrap();
        assert_eq!(d.path, Some(AttributePath::attr("max_concurrent_sessions")));
        assert!(d.detail.contains("InvalidParameter"));
    }
}

//! ARM paths are case-insensitive (`resourcegroups` vs `resourceGroups`, `microsoft.app` vs
//! `Microsoft.App`). [`canonical_path`] rewrites the fixed segments of a `/subscriptions/...`
//! path to canonical casing before routing, so routes are declared once in canonical form.
//! Names (resource group, resource names) keep the caller's casing; store lookups lower-case
//! them and responses echo the id as first created. [`split_extension`] splits the path of an
//! extension resource (`{resourceId}/providers/{ns}/{kind}[/{name}]`).

/// Segment keywords (types and fixed path words) in canonical casing. Add yours here.
pub const KEYWORDS: &[&str] = &[
    "subscriptions",
    "resourceGroups",
    "providers",
    "locations",
    "operationStatuses",
    "operationResults",
    "managedEnvironments",
    "sessionPools",
    "workspaces",
    "diagnosticSettings",
    "diagnosticSettingsCategories",
    "metrics",
    "metricDefinitions",
    "metricNamespaces",
    "resources",
    "fetchMcpServerCredentials",
    "rotateMcpServerCredentials",
    "regenerateCredentials",
    "userAssignedIdentities",
];

/// Provider namespaces in canonical casing.
pub const NAMESPACES: &[&str] = &[
    "Microsoft.App",
    "Microsoft.OperationalInsights",
    "Microsoft.Insights",
    "Microsoft.Resources",
    "Microsoft.ManagedIdentity",
];

fn canon<'a>(seg: &'a str, table: &[&'static str]) -> &'a str {
    table
        .iter()
        .find(|k| k.eq_ignore_ascii_case(seg))
        .copied()
        .unwrap_or(seg)
}

/// The canonical form of an ARM path; other paths are returned unchanged.
///
/// Walks `keyword/value` pairs; after `providers` comes a namespace then `type/name` pairs.
pub fn canonical_path(path: &str) -> Option<String> {
    let trimmed = path.strip_prefix('/')?;
    let first = trimmed.split('/').next()?;
    if !first.eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    #[derive(Clone, Copy)]
    enum Expect {
        Keyword,
        Namespace,
        Value,
    }
    let mut expect = Expect::Keyword;
    let mut out = String::with_capacity(path.len());
    for seg in trimmed.split('/') {
        out.push('/');
        match expect {
            Expect::Keyword => {
                let c = canon(seg, KEYWORDS);
                out.push_str(c);
                expect = if c == "providers" {
                    Expect::Namespace
                } else {
                    Expect::Value
                };
            }
            Expect::Namespace => {
                out.push_str(canon(seg, NAMESPACES));
                expect = Expect::Keyword;
            }
            Expect::Value => {
                out.push_str(seg);
                expect = Expect::Keyword;
            }
        }
    }
    if out == path {
        None
    } else {
        Some(out)
    }
}

/// Rewrites the request URI to the canonical ARM path (keeps the query).
pub fn canonicalize_request<B>(mut req: http::Request<B>) -> http::Request<B> {
    let Some(new_path) = canonical_path(req.uri().path()) else {
        return req;
    };
    let pq = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Longest `location` accepted (Azure's longest region names are about 20 characters).
pub const MAX_LOCATION_LEN: usize = 64;

/// Checks a `location` value before it is stored or copied into a URL (`Location` and
/// `Azure-AsyncOperation` headers name the operation under `locations/{location}`): an Azure
/// region name (`eastus`) or display name (`East US`): ASCII letters, digits, spaces and `-`,
/// at most [`MAX_LOCATION_LEN`] characters, at least one letter or digit. `Err` says what is
/// wrong (with the value shortened and escaped).
pub fn check_location(location: &str) -> Result<(), String> {
    let ok_chars = location
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    let has_name = location.chars().any(|c| c.is_ascii_alphanumeric());
    if ok_chars && has_name && location.len() <= MAX_LOCATION_LEN {
        return Ok(());
    }
    let mut shown: String = location.chars().take(40).collect();
    if location.chars().count() > 40 {
        shown.push_str("...");
    }
    Err(format!(
        "The provided location {shown:?} is not a valid Azure location name: use a region such as 'eastus' or 'East US' (letters, digits, spaces and '-', at most {MAX_LOCATION_LEN} characters)."
    ))
}

/// Lower-cased, space-free location (`East US` -> `eastus`).
pub fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

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
pub fn split_extension(path: &str) -> Option<ExtensionPath> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonicalizes_keywords_not_names() {
        assert_eq!(
            canonical_path("/SUBSCRIPTIONS/s/resourcegroups/Providers/PROVIDERS/microsoft.app/SESSIONPOOLS/Pool").as_deref(),
            Some("/subscriptions/s/resourceGroups/Providers/providers/Microsoft.App/sessionPools/Pool")
        );
        assert_eq!(canonical_path("/subscriptions/s/resourceGroups/rg"), None);
        assert_eq!(canonical_path("/health"), None);
        assert_eq!(
            canonical_path("/subscriptions/s/resourcegroups/rg/providers/microsoft.app/managedenvironments/e/providers/microsoft.insights/diagnosticsettings/d").as_deref(),
            Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e/providers/Microsoft.Insights/diagnosticSettings/d")
        );
    }

    #[test]
    fn rewrites_uri_keeping_query() {
        let req = http::Request::builder()
            .uri("/subscriptions/s/resourcegroups?api-version=2021-04-01")
            .body(())
            .expect("request");
        let req = canonicalize_request(req);
        assert_eq!(
            req.uri(),
            "/subscriptions/s/resourceGroups?api-version=2021-04-01"
        );
    }

    #[test]
    fn locations_are_checked() {
        for ok in [
            "eastus",
            "East US",
            "eastus2euap",
            "west-europe",
            "centraluseuap",
        ] {
            assert_eq!(check_location(ok), Ok(()), "{ok}");
        }
        let long = "a".repeat(70_000);
        for bad in [
            "",
            "   ",
            "east/us",
            "east?us",
            "east#us",
            "..",
            "east\r\nus",
            "日本",
            long.as_str(),
        ] {
            let e = check_location(bad).expect_err(bad);
            assert!(e.len() < 300, "{e}");
        }
    }

    #[test]
    fn locations_normalize() {
        assert_eq!(normalize_location("East US"), "eastus");
        assert_eq!(normalize_location("westeurope"), "westeurope");
    }

    proptest! {
        #[test]
        fn canonical_path_is_case_insensitive_idempotent(path in "(/[a-zA-Z.]{1,12}){1,10}") {
            let p = format!("/subscriptions{path}");
            let once = canonical_path(&p).unwrap_or_else(|| p.clone());
            prop_assert_eq!(canonical_path(&once), None);
            prop_assert_eq!(once.to_ascii_lowercase(), p.to_ascii_lowercase());
        }
    }

    #[test]
    fn splits_extension_paths() {
        let env =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e";
        let p = split_extension(&format!(
            "{env}/providers/Microsoft.Insights/diagnosticSettings/d"
        ))
        .expect("split");
        assert_eq!(p.resource_id, env);
        assert_eq!(p.kind, "diagnosticSettings");
        assert_eq!(p.name.as_deref(), Some("d"));
        let p = split_extension(&format!(
            "{env}/providers/Microsoft.Insights/diagnosticSettings"
        ))
        .expect("split");
        assert_eq!(p.name, None);
        assert!(split_extension("/subscriptions/s/resourceGroups/rg").is_none());
        // Subscription-level extensions split too (the store then answers 404).
        let p = split_extension("/subscriptions/s/providers/Microsoft.Insights/diagnosticSettings")
            .expect("split");
        assert_eq!(p.resource_id, "/subscriptions/s");
    }
}

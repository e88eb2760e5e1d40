//! The `Microsoft.App/sessionPools` api-versions the emulator accepts and what each one's wire
//! shape contains.
//!
//! Every version is parsed into, and rendered from, the one internal model in
//! [`super::model`]; this file only answers "does version X have field Y?". Facts come from the
//! published specs of `Microsoft.App/sessionPools` (Azure/azure-rest-api-specs,
//! `specification/app/resource-manager/Microsoft.App/ContainerApps/{preview,stable}/{version}/`,
//! `SessionPools.json` or, from 2026-01-01 on, the TypeSpec-generated `openapi.json`):
//!
//! | version | lifecycle shape | registry server | registry `identity` | `identity`, `managedIdentitySettings` | `probes` | `mcpServerSettings` + MCP actions | `templateUpdateStatus` |
//! |---|---|---|---|---|---|---|---|
//! | 2024-02-02-preview | flat `executionType` | `registryServer` | - | - | - | - | - |
//! | 2024-08-02-preview | flat `executionType` | `server` | yes | - | - | - | - |
//! | 2024-10-02-preview | flat `executionType` | `server` | yes | yes | - | - | - |
//! | 2025-01-01 | `lifecycleConfiguration` | `server` | yes | yes | - | - | - |
//! | 2025-02-02-preview | `lifecycleConfiguration` | `server` | yes | yes | yes | - | - |
//! | 2025-07-01 | `lifecycleConfiguration` | `server` | yes | yes | - | - | - |
//! | 2025-10-02-preview | `lifecycleConfiguration` | `server` | yes | yes | yes | yes | yes |
//! | 2026-01-01 | `lifecycleConfiguration` | `server` | yes | yes | - | - | - |
//! | 2026-03-02-preview | `lifecycleConfiguration` | `server` | yes | yes | - | yes | yes |
//! | 2026-07-01 | `lifecycleConfiguration` | `server` | yes | yes | yes | - | - |
//!
//! Unknown properties, including fields the caller's version does not have (e.g. `probes` sent
//! with 2025-07-01, `mcpServerSettings` with 2026-01-01), are ignored as the resource provider
//! ignores properties outside its schema: they are neither stored nor rendered, and an update
//! in a version without a field keeps the stored value of that field (see [`super::carry`]).

use std::fmt;

/// One supported `api-version` of `Microsoft.App/sessionPools`, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    /// `2024-02-02-preview`: flat `executionType`, `registryServer`, no identity.
    V2024_02_02Preview,
    /// `2024-08-02-preview`: flat `executionType`, `server`, registry `identity`.
    V2024_08_02Preview,
    /// `2024-10-02-preview`: flat `executionType`, adds `identity` + `managedIdentitySettings`.
    V2024_10_02Preview,
    /// `2025-01-01`: first `lifecycleConfiguration` version.
    V2025_01_01,
    /// `2025-02-02-preview`: adds container `probes`.
    V2025_02_02Preview,
    /// `2025-07-01`: stable, no probes (the version azurerm uses).
    V2025_07_01,
    /// `2025-10-02-preview`: probes again.
    V2025_10_02Preview,
    /// `2026-01-01`: stable, no probes, no MCP.
    V2026_01_01,
    /// `2026-03-02-preview`: MCP settings and `templateUpdateStatus`, no probes.
    V2026_03_02Preview,
    /// `2026-07-01`: stable with probes; the canonical version.
    V2026_07_01,
}

/// Every supported version, oldest first.
pub const ALL: [ApiVersion; 10] = [
    ApiVersion::V2024_02_02Preview,
    ApiVersion::V2024_08_02Preview,
    ApiVersion::V2024_10_02Preview,
    ApiVersion::V2025_01_01,
    ApiVersion::V2025_02_02Preview,
    ApiVersion::V2025_07_01,
    ApiVersion::V2025_10_02Preview,
    ApiVersion::V2026_01_01,
    ApiVersion::V2026_03_02Preview,
    ApiVersion::V2026_07_01,
];

/// Every supported version's wire spelling, oldest first.
pub const API_VERSIONS: [&str; 10] = [
    "2024-02-02-preview",
    "2024-08-02-preview",
    "2024-10-02-preview",
    "2025-01-01",
    "2025-02-02-preview",
    "2025-07-01",
    "2025-10-02-preview",
    "2026-01-01",
    "2026-03-02-preview",
    "2026-07-01",
];

impl ApiVersion {
    /// The canonical version (newest stable, has probes).
    pub const CANONICAL: ApiVersion = ApiVersion::V2026_07_01;

    /// Parses an `api-version` query value; matching is exact and case-insensitive.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        ALL.into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The wire spelling, e.g. `2026-07-01`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2024_02_02Preview => "2024-02-02-preview",
            ApiVersion::V2024_08_02Preview => "2024-08-02-preview",
            ApiVersion::V2024_10_02Preview => "2024-10-02-preview",
            ApiVersion::V2025_01_01 => "2025-01-01",
            ApiVersion::V2025_02_02Preview => "2025-02-02-preview",
            ApiVersion::V2025_07_01 => "2025-07-01",
            ApiVersion::V2025_10_02Preview => "2025-10-02-preview",
            ApiVersion::V2026_01_01 => "2026-01-01",
            ApiVersion::V2026_03_02Preview => "2026-03-02-preview",
            ApiVersion::V2026_07_01 => "2026-07-01",
        }
    }

    /// Comma-separated list of every supported version, for error messages.
    pub fn supported_list() -> String {
        ALL.iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `dynamicPoolConfiguration{executionType, cooldownPeriodInSeconds}` instead of
    /// `dynamicPoolConfiguration.lifecycleConfiguration` (<= 2024-10-02-preview).
    pub fn flat_dynamic_config(self) -> bool {
        self <= ApiVersion::V2024_10_02Preview
    }

    /// The registry server field is `registryServer` (2024-02-02-preview) instead of `server`.
    pub fn registry_server_field(self) -> &'static str {
        if self == ApiVersion::V2024_02_02Preview {
            "registryServer"
        } else {
            "server"
        }
    }

    /// `registryCredentials.identity` exists.
    pub fn has_registry_identity(self) -> bool {
        self >= ApiVersion::V2024_08_02Preview
    }

    /// Top-level `identity` and `properties.managedIdentitySettings` exist.
    pub fn has_identity(self) -> bool {
        self >= ApiVersion::V2024_10_02Preview
    }

    /// `customContainerTemplate.containers[].probes` exists.
    pub fn has_probes(self) -> bool {
        matches!(
            self,
            ApiVersion::V2025_02_02Preview
                | ApiVersion::V2025_10_02Preview
                | ApiVersion::V2026_07_01
        )
    }

    /// `properties.mcpServerSettings` and the `fetchMcpServerCredentials` /
    /// `rotateMcpServerCredentials` actions exist.
    pub fn has_mcp(self) -> bool {
        matches!(
            self,
            ApiVersion::V2025_10_02Preview | ApiVersion::V2026_03_02Preview
        )
    }

    /// The read-only `properties.templateUpdateStatus` exists.
    pub fn has_template_update_status(self) -> bool {
        matches!(
            self,
            ApiVersion::V2025_10_02Preview | ApiVersion::V2026_03_02Preview
        )
    }

    /// The versions that have the MCP actions, for error messages.
    pub fn mcp_versions() -> String {
        ALL.iter()
            .filter(|v| v.has_mcp())
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_version_and_rejects_others() {
        for (v, s) in ALL.into_iter().zip(API_VERSIONS) {
            assert_eq!(ApiVersion::parse(v.as_str()), Some(v));
            assert_eq!(v.as_str(), s);
        }
        assert_eq!(
            ApiVersion::parse("2025-10-02-PREVIEW"),
            Some(ApiVersion::V2025_10_02Preview)
        );
        assert_eq!(ApiVersion::parse("2023-05-01"), None);
        assert_eq!(ApiVersion::parse(""), None);
    }

    #[test]
    fn versions_are_sorted_oldest_first() {
        let mut sorted = ALL;
        sorted.sort();
        assert_eq!(sorted, ALL);
        assert_eq!(
            ALL.iter().map(|v| v.as_str()).max(),
            Some(ApiVersion::CANONICAL.as_str())
        );
    }

    #[test]
    fn feature_table_matches_the_reference() {
        use ApiVersion::*;
        let probes: Vec<_> = ALL.into_iter().filter(|v| v.has_probes()).collect();
        assert_eq!(
            probes,
            [V2025_02_02Preview, V2025_10_02Preview, V2026_07_01]
        );
        let flat: Vec<_> = ALL
            .into_iter()
            .filter(|v| v.flat_dynamic_config())
            .collect();
        assert_eq!(
            flat,
            [V2024_02_02Preview, V2024_08_02Preview, V2024_10_02Preview]
        );
        assert_eq!(V2024_02_02Preview.registry_server_field(), "registryServer");
        assert_eq!(V2024_08_02Preview.registry_server_field(), "server");
        assert!(!V2024_02_02Preview.has_registry_identity());
        assert!(!V2024_08_02Preview.has_identity());
        assert!(V2024_10_02Preview.has_identity());
        let mcp: Vec<_> = ALL.into_iter().filter(|v| v.has_mcp()).collect();
        assert_eq!(mcp, [V2025_10_02Preview, V2026_03_02Preview]);
        assert!(!V2026_03_02Preview.has_probes());
        assert!(V2026_03_02Preview.has_template_update_status());
        assert!(!V2026_07_01.has_template_update_status());
    }
}

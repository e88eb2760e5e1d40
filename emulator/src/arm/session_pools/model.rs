//! The one internal model of a `Microsoft.App/sessionPools` resource.
//!
//! Every api-version is parsed into this model ([`super::parse`]) and rendered from it
//! ([`super::render`]). Fields are `Option` where the caller may leave them out, so a pool
//! round-trips exactly as sent. The model is also what the store persists (serde JSON, internal
//! format, never sent on the wire: it contains secret values).
//!
//! Read-only properties (`provisioningState`, `nodeCount`, `poolManagementEndpoint`,
//! `systemData`) are not part of [`SessionPool`]; they live in [`PoolStatus`] beside it.

use serde::{Deserialize, Serialize};

/// Everything a caller can set on a session pool (plus generated identity ids).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPool {
    /// Azure region, as sent (e.g. `East US`); create-only.
    pub location: String,
    /// Resource tags, in the order sent.
    pub tags: Option<Vec<(String, String)>>,
    /// Managed identities of the pool.
    pub identity: Option<Identity>,
    /// `properties`.
    pub properties: Properties,
}

/// `identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// `identity.type`.
    pub kind: IdentityType,
    /// Generated principal id of the system-assigned identity (read-only).
    pub principal_id: Option<String>,
    /// Tenant of the system-assigned identity (read-only).
    pub tenant_id: Option<String>,
    /// `userAssignedIdentities`: ARM id -> generated ids, in the order sent.
    pub user_assigned: Vec<UserAssignedIdentity>,
}

/// One entry of `identity.userAssignedIdentities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    /// ARM id of the `Microsoft.ManagedIdentity/userAssignedIdentities` resource, as sent.
    pub id: String,
    /// Its principal (object) id (read-only, derived from the id).
    pub principal_id: String,
    /// Its client (application) id (read-only, derived from the id).
    pub client_id: String,
}

/// `identity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityType {
    /// `None`.
    None,
    /// `SystemAssigned`.
    SystemAssigned,
    /// `UserAssigned`.
    UserAssigned,
    /// `SystemAssigned,UserAssigned`.
    SystemAndUserAssigned,
}

impl IdentityType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::None => "None",
            IdentityType::SystemAssigned => "SystemAssigned",
            IdentityType::UserAssigned => "UserAssigned",
            IdentityType::SystemAndUserAssigned => "SystemAssigned,UserAssigned",
        }
    }

    /// Parses case-insensitively, ignoring spaces around the comma.
    pub fn parse(s: &str) -> Option<Self> {
        let norm: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        [
            Self::None,
            Self::SystemAssigned,
            Self::UserAssigned,
            Self::SystemAndUserAssigned,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(&norm))
    }

    /// Has a system-assigned identity.
    pub fn has_system(self) -> bool {
        matches!(self, Self::SystemAssigned | Self::SystemAndUserAssigned)
    }

    /// Has user-assigned identities.
    pub fn has_user(self) -> bool {
        matches!(self, Self::UserAssigned | Self::SystemAndUserAssigned)
    }
}

/// `properties` (writable part).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Properties {
    /// `environmentId` (create-only).
    pub environment_id: Option<String>,
    /// `containerType`.
    pub container_type: Option<ContainerType>,
    /// `poolManagementType`.
    pub pool_management_type: Option<PoolManagementType>,
    /// `scaleConfiguration`.
    pub scale_configuration: Option<ScaleConfiguration>,
    /// `secrets` (values stored, never rendered).
    pub secrets: Option<Vec<Secret>>,
    /// `dynamicPoolConfiguration`.
    pub dynamic_pool_configuration: Option<DynamicPoolConfiguration>,
    /// `customContainerTemplate`.
    pub custom_container_template: Option<CustomContainerTemplate>,
    /// `sessionNetworkConfiguration`.
    pub session_network_configuration: Option<SessionNetworkConfiguration>,
    /// `managedIdentitySettings`.
    pub managed_identity_settings: Option<Vec<ManagedIdentitySetting>>,
    /// `mcpServerSettings` (2025-10-02-preview, 2026-03-02-preview).
    #[serde(default)]
    pub mcp_server_settings: Option<McpServerSettings>,
}

/// `mcpServerSettings` (the read-only `mcpServerEndpoint` is not stored: it is rendered from
/// the pool's endpoint).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerSettings {
    /// `isMcpServerEnabled` (default false).
    pub is_mcp_server_enabled: Option<bool>,
    /// `isMcpServerApiKeyDisabled` (default false).
    pub is_mcp_server_api_key_disabled: Option<bool>,
}

impl McpServerSettings {
    /// Whether the pool serves its MCP endpoint.
    pub fn enabled(&self) -> bool {
        self.is_mcp_server_enabled.unwrap_or(false)
    }

    /// Whether the MCP endpoint refuses every request because API keys are disabled.
    pub fn api_key_disabled(&self) -> bool {
        self.is_mcp_server_api_key_disabled.unwrap_or(false)
    }
}

/// Enumerations with a fixed wire spelling, parsed case-insensitively.
pub trait WireEnum: Sized + Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// Wire spelling.
    fn as_str(self) -> &'static str;
    /// Case-insensitive parse.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
    /// `A, B, C` for messages.
    fn allowed() -> String {
        Self::ALL
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl WireEnum for $name {
            const ALL: &'static [Self] = &[$(Self::$var),+];
            fn as_str(self) -> &'static str { match self { $(Self::$var => $s),+ } }
        }
    };
}

wire_enum!(
    /// `containerType`.
    ContainerType {
        /// Custom container image.
        CustomContainer = "CustomContainer",
        /// Built-in Python code interpreter.
        PythonLTS = "PythonLTS",
        /// Built-in shell environment (2025-10-02-preview and later previews).
        Shell = "Shell",
        /// Built-in GPU image (2025-10-02-preview and later previews).
        GpuBase = "GpuBase",
        /// Built-in Node.js interpreter (2025-10-02-preview and later previews).
        NodeLTS = "NodeLTS",
    }
);
wire_enum!(
    /// `poolManagementType`.
    PoolManagementType {
        /// Rejected on create by the service.
        Manual = "Manual",
        /// The only usable value.
        Dynamic = "Dynamic",
    }
);
wire_enum!(
    /// `lifecycleConfiguration.lifecycleType` (and the flat `executionType`).
    LifecycleType {
        /// Session ends after an idle cooldown.
        Timed = "Timed",
        /// Session ends when its container exits or at its maximum age.
        OnContainerExit = "OnContainerExit",
    }
);
wire_enum!(
    /// `sessionNetworkConfiguration.status`.
    EgressStatus {
        /// Sessions may reach the network.
        EgressEnabled = "EgressEnabled",
        /// Sessions have no outbound network.
        EgressDisabled = "EgressDisabled",
    }
);
wire_enum!(
    /// `managedIdentitySettings[].lifecycle`. The specs list `None` and `Main`; the enum is
    /// `modelAsString` and Container Apps' identity lifecycles also have `Init` and `All`, which
    /// are accepted too (see [`IdentityLifecycle::in_session`]).
    IdentityLifecycle {
        /// Not exposed to sessions.
        None = "None",
        /// Exposed to session code.
        Main = "Main",
        /// Exposed to init containers only (sessions have none: nothing in the session).
        Init = "Init",
        /// Exposed to init and main containers.
        All = "All",
    }
);
wire_enum!(
    /// `probes[].type`.
    ProbeType {
        /// Restarts unhealthy sessions.
        Liveness = "Liveness",
        /// Gates readiness.
        Startup = "Startup",
    }
);
wire_enum!(
    /// `probes[].httpGet.scheme`.
    Scheme {
        /// Plain HTTP (default).
        Http = "HTTP",
        /// HTTPS.
        Https = "HTTPS",
    }
);

impl IdentityLifecycle {
    /// Whether code in a session's containers can get tokens for the identity
    /// (`Main` and `All`; `Init` covers only init containers, which sessions do not have).
    pub fn in_session(self) -> bool {
        matches!(self, Self::Main | Self::All)
    }
}

/// `scaleConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleConfiguration {
    /// Most sessions allocated at once.
    pub max_concurrent_sessions: Option<i32>,
    /// Pre-warmed pool size.
    pub ready_session_instances: Option<i32>,
}

/// `secrets[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// Secret name.
    pub name: String,
    /// Secret value (`x-ms-secret`: stored, never rendered).
    pub value: Option<String>,
}

/// `dynamicPoolConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicPoolConfiguration {
    /// `lifecycleConfiguration` (or the flat form of old versions).
    pub lifecycle_configuration: Option<LifecycleConfiguration>,
}

/// `lifecycleConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleConfiguration {
    /// `lifecycleType` (absent means `Timed`).
    pub lifecycle_type: Option<LifecycleType>,
    /// `cooldownPeriodInSeconds` (Timed).
    pub cooldown_period_in_seconds: Option<i32>,
    /// `maxAlivePeriodInSeconds` (OnContainerExit).
    pub max_alive_period_in_seconds: Option<i32>,
}

impl LifecycleConfiguration {
    /// The effective lifecycle type (`Timed` when not sent).
    pub fn effective_type(&self) -> LifecycleType {
        self.lifecycle_type.unwrap_or(LifecycleType::Timed)
    }
}

/// `customContainerTemplate`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomContainerTemplate {
    /// `registryCredentials`.
    pub registry_credentials: Option<RegistryCredentials>,
    /// `containers`.
    pub containers: Option<Vec<Container>>,
    /// `ingress`.
    pub ingress: Option<Ingress>,
}

/// `registryCredentials`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentials {
    /// `server` (`registryServer` in 2024-02-02-preview).
    pub server: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `passwordSecretRef`: name of a pool secret.
    pub password_secret_ref: Option<String>,
    /// `identity`: user-assigned identity id or `system`.
    pub identity: Option<String>,
}

/// `containers[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// `image`.
    pub image: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `command`.
    pub command: Option<Vec<String>>,
    /// `args`.
    pub args: Option<Vec<String>>,
    /// `env`.
    pub env: Option<Vec<EnvVar>>,
    /// `resources`.
    pub resources: Option<Resources>,
    /// `probes` (only in versions that have them).
    pub probes: Option<Vec<Probe>>,
}

/// `env[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// `name`.
    pub name: Option<String>,
    /// `value`.
    pub value: Option<String>,
    /// `secretRef`: name of a pool secret.
    pub secret_ref: Option<String>,
}

/// `resources`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// `cpu` in cores.
    pub cpu: Option<f64>,
    /// `memory`, e.g. `0.5Gi`.
    pub memory: Option<String>,
}

/// `ingress`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// `targetPort`.
    pub target_port: Option<i32>,
}

/// `probes[]`. Unset thresholds keep their service defaults; see the `effective_*` methods.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// `type`.
    pub kind: Option<ProbeType>,
    /// `httpGet`.
    pub http_get: Option<HttpGet>,
    /// `tcpSocket`.
    pub tcp_socket: Option<TcpSocket>,
    /// `failureThreshold` (default 3).
    pub failure_threshold: Option<i32>,
    /// `initialDelaySeconds` (default 0: probe right away).
    pub initial_delay_seconds: Option<i32>,
    /// `periodSeconds` (default 10).
    pub period_seconds: Option<i32>,
    /// `successThreshold` (must be 1).
    pub success_threshold: Option<i32>,
    /// `terminationGracePeriodSeconds`.
    pub termination_grace_period_seconds: Option<i64>,
    /// `timeoutSeconds` (default 1).
    pub timeout_seconds: Option<i32>,
}

impl Probe {
    /// Failures in a row before the probe counts as failed.
    pub fn effective_failure_threshold(&self) -> i32 {
        self.failure_threshold.unwrap_or(3)
    }
    /// Seconds to wait after start before the first probe.
    pub fn effective_initial_delay_seconds(&self) -> i32 {
        self.initial_delay_seconds.unwrap_or(0)
    }
    /// Seconds between probes.
    pub fn effective_period_seconds(&self) -> i32 {
        self.period_seconds.unwrap_or(10)
    }
    /// Seconds before one probe attempt times out.
    pub fn effective_timeout_seconds(&self) -> i32 {
        self.timeout_seconds.unwrap_or(1)
    }
}

/// `httpGet`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpGet {
    /// `host`.
    pub host: Option<String>,
    /// `httpHeaders`.
    pub http_headers: Option<Vec<HttpHeader>>,
    /// `path`.
    pub path: Option<String>,
    /// `port`.
    pub port: Option<i32>,
    /// `scheme` (default HTTP).
    pub scheme: Option<Scheme>,
}

/// `httpHeaders[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpHeader {
    /// `name`.
    pub name: Option<String>,
    /// `value`.
    pub value: Option<String>,
}

/// `tcpSocket`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpSocket {
    /// `host`.
    pub host: Option<String>,
    /// `port`.
    pub port: Option<i32>,
}

/// `sessionNetworkConfiguration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionNetworkConfiguration {
    /// `status`.
    pub status: Option<EgressStatus>,
}

/// `managedIdentitySettings[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedIdentitySetting {
    /// `identity`: user-assigned identity id or `system`.
    pub identity: Option<String>,
    /// `lifecycle` (default None).
    pub lifecycle: Option<IdentityLifecycle>,
}

/// `properties.provisioningState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisioningState {
    /// Being created or updated.
    InProgress,
    /// Ready.
    Succeeded,
    /// Provisioning failed.
    Failed,
    /// Provisioning was cancelled.
    Canceled,
    /// Being deleted.
    Deleting,
}

impl ProvisioningState {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Deleting => "Deleting",
        }
    }
}

/// Read-only state computed by the emulator and rendered beside the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolStatus {
    /// `provisioningState`.
    pub provisioning_state: ProvisioningState,
    /// `nodeCount` (0 until the pool manager reports nodes).
    pub node_count: i32,
    /// `poolManagementEndpoint` (absolute URL).
    pub pool_management_endpoint: String,
    /// The port of the pool's own origin ([`crate::origins`]), asked for again after a
    /// restart.
    #[serde(default)]
    pub origin_port: Option<u16>,
    /// `systemData` (`createdBy`, `createdByType`, `createdAt`, `lastModifiedBy`,
    /// `lastModifiedByType`, `lastModifiedAt`), as built by `arm::resource::system_data`.
    pub system_data: serde_json::Value,
}

/// `templateUpdateStatus` (read-only; 2025-10-02-preview, 2026-03-02-preview): the template the
/// pool runs and, during a roll-out, the one it is moving to. Computed when the pool is
/// rendered from the stored template records and the live sessions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateUpdateStatus {
    /// `activeTemplate`.
    pub active: Option<TemplateStatus>,
    /// `desiredTemplate` (only while a roll-out is in progress or failed).
    pub desired: Option<TemplateStatus>,
}

/// `activeTemplate` / `desiredTemplate`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateStatus {
    /// `containers`, rendered in the caller's version shape.
    pub containers: Vec<Container>,
    /// `ingress`.
    pub ingress: Option<Ingress>,
    /// `createdTime` (RFC 3339).
    pub created_time: String,
    /// `details`: `Running`, `Updating` or `Failed`.
    pub details: String,
    /// `status`.
    pub counts: TemplateCounts,
}

/// `status` of a template: its sessions by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TemplateCounts {
    /// `expectedCount`: ready sessions the pool keeps (`readySessionInstances`).
    pub expected: i32,
    /// `readyCount`.
    pub ready: i32,
    /// `pendingCount`: sessions booting.
    pub pending: i32,
    /// `imagePullFailCount`.
    pub image_pull_fail: i32,
    /// `crashCount`.
    pub crash: i32,
    /// `allocatedCount`.
    pub allocated: i32,
}

/// Parses `0.5Gi`, `1Gi`, `512Mi`, `2G`, `250M` (also `Gb`/`Mb`) into bytes; `None` when the
/// text is not such a quantity or is not positive.
pub fn memory_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit {
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "G" | "Gb" | "GB" => 1e9,
        "M" | "Mb" | "MB" => 1e6,
        _ => return None,
    };
    let bytes = n * mult;
    (bytes >= 1.0 && bytes.is_finite()).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_type_parses_loosely() {
        assert_eq!(
            IdentityType::parse("systemassigned"),
            Some(IdentityType::SystemAssigned)
        );
        assert_eq!(
            IdentityType::parse("SystemAssigned, UserAssigned"),
            Some(IdentityType::SystemAndUserAssigned)
        );
        assert_eq!(IdentityType::parse("Both"), None);
    }

    #[test]
    fn wire_enums_parse_case_insensitively() {
        assert_eq!(
            ContainerType::parse("customcontainer"),
            Some(ContainerType::CustomContainer)
        );
        assert_eq!(Scheme::parse("https"), Some(Scheme::Https));
        assert_eq!(ProbeType::parse("Readiness"), None);
        assert_eq!(LifecycleType::allowed(), "Timed, OnContainerExit");
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(memory_bytes("0.5Gi"), Some(1 << 29));
        assert_eq!(memory_bytes("512Mi"), Some(512 << 20));
        assert_eq!(memory_bytes("250Mb"), Some(250_000_000));
        for bad in [
            "", "Gi", "1", "1Ti", "-1Gi", "0Gi", "1.Gi", ".5Gi", "1 Gi", "abc",
        ] {
            assert_eq!(memory_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn probe_defaults() {
        let p = Probe::default();
        assert_eq!(p.effective_failure_threshold(), 3);
        assert_eq!(p.effective_period_seconds(), 10);
        assert_eq!(p.effective_timeout_seconds(), 1);
        assert_eq!(p.effective_initial_delay_seconds(), 0);
    }
}

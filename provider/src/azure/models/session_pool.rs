//! `Microsoft.App/sessionPools` at api-version [`API_VERSION`] (2026-07-01, stable, has probes).
//!
//! Every field is optional so that partial answers (and older emulators) still parse; requests
//! omit unset fields. Read-only fields are skipped when serialising a request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The api-version the provider speaks for session pools.
pub const API_VERSION: &str = "2026-07-01";
/// ARM resource type.
pub const RESOURCE_TYPE: &str = "Microsoft.App/sessionPools";

/// A session pool resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPool {
    /// ARM id (read-only).
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// Name (read-only in the body).
    #[serde(default, skip_serializing)]
    pub name: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Managed identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ManagedServiceIdentity>,
    /// Properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<SessionPoolProperties>,
}

/// `identity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedServiceIdentity {
    /// `None`, `SystemAssigned`, `UserAssigned`, `SystemAssigned,UserAssigned`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// System identity principal (read-only).
    #[serde(default, skip_serializing)]
    pub principal_id: Option<String>,
    /// System identity tenant (read-only).
    #[serde(default, skip_serializing)]
    pub tenant_id: Option<String>,
    /// User-assigned identity ids (values read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_assigned_identities: Option<BTreeMap<String, serde_json::Value>>,
}

/// `properties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPoolProperties {
    /// `Microsoft.App/managedEnvironments` id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// `CustomContainer` or `PythonLTS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_type: Option<String>,
    /// `Dynamic` (or `Manual`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_management_type: Option<String>,
    /// Nodes in use (read-only).
    #[serde(default, skip_serializing)]
    pub node_count: Option<i64>,
    /// Scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_configuration: Option<ScaleConfiguration>,
    /// Secrets (values never returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    /// Lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_pool_configuration: Option<DynamicPoolConfiguration>,
    /// The custom container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_container_template: Option<CustomContainerTemplate>,
    /// Egress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_network_configuration: Option<SessionNetworkConfiguration>,
    /// Data-plane root (read-only).
    #[serde(default, skip_serializing)]
    pub pool_management_endpoint: Option<String>,
    /// Provisioning state (read-only).
    #[serde(default, skip_serializing)]
    pub provisioning_state: Option<String>,
    /// Identities exposed to the pool / session code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_settings: Option<Vec<ManagedIdentitySetting>>,
}

/// `scaleConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleConfiguration {
    /// Most sessions allocated at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_sessions: Option<i64>,
    /// Pre-warmed pool size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_session_instances: Option<i64>,
}

/// `secrets[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// Secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Secret value (write-only on the service side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `dynamicPoolConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicPoolConfiguration {
    /// Lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_configuration: Option<LifecycleConfiguration>,
}

/// `lifecycleConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleConfiguration {
    /// `Timed` or `OnContainerExit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_type: Option<String>,
    /// Timed: idle seconds before a session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_period_in_seconds: Option<i64>,
    /// OnContainerExit: maximum age in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_alive_period_in_seconds: Option<i64>,
}

/// `customContainerTemplate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomContainerTemplate {
    /// Registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_credentials: Option<RegistryCredentials>,
    /// Containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<Container>>,
    /// Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
}

/// `registryCredentials`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentials {
    /// Registry host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Registry user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name of the secret holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<String>,
    /// User-assigned identity id or `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// `containers[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// CPU and memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ContainerResources>,
    /// Startup and Liveness probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Vec<Probe>>,
}

/// `env[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// Variable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Name of the pool secret holding the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
}

/// `resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResources {
    /// vCPUs, e.g. 0.25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Memory, e.g. `0.5Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// `probes[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// `Liveness` or `Startup`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// HTTP GET check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGet>,
    /// TCP connect check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocket>,
    /// 1-10, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i64>,
    /// 1-60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<i64>,
    /// 1-240, default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<i64>,
    /// Must be 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<i64>,
    /// At most 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// 1-240, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
}

/// `httpGet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpGet {
    /// Host header / address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
    /// Path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port, 1-65535.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `HTTP` or `HTTPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

/// `httpHeaders[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpHeader {
    /// Header name.
    #[serde(default)]
    pub name: String,
    /// Header value.
    #[serde(default)]
    pub value: String,
}

/// `tcpSocket`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpSocket {
    /// Host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port, 1-65535.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
}

/// `ingress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// Container port receiving proxied traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<i64>,
}

/// `sessionNetworkConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionNetworkConfiguration {
    /// `EgressEnabled` or `EgressDisabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `managedIdentitySettings[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedIdentitySetting {
    /// User-assigned identity id or `system`.
    #[serde(default)]
    pub identity: String,
    /// `None` or `Main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/testsessionpool",
      "name":"testsessionpool","type":"Microsoft.App/sessionPools","location":"East US",
      "identity":{"type":"SystemAssigned","principalId":"p","tenantId":"t"},
      "properties":{"environmentId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/demokube",
       "poolManagementType":"Dynamic","containerType":"CustomContainer","nodeCount":1,
       "scaleConfiguration":{"maxConcurrentSessions":500,"readySessionInstances":100},
       "dynamicPoolConfiguration":{"lifecycleConfiguration":{"lifecycleType":"Timed","cooldownPeriodInSeconds":600}},
       "customContainerTemplate":{"containers":[{"image":"repo/testcontainer:v4","name":"c",
          "resources":{"cpu":0.25,"memory":"0.5Gi"},"command":["/bin/sh"],"args":["-c","x"],
          "probes":[{"type":"Liveness","httpGet":{"path":"/health","port":8080,"httpHeaders":[{"name":"a","value":"b"}]},"periodSeconds":10}]}],
        "ingress":{"targetPort":80},"registryCredentials":{"server":"test.azurecr.io","identity":"system"}},
       "sessionNetworkConfiguration":{"status":"EgressEnabled"},
       "managedIdentitySettings":[{"identity":"system","lifecycle":"Main"}],
       "provisioningState":"Succeeded","poolManagementEndpoint":"https://x.example"}}"#;

    #[test]
    fn parses_service_answer() {
        let p: SessionPool = serde_json::from_str(EXAMPLE).unwrap();
        let props = p.properties.as_ref().unwrap();
        assert_eq!(props.node_count, Some(1));
        let c = &props
            .custom_container_template
            .as_ref()
            .unwrap()
            .containers
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            c.probes.as_ref().unwrap()[0]
                .http_get
                .as_ref()
                .unwrap()
                .port,
            Some(8080)
        );
        assert_eq!(
            p.identity.as_ref().unwrap().principal_id.as_deref(),
            Some("p")
        );
    }

    #[test]
    fn request_omits_read_only_fields() {
        let p: SessionPool = serde_json::from_str(EXAMPLE).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert!(v.get("id").is_none() && v.get("name").is_none());
        let props = &v["properties"];
        assert!(props.get("nodeCount").is_none());
        assert!(props.get("provisioningState").is_none());
        assert!(props.get("poolManagementEndpoint").is_none());
        assert!(v["identity"].get("principalId").is_none());
        assert_eq!(props["scaleConfiguration"]["readySessionInstances"], 100);
    }
}

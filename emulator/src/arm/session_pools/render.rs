//! The internal model -> response JSON in the caller's api-version.
//!
//! Fields the caller's version lacks are omitted (probes before 2025-02-02-preview and in the
//! stable 2025-07-01/2026-01-01, identity before 2024-10-02-preview, ...). Old versions get the
//! flat `dynamicPoolConfiguration{executionType, cooldownPeriodInSeconds}`; an `OnContainerExit`
//! pool read with such a version shows `executionType: "OnContainerExit"` (the enum is
//! `modelAsString`) and no `maxAlivePeriodInSeconds`, which those versions cannot express.
//! Secret values are never rendered ([`Secrets::Omit`]) except into the internal document a
//! PATCH is merged onto ([`Secrets::Include`]).

use serde_json::{json, Map, Value};

use super::model::*;
use super::version::ApiVersion;

/// The ARM resource type.
pub const RESOURCE_TYPE: &str = "Microsoft.App/sessionPools";

/// Whether secret values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Public responses: names only.
    Omit,
    /// Internal merge documents: values too.
    Include,
}

/// Read-only values computed when a pool is rendered (not stored with it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// `templateUpdateStatus`, rendered in versions that have it.
    pub template_update_status: Option<TemplateUpdateStatus>,
}

/// The MCP endpoint of a pool: `{poolManagementEndpoint}/mcp`.
pub fn mcp_endpoint(pool_management_endpoint: &str) -> String {
    format!("{}/mcp", pool_management_endpoint.trim_end_matches('/'))
}

/// Renders a full resource response: `id`, `name`, `type`, `location`, `tags`, `identity`,
/// `systemData`, `properties` (with the read-only status fields).
pub fn render_resource(
    id: &str,
    name: &str,
    pool: &SessionPool,
    status: &PoolStatus,
    live: &Live,
    v: ApiVersion,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!(RESOURCE_TYPE));
    let mut body = render_body(pool, v, Secrets::Omit);
    if let Value::Object(b) = &mut body {
        let props = b.remove("properties");
        out.extend(std::mem::take(b));
        out.insert("systemData".into(), status.system_data.clone());
        let mut props = match props {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        props.insert("nodeCount".into(), json!(status.node_count));
        props.insert(
            "poolManagementEndpoint".into(),
            json!(status.pool_management_endpoint),
        );
        props.insert(
            "provisioningState".into(),
            json!(status.provisioning_state.as_str()),
        );
        if let Some(Value::Object(mcp)) = props.get_mut("mcpServerSettings") {
            let enabled = pool
                .properties
                .mcp_server_settings
                .as_ref()
                .is_some_and(McpServerSettings::enabled);
            if enabled {
                mcp.insert(
                    "mcpServerEndpoint".into(),
                    json!(mcp_endpoint(&status.pool_management_endpoint)),
                );
            }
        }
        if v.has_template_update_status() {
            if let Some(t) = &live.template_update_status {
                props.insert("templateUpdateStatus".into(), render_update_status(t, v));
            }
        }
        out.insert("properties".into(), Value::Object(props));
    }
    Value::Object(out)
}

/// Renders the writable body (`location`, `tags`, `identity`, `properties`) in version `v`.
pub fn render_body(pool: &SessionPool, v: ApiVersion, secrets: Secrets) -> Value {
    let mut out = Map::new();
    out.insert("location".into(), json!(pool.location));
    if let Some(tags) = &pool.tags {
        let m: Map<String, Value> = tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        out.insert("tags".into(), Value::Object(m));
    }
    if v.has_identity() {
        if let Some(id) = &pool.identity {
            out.insert("identity".into(), render_identity(id));
        }
    }
    out.insert(
        "properties".into(),
        render_properties(&pool.properties, v, secrets),
    );
    Value::Object(out)
}

/// Inserts `key: value` when `value` is `Some`.
fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.into(), v.into());
    }
}

fn render_identity(id: &Identity) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(id.kind.as_str()));
    put(&mut m, "principalId", id.principal_id.clone());
    put(&mut m, "tenantId", id.tenant_id.clone());
    if !id.user_assigned.is_empty() {
        let ua: Map<String, Value> = id
            .user_assigned
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    json!({"principalId": u.principal_id, "clientId": u.client_id}),
                )
            })
            .collect();
        m.insert("userAssignedIdentities".into(), Value::Object(ua));
    }
    Value::Object(m)
}

fn render_properties(p: &Properties, v: ApiVersion, secrets: Secrets) -> Value {
    let mut m = Map::new();
    put(&mut m, "environmentId", p.environment_id.clone());
    put(
        &mut m,
        "containerType",
        p.container_type.map(|t| t.as_str()),
    );
    put(
        &mut m,
        "poolManagementType",
        p.pool_management_type.map(|t| t.as_str()),
    );
    if let Some(s) = &p.scale_configuration {
        let mut sm = Map::new();
        put(&mut sm, "maxConcurrentSessions", s.max_concurrent_sessions);
        put(&mut sm, "readySessionInstances", s.ready_session_instances);
        m.insert("scaleConfiguration".into(), Value::Object(sm));
    }
    if let Some(list) = &p.secrets {
        let items = list
            .iter()
            .map(|s| {
                let mut sm = Map::new();
                sm.insert("name".into(), json!(s.name));
                if secrets == Secrets::Include {
                    put(&mut sm, "value", s.value.clone());
                }
                Value::Object(sm)
            })
            .collect();
        m.insert("secrets".into(), Value::Array(items));
    }
    if let Some(d) = &p.dynamic_pool_configuration {
        m.insert("dynamicPoolConfiguration".into(), render_dynamic(d, v));
    }
    if let Some(t) = &p.custom_container_template {
        m.insert("customContainerTemplate".into(), render_template(t, v));
    }
    if let Some(n) = &p.session_network_configuration {
        let mut nm = Map::new();
        put(&mut nm, "status", n.status.map(|s| s.as_str()));
        m.insert("sessionNetworkConfiguration".into(), Value::Object(nm));
    }
    if v.has_identity() {
        if let Some(list) = &p.managed_identity_settings {
            let items = list
                .iter()
                .map(|s| {
                    let mut sm = Map::new();
                    put(&mut sm, "identity", s.identity.clone());
                    put(&mut sm, "lifecycle", s.lifecycle.map(|l| l.as_str()));
                    Value::Object(sm)
                })
                .collect();
            m.insert("managedIdentitySettings".into(), Value::Array(items));
        }
    }
    if v.has_mcp() {
        if let Some(mcp) = &p.mcp_server_settings {
            let mut mm = Map::new();
            put(&mut mm, "isMcpServerEnabled", mcp.is_mcp_server_enabled);
            put(
                &mut mm,
                "isMcpServerApiKeyDisabled",
                mcp.is_mcp_server_api_key_disabled,
            );
            m.insert("mcpServerSettings".into(), Value::Object(mm));
        }
    }
    Value::Object(m)
}

fn render_update_status(t: &TemplateUpdateStatus, v: ApiVersion) -> Value {
    let template = |s: &TemplateStatus| {
        let mut m = Map::new();
        m.insert(
            "containers".into(),
            s.containers
                .iter()
                .map(|c| render_container(c, v))
                .collect(),
        );
        if let Some(i) = &s.ingress {
            let mut im = Map::new();
            put(&mut im, "targetPort", i.target_port);
            m.insert("ingress".into(), Value::Object(im));
        }
        m.insert("createdTime".into(), json!(s.created_time));
        m.insert("details".into(), json!(s.details));
        let c = &s.counts;
        m.insert(
            "status".into(),
            json!({
                "expectedCount": c.expected,
                "readyCount": c.ready,
                "pendingCount": c.pending,
                "imagePullFailCount": c.image_pull_fail,
                "crashCount": c.crash,
                "allocatedCount": c.allocated,
            }),
        );
        Value::Object(m)
    };
    let mut m = Map::new();
    if let Some(a) = &t.active {
        m.insert("activeTemplate".into(), template(a));
    }
    if let Some(d) = &t.desired {
        m.insert("desiredTemplate".into(), template(d));
    }
    Value::Object(m)
}

fn render_dynamic(d: &DynamicPoolConfiguration, v: ApiVersion) -> Value {
    let mut m = Map::new();
    if let Some(l) = &d.lifecycle_configuration {
        if v.flat_dynamic_config() {
            put(
                &mut m,
                "executionType",
                l.lifecycle_type.map(|t| t.as_str()),
            );
            put(
                &mut m,
                "cooldownPeriodInSeconds",
                l.cooldown_period_in_seconds,
            );
        } else {
            let mut lm = Map::new();
            put(
                &mut lm,
                "lifecycleType",
                l.lifecycle_type.map(|t| t.as_str()),
            );
            put(
                &mut lm,
                "cooldownPeriodInSeconds",
                l.cooldown_period_in_seconds,
            );
            put(
                &mut lm,
                "maxAlivePeriodInSeconds",
                l.max_alive_period_in_seconds,
            );
            m.insert("lifecycleConfiguration".into(), Value::Object(lm));
        }
    }
    Value::Object(m)
}

fn render_template(t: &CustomContainerTemplate, v: ApiVersion) -> Value {
    let mut m = Map::new();
    if let Some(r) = &t.registry_credentials {
        let mut rm = Map::new();
        put(&mut rm, v.registry_server_field(), r.server.clone());
        put(&mut rm, "username", r.username.clone());
        put(&mut rm, "passwordSecretRef", r.password_secret_ref.clone());
        if v.has_registry_identity() {
            put(&mut rm, "identity", r.identity.clone());
        }
        m.insert("registryCredentials".into(), Value::Object(rm));
    }
    if let Some(cs) = &t.containers {
        m.insert(
            "containers".into(),
            cs.iter().map(|c| render_container(c, v)).collect(),
        );
    }
    if let Some(i) = &t.ingress {
        let mut im = Map::new();
        put(&mut im, "targetPort", i.target_port);
        m.insert("ingress".into(), Value::Object(im));
    }
    Value::Object(m)
}

fn render_container(c: &Container, v: ApiVersion) -> Value {
    let mut m = Map::new();
    put(&mut m, "image", c.image.clone());
    put(&mut m, "name", c.name.clone());
    put(&mut m, "command", c.command.clone());
    put(&mut m, "args", c.args.clone());
    if let Some(env) = &c.env {
        let items = env
            .iter()
            .map(|e| {
                let mut em = Map::new();
                put(&mut em, "name", e.name.clone());
                put(&mut em, "value", e.value.clone());
                put(&mut em, "secretRef", e.secret_ref.clone());
                Value::Object(em)
            })
            .collect();
        m.insert("env".into(), Value::Array(items));
    }
    if let Some(r) = &c.resources {
        let mut rm = Map::new();
        put(&mut rm, "cpu", r.cpu);
        put(&mut rm, "memory", r.memory.clone());
        m.insert("resources".into(), Value::Object(rm));
    }
    if v.has_probes() {
        if let Some(probes) = &c.probes {
            m.insert("probes".into(), probes.iter().map(render_probe).collect());
        }
    }
    Value::Object(m)
}

fn render_probe(p: &Probe) -> Value {
    let mut m = Map::new();
    put(&mut m, "type", p.kind.map(|k| k.as_str()));
    if let Some(h) = &p.http_get {
        let mut hm = Map::new();
        put(&mut hm, "host", h.host.clone());
        if let Some(hs) = &h.http_headers {
            let items = hs
                .iter()
                .map(|x| {
                    let mut xm = Map::new();
                    put(&mut xm, "name", x.name.clone());
                    put(&mut xm, "value", x.value.clone());
                    Value::Object(xm)
                })
                .collect();
            hm.insert("httpHeaders".into(), Value::Array(items));
        }
        put(&mut hm, "path", h.path.clone());
        put(&mut hm, "port", h.port);
        put(&mut hm, "scheme", h.scheme.map(|s| s.as_str()));
        m.insert("httpGet".into(), Value::Object(hm));
    }
    if let Some(t) = &p.tcp_socket {
        let mut tm = Map::new();
        put(&mut tm, "host", t.host.clone());
        put(&mut tm, "port", t.port);
        m.insert("tcpSocket".into(), Value::Object(tm));
    }
    put(&mut m, "failureThreshold", p.failure_threshold);
    put(&mut m, "initialDelaySeconds", p.initial_delay_seconds);
    put(&mut m, "periodSeconds", p.period_seconds);
    put(&mut m, "successThreshold", p.success_threshold);
    put(
        &mut m,
        "terminationGracePeriodSeconds",
        p.termination_grace_period_seconds,
    );
    put(&mut m, "timeoutSeconds", p.timeout_seconds);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_pool;
    use super::*;

    fn full() -> Value {
        json!({"location":"eastus","tags":{"b":"1","a":"2"},
         "identity":{"type":"SystemAssigned,UserAssigned","userAssignedIdentities":{"/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u":{}}},
         "properties":{"environmentId":"/subscriptions/s/resourceGroups/r/providers/Microsoft.App/managedEnvironments/e",
          "containerType":"CustomContainer","poolManagementType":"Dynamic",
          "scaleConfiguration":{"maxConcurrentSessions":10,"readySessionInstances":2},
          "secrets":[{"name":"pw","value":"hunter2"}],
          "dynamicPoolConfiguration":{"lifecycleConfiguration":{"lifecycleType":"Timed","cooldownPeriodInSeconds":300}},
          "customContainerTemplate":{"registryCredentials":{"server":"r.io","username":"u","passwordSecretRef":"pw"},
            "containers":[{"image":"i:1","name":"main","command":["/s"],"args":["a"],
              "env":[{"name":"A","value":"1"},{"name":"B","secretRef":"pw"}],
              "resources":{"cpu":0.5,"memory":"1Gi"},
              "probes":[{"type":"Liveness","httpGet":{"host":"h","httpHeaders":[{"name":"x","value":"y"}],"path":"/health","port":8080,"scheme":"HTTP"},
                "failureThreshold":3,"initialDelaySeconds":1,"periodSeconds":10,"successThreshold":1,"terminationGracePeriodSeconds":30,"timeoutSeconds":1},
                {"type":"Startup","tcpSocket":{"host":"h","port":8080}}]}],
            "ingress":{"targetPort":8080}},
          "sessionNetworkConfiguration":{"status":"EgressDisabled"},
          "managedIdentitySettings":[{"identity":"system","lifecycle":"Main"}]}})
    }

    #[test]
    fn canonical_round_trip_is_identity_except_secret_values() {
        let pool = parse_pool(&full(), ApiVersion::CANONICAL).unwrap();
        let mut want = full();
        want["properties"]["secrets"] = json!([{"name":"pw"}]);
        want["identity"]["userAssignedIdentities"]
            ["/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"] =
            json!({"principalId":"","clientId":""});
        assert_eq!(
            render_body(&pool, ApiVersion::CANONICAL, Secrets::Omit),
            want
        );
        let with = render_body(&pool, ApiVersion::CANONICAL, Secrets::Include);
        assert_eq!(
            with["properties"]["secrets"],
            json!([{"name":"pw","value":"hunter2"}])
        );
    }

    #[test]
    fn old_versions_get_the_old_shapes() {
        let pool = parse_pool(&full(), ApiVersion::CANONICAL).unwrap();
        let old = render_body(&pool, ApiVersion::V2024_02_02Preview, Secrets::Omit);
        assert_eq!(
            old["properties"]["dynamicPoolConfiguration"],
            json!({"executionType":"Timed","cooldownPeriodInSeconds":300})
        );
        assert_eq!(
            old["properties"]["customContainerTemplate"]["registryCredentials"]["registryServer"],
            "r.io"
        );
        assert!(old.get("identity").is_none());
        assert!(old["properties"].get("managedIdentitySettings").is_none());
        let stable = render_body(&pool, ApiVersion::V2025_07_01, Secrets::Omit);
        assert!(
            stable["properties"]["customContainerTemplate"]["containers"][0]
                .get("probes")
                .is_none()
        );
        assert!(stable["properties"]["dynamicPoolConfiguration"]
            .get("lifecycleConfiguration")
            .is_some());
    }

    #[test]
    fn resource_adds_read_only_fields() {
        let pool = parse_pool(&full(), ApiVersion::CANONICAL).unwrap();
        let status = PoolStatus {
            provisioning_state: ProvisioningState::InProgress,
            node_count: 0,
            pool_management_endpoint: "https://x/pools/a".into(),
            origin_port: None,
            system_data: json!({"createdAt": "t"}),
        };
        let r = render_resource(
            "/id",
            "p",
            &pool,
            &status,
            &Live::default(),
            ApiVersion::CANONICAL,
        );
        assert_eq!(r["type"], RESOURCE_TYPE);
        assert_eq!(r["properties"]["provisioningState"], "InProgress");
        assert_eq!(
            r["properties"]["poolManagementEndpoint"],
            "https://x/pools/a"
        );
        assert_eq!(r["systemData"]["createdAt"], "t");
        assert!(!r.to_string().contains("hunter2"));
    }
}

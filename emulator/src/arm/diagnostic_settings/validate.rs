//! Validation and normalisation of a diagnostic setting's `properties` against the resource
//! type's categories. Every failure names the offending field.

use serde_json::{json, Map, Value};

use super::categories::{canonical, Supported};
use super::error::DiagError;
use crate::arm::request::{get_ci, kind};

fn bad(msg: String) -> DiagError {
    DiagError::BadRequest(msg)
}

fn bool_field(
    obj: &Map<String, Value>,
    name: &str,
    path: &str,
    required: bool,
) -> Result<Option<bool>, DiagError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) if required => {
            Err(bad(format!("The property '{path}.{name}' is required.")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(format!(
            "The property '{path}.{name}' must be a boolean, got {}.",
            kind(other)
        ))),
    }
}

fn retention(obj: &Map<String, Value>, path: &str) -> Result<Value, DiagError> {
    match get_ci(obj, "retentionPolicy") {
        None | Some(Value::Null) => Ok(json!({"enabled": false, "days": 0})),
        Some(Value::Object(r)) => {
            let p = format!("{path}.retentionPolicy");
            let enabled = bool_field(r, "enabled", &p, true)?.unwrap_or(false);
            let days = match get_ci(r, "days") {
                Some(Value::Number(n)) if n.as_u64().is_some_and(|d| d <= 365) => {
                    n.as_u64().unwrap_or(0)
                }
                Some(other) => {
                    return Err(bad(format!(
                        "The property '{p}.days' must be an integer from 0 to 365, got {other}."
                    )))
                }
                None => return Err(bad(format!("The property '{p}.days' is required."))),
            };
            Ok(json!({"enabled": enabled, "days": days}))
        }
        Some(other) => Err(bad(format!(
            "The property '{path}.retentionPolicy' must be an object, got {}.",
            kind(other)
        ))),
    }
}

fn array<'a>(props: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], DiagError> {
    match get_ci(props, name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(bad(format!(
            "The property 'properties.{name}' must be an array, got {}.",
            kind(other)
        ))),
    }
}

fn opt_str(obj: &Map<String, Value>, name: &str, path: &str) -> Result<Option<String>, DiagError> {
    match get_ci(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!(
            "The property '{path}.{name}' must be a string, got {}.",
            kind(other)
        ))),
    }
}

/// A validated setting: normalised properties plus the (category, enabled) pairs it sends
/// to its workspace, for the duplicate-sink check.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Normalised `properties`.
    pub properties: Value,
    /// The workspace id, if any.
    pub workspace_id: Option<String>,
    /// Enabled log categories/groups and metric categories.
    pub enabled: Vec<String>,
}

/// Validates `properties` of a setting on a resource of type `resource_type` supporting
/// `supported`.
pub fn validate(
    props: &Map<String, Value>,
    resource_type: &str,
    supported: Supported,
) -> Result<Validated, DiagError> {
    let workspace_id = opt_str(props, "workspaceId", "properties")?;
    let mut out = Map::new();
    let destinations = [
        "storageAccountId",
        "eventHubAuthorizationRuleId",
        "eventHubName",
        "serviceBusRuleId",
        "marketplacePartnerId",
    ];
    let mut has_destination = workspace_id.is_some();
    out.insert("workspaceId".into(), json!(workspace_id));
    for d in destinations {
        let v = opt_str(props, d, "properties")?;
        if v.is_some() && d != "eventHubName" {
            has_destination = true;
        }
        if v.is_some() {
            out.insert(d.into(), json!(v));
        }
    }
    if !has_destination {
        return Err(bad("At least one destination must be set: 'properties.workspaceId' (or storageAccountId, eventHubAuthorizationRuleId, marketplacePartnerId).".into()));
    }
    let dest_type = opt_str(props, "logAnalyticsDestinationType", "properties")?;
    match dest_type.as_deref() {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("Dedicated") => {}
        Some(t) => return Err(bad(format!("The property 'properties.logAnalyticsDestinationType' must be 'Dedicated' or null, got '{t}'."))),
    }
    out.insert(
        "logAnalyticsDestinationType".into(),
        json!(dest_type.map(|_| "Dedicated")),
    );

    let mut enabled = Vec::new();
    let mut logs = Vec::new();
    for (i, entry) in array(props, "logs")?.iter().enumerate() {
        let path = format!("properties.logs[{i}]");
        let Value::Object(e) = entry else {
            return Err(bad(format!(
                "The property '{path}' must be an object, got {}.",
                kind(entry)
            )));
        };
        let category = opt_str(e, "category", &path)?;
        let group = opt_str(e, "categoryGroup", &path)?;
        let (category, group) = match (category, group) {
            (Some(c), None) => {
                let c = canonical(supported.logs, &c).ok_or_else(|| {
                    bad(format!("Category '{c}' ({path}.category) is not supported for {resource_type}. Supported log categories: {}.", if supported.logs.is_empty() { "none".to_string() } else { supported.logs.join(", ") }))
                })?;
                (Some(c), None)
            }
            (None, Some(g)) => {
                let g = canonical(supported.groups, &g).ok_or_else(|| {
                    bad(format!("Category group '{g}' ({path}.categoryGroup) is not supported for {resource_type}. Supported category groups: {}.", if supported.groups.is_empty() { "none".to_string() } else { supported.groups.join(", ") }))
                })?;
                (None, Some(g))
            }
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "'{path}' must set either 'category' or 'categoryGroup', not both."
                )))
            }
            (None, None) => {
                return Err(bad(format!(
                    "'{path}' must set 'category' or 'categoryGroup'."
                )))
            }
        };
        let on = bool_field(e, "enabled", &path, true)?.unwrap_or(false);
        let key = category.or(group).unwrap_or_default().to_string();
        if logs.iter().any(|l: &Value| {
            l["category"].as_str().or(l["categoryGroup"].as_str()) == Some(key.as_str())
        }) {
            return Err(bad(format!(
                "'{path}': the category '{key}' is listed twice."
            )));
        }
        if on {
            enabled.push(key);
        }
        logs.push(json!({
            "category": category,
            "categoryGroup": group,
            "enabled": on,
            "retentionPolicy": retention(e, &path)?,
        }));
    }
    let mut metrics = Vec::new();
    for (i, entry) in array(props, "metrics")?.iter().enumerate() {
        let path = format!("properties.metrics[{i}]");
        let Value::Object(e) = entry else {
            return Err(bad(format!(
                "The property '{path}' must be an object, got {}.",
                kind(entry)
            )));
        };
        let c = opt_str(e, "category", &path)?
            .ok_or_else(|| bad(format!("The property '{path}.category' is required.")))?;
        let c = canonical(supported.metrics, &c).ok_or_else(|| {
            bad(format!("Metric category '{c}' ({path}.category) is not supported for {resource_type}. Supported: {}.", supported.metrics.join(", ")))
        })?;
        let on = bool_field(e, "enabled", &path, true)?.unwrap_or(false);
        if on {
            enabled.push(c.to_string());
        }
        metrics.push(json!({
            "category": c,
            "timeGrain": opt_str(e, "timeGrain", &path)?,
            "enabled": on,
            "retentionPolicy": retention(e, &path)?,
        }));
    }
    out.insert("logs".into(), Value::Array(logs));
    out.insert("metrics".into(), Value::Array(metrics));
    Ok(Validated {
        properties: Value::Object(out),
        workspace_id,
        enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::diagnostic_settings::categories::for_type;
    use proptest::prelude::*;

    const ENV: &str = "Microsoft.App/managedEnvironments";

    fn run(props: Value, ty: &str) -> Result<Validated, DiagError> {
        let supported = for_type(ty).expect("type");
        validate(props.as_object().expect("object"), ty, supported)
    }

    #[test]
    fn valid_environment_setting_is_normalised() {
        let v = run(json!({"workspaceId": "/w", "logs": [{"category": "appenvsessionlifecyclelogs", "enabled": true}, {"categoryGroup": "audit", "enabled": false}], "metrics": [{"category": "AllMetrics", "enabled": true}]}), ENV).expect("valid");
        assert_eq!(
            v.properties["logs"][0]["category"],
            "AppEnvSessionLifeCycleLogs"
        );
        assert_eq!(
            v.properties["logs"][0]["retentionPolicy"],
            json!({"enabled": false, "days": 0})
        );
        assert_eq!(v.enabled, vec!["AppEnvSessionLifeCycleLogs", "AllMetrics"]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"logs": []}), "destination"),
            (
                json!({"workspaceId": "/w", "logs": [{"category": "Nope", "enabled": true}]}),
                "properties.logs[0].category",
            ),
            (
                json!({"workspaceId": "/w", "logs": [{"category": "ContainerAppConsoleLogs"}]}),
                "properties.logs[0].enabled",
            ),
            (
                json!({"workspaceId": "/w", "logAnalyticsDestinationType": "AzureDiagnostics"}),
                "logAnalyticsDestinationType",
            ),
            (
                json!({"workspaceId": "/w", "metrics": [{"category": "Requests", "enabled": true}]}),
                "properties.metrics[0].category",
            ),
            (
                json!({"workspaceId": "/w", "logs": [{"category": "ContainerAppConsoleLogs", "enabled": true, "retentionPolicy": {"enabled": true, "days": -1}}]}),
                "retentionPolicy.days",
            ),
        ];
        for (props, needle) in cases {
            let e = run(props.clone(), ENV).expect_err("invalid");
            assert!(e.to_string().contains(needle), "{props}: {e}");
        }
    }

    #[test]
    fn session_pools_take_metrics_only() {
        let ty = "Microsoft.App/sessionPools";
        assert!(run(
            json!({"workspaceId": "/w", "metrics": [{"category": "AllMetrics", "enabled": true}]}),
            ty
        )
        .is_ok());
        assert!(run(json!({"workspaceId": "/w", "logs": [{"category": "AppEnvSessionConsoleLogs", "enabled": true}]}), ty).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(s in "\\PC{0,200}") {
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&s) {
                let _ = validate(&m, ENV, for_type(ENV).expect("type"));
            }
        }
    }
}

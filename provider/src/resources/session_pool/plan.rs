//! PlanResourceChange for `azuresessions_session_pool`: defaults the service applies, unknown
//! computed values, no diff for mere normalisation (location spelling), and replacement for
//! create-only attributes.

use crate::plugin::{AttributePath, PlanRequest, Planned, Value};
use crate::resources::support::elems;

use super::flatten::normalize_location;

/// Attributes whose change replaces the pool (azurerm's ForceNew set).
pub const FORCE_NEW: &[&str] = &[
    "name",
    "resource_group_name",
    "location",
    "container_app_environment_id",
    "container_type",
    "pool_management_type",
    "managed_identity_setting",
];

fn default_if_null(v: &mut Value, name: &str, default: Value) {
    if v.get(name).is_null() {
        v.set_attr(name, default);
    }
}

/// Computes the planned state.
pub fn plan(req: &PlanRequest) -> Planned {
    let prior = &req.prior_state;
    let mut planned = req.proposed_new_state.clone();
    if planned.is_null() {
        return Planned {
            planned_state: Value::Null,
            ..Default::default()
        };
    }
    // Write-only values never appear in planned state (Terraform requires null); nulling them
    // here also keeps them out of the "anything changed?" comparison below.
    if let Some(Value::List(secrets)) = planned.at_mut(&AttributePath::attr("secret")) {
        for s in secrets.iter_mut() {
            s.set_attr("value_wo", Value::Null);
        }
    }
    // "East US" -> "eastus" is no change.
    if let (Some(c), Some(p)) = (
        planned.get("location").as_str(),
        prior.get("location").as_str(),
    ) {
        if normalize_location(c) == normalize_location(p) {
            let p = p.to_string();
            planned.set_attr("location", Value::from(p));
        }
    }
    default_if_null(&mut planned, "pool_management_type", Value::from("Dynamic"));
    default_if_null(&mut planned, "network_egress_enabled", Value::from(false));
    default_if_null(&mut planned, "lifecycle_type", Value::from("Timed"));
    let timed = planned.get("lifecycle_type").as_str() == Some("Timed");
    if !timed && !planned.get("lifecycle_type").is_unknown() {
        // Switching to OnContainerExit: the prior cooldown no longer applies.
        if req.config.get("cooldown_period_in_seconds").is_null() {
            planned.set_attr("cooldown_period_in_seconds", Value::Null);
        }
    }
    if prior.is_null() {
        for k in [
            "id",
            "pool_management_endpoint",
            "node_count",
            "provisioning_state",
        ] {
            planned.set_attr(k, Value::unknown());
        }
        if planned.get("ready_session_instances").is_null() {
            planned.set_attr("ready_session_instances", Value::unknown());
        }
        if timed && planned.get("cooldown_period_in_seconds").is_null() {
            planned.set_attr("cooldown_period_in_seconds", Value::unknown());
        }
        mark_identity_unknown(&mut planned);
        return Planned {
            planned_state: planned,
            ..Default::default()
        };
    }
    let mut requires_replace = Vec::new();
    for k in FORCE_NEW {
        if planned.get(k) != prior.get(k) {
            requires_replace.push(AttributePath::attr(*k));
        }
    }
    // A pool the service failed to provision is re-applied until it is healthy.
    if is_failed(prior.get("provisioning_state")) {
        planned.set_attr("provisioning_state", Value::unknown());
    }
    if planned != *prior {
        planned.set_attr("node_count", Value::unknown());
        planned.set_attr("provisioning_state", Value::unknown());
        let prior_type = elems(prior.get("identity"))
            .first()
            .map(|i| i.get("type").clone());
        let new_type = elems(planned.get("identity"))
            .first()
            .map(|i| i.get("type").clone());
        if prior_type != new_type {
            mark_identity_unknown(&mut planned);
        }
        if !requires_replace.is_empty() {
            for k in ["id", "pool_management_endpoint"] {
                planned.set_attr(k, Value::unknown());
            }
        }
    }
    Planned {
        planned_state: planned,
        requires_replace,
        planned_private: Vec::new(),
    }
}

/// True for a terminal provisioning state that is not success (`Failed`, `Canceled`).
pub fn is_failed(state: &Value) -> bool {
    state
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled"))
}

fn mark_identity_unknown(planned: &mut Value) {
    if let Value::List(items) = planned.get_mut("identity") {
        for it in items.iter_mut() {
            let system = it
                .get("type")
                .as_str()
                .is_some_and(|t| t.contains("SystemAssigned"));
            let v = if system || it.get("type").is_unknown() {
                Value::unknown()
            } else {
                Value::Null
            };
            it.set_attr("principal_id", v.clone());
            it.set_attr("tenant_id", v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Value {
        Value::object([
            ("id", Value::from("/x")),
            ("name", Value::from("pool1")),
            ("location", Value::from("eastus")),
            ("lifecycle_type", Value::from("Timed")),
            ("pool_management_type", Value::from("Dynamic")),
            ("network_egress_enabled", Value::from(false)),
            ("node_count", Value::from(1i64)),
            ("max_concurrent_sessions", Value::from(5i64)),
        ])
    }

    #[test]
    fn no_change_is_no_diff() {
        let req = PlanRequest {
            prior_state: state(),
            proposed_new_state: state(),
            config: state(),
            ..Default::default()
        };
        let p = plan(&req);
        assert_eq!(p.planned_state, state());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn location_spelling_is_no_diff_but_real_change_replaces() {
        let mut proposed = state();
        proposed.set_attr("location", Value::from("East US"));
        let req = PlanRequest {
            prior_state: state(),
            proposed_new_state: proposed.clone(),
            config: proposed,
            ..Default::default()
        };
        assert_eq!(plan(&req).planned_state, state());
        let mut proposed = state();
        proposed.set_attr("location", Value::from("westus"));
        let req = PlanRequest {
            prior_state: state(),
            proposed_new_state: proposed.clone(),
            config: proposed,
            ..Default::default()
        };
        let p = plan(&req);
        assert_eq!(p.requires_replace, vec![AttributePath::attr("location")]);
        assert!(p.planned_state.get("id").is_unknown());
    }

    #[test]
    fn update_marks_node_count_unknown() {
        let mut proposed = state();
        proposed.set_attr("max_concurrent_sessions", Value::from(6i64));
        let req = PlanRequest {
            prior_state: state(),
            proposed_new_state: proposed.clone(),
            config: proposed,
            ..Default::default()
        };
        let p = plan(&req);
        assert!(p.planned_state.get("node_count").is_unknown());
        assert!(p.requires_replace.is_empty());
        assert_eq!(p.planned_state.get("id"), &Value::from("/x"));
    }

    #[test]
    fn failed_pool_plans_an_update_until_healthy() {
        let mut failed = state();
        failed.set_attr("provisioning_state", Value::from("Failed"));
        let req = PlanRequest {
            prior_state: failed.clone(),
            proposed_new_state: failed.clone(),
            config: failed,
            ..Default::default()
        };
        let p = plan(&req);
        assert!(p.planned_state.get("provisioning_state").is_unknown());
        assert!(p.requires_replace.is_empty());
        let mut ok = state();
        ok.set_attr("provisioning_state", Value::from("Succeeded"));
        let req = PlanRequest {
            prior_state: ok.clone(),
            proposed_new_state: ok.clone(),
            config: ok.clone(),
            ..Default::default()
        };
        assert_eq!(plan(&req).planned_state, ok);
    }

    #[test]
    fn create_sets_defaults_and_unknowns() {
        let cfg = Value::object([
            ("name", Value::from("pool1")),
            ("max_concurrent_sessions", Value::from(5i64)),
        ]);
        let req = PlanRequest {
            prior_state: Value::Null,
            proposed_new_state: cfg.clone(),
            config: cfg,
            ..Default::default()
        };
        let p = plan(&req).planned_state;
        assert_eq!(p.get("pool_management_type"), &Value::from("Dynamic"));
        assert_eq!(p.get("network_egress_enabled"), &Value::from(false));
        assert!(p.get("id").is_unknown() && p.get("cooldown_period_in_seconds").is_unknown());
    }
}

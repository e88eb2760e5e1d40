//! PlanResourceChange for `azuresessions_session_pool`, on the typed model:
//!
//! - **Defaults converge both ways**: every attribute with a documented default plans that
//!   default when the configuration leaves it out, also when it was set before (removing
//!   `network_egress_enabled = true` plans `true -> false`). `cooldown_period_in_seconds`
//!   defaults to 300 for Timed pools and is null for OnContainerExit pools.
//! - Unknown computed values on create (id, endpoint, node count, provisioning state,
//!   identity principal); no diff for mere normalisation (location spelling).
//! - Replacement for create-only attributes (the model's `force_new` ones).
//! - A pool whose provisioning `Failed` (or was `Canceled`) plans an update until healthy.
//! - Write-only values (`secret.value_wo`, `timeouts`) are null in the plan; the configured
//!   timeouts travel to apply (and later reads and deletes) in the private state.
//! - Secrets need a value when the pool is created or the secret is new; a secret the pool
//!   already has may leave it out (the service keeps the value).

use super::expand::arm_identity_type;
use super::flatten::{defaults, normalize_location};
use super::model::{Identity, Secret, SessionPool};
use crate::azure::ids::ids_equal;
use crate::plugin::model::{Model, Tf};
use crate::plugin::plan::plan_defaults;
use crate::plugin::{
    AttributePath, Diagnostic, Diagnostics, PlanRequest, Planned, TfResult, Value,
};
use crate::resources::timeouts::Timeouts;

/// True for a terminal provisioning state that is not success (`Failed`, `Canceled`).
pub fn is_failed(state: &Tf<String>) -> bool {
    state
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled"))
}

/// Computes the planned state.
pub fn plan(req: &PlanRequest) -> TfResult<Planned> {
    if req.proposed_new_state.is_null() {
        return Ok(Planned::default());
    }
    let block = SessionPool::block();
    let mut proposed = req.proposed_new_state.clone();
    plan_defaults(&block, &req.config, &mut proposed);
    let mut planned = SessionPool::from_value(&proposed)?;
    let config = SessionPool::from_value(&req.config)?;
    let prior = if req.prior_state.is_null() {
        None
    } else {
        Some(SessionPool::from_value(&req.prior_state)?)
    };

    // Write-only values never appear in planned state (Terraform requires null); nulling them
    // here also keeps them out of the "anything changed?" comparison below.
    for s in planned.secret.items_mut() {
        s.value_wo = Tf::Null;
    }
    planned.timeouts = Timeouts::state_value();
    if let Some(prior) = &prior {
        keep_prior_spelling(&mut planned, prior);
    }
    cooldown_default(&mut planned, &config);
    check_secret_values(&config, prior.as_ref())?;
    let planned_private = match &config.timeouts {
        Tf::Known(t) => t.to_private(),
        _ => req.prior_private.clone(),
    };

    let Some(prior) = prior else {
        planned.id = Tf::unknown();
        planned.pool_management_endpoint = Tf::unknown();
        planned.node_count = Tf::unknown();
        planned.provisioning_state = Tf::unknown();
        mark_identity_unknown(&mut planned.identity);
        return Ok(Planned {
            planned_state: planned.encode(),
            requires_replace: Vec::new(),
            planned_private,
        });
    };

    let planned_value = planned.encode();
    let prior_value = req.prior_state.clone();
    let requires_replace: Vec<AttributePath> = schema_force_new()
        .into_iter()
        .filter(|p| planned_value.at(p) != prior_value.at(p))
        .collect();
    // A pool the service failed to provision is re-applied until it is healthy.
    if is_failed(&prior.provisioning_state) {
        planned.provisioning_state = Tf::unknown();
    }
    if planned.encode() != prior_value {
        planned.node_count = Tf::unknown();
        planned.provisioning_state = Tf::unknown();
        let prior_type = prior.identity.first().map(|i| i.r#type.clone());
        let new_type = planned.identity.first().map(|i| i.r#type.clone());
        if prior_type != new_type {
            mark_identity_unknown(&mut planned.identity);
        }
        if !requires_replace.is_empty() {
            planned.id = Tf::unknown();
            planned.pool_management_endpoint = Tf::unknown();
        }
    }
    Ok(Planned {
        planned_state: planned.encode(),
        requires_replace,
        planned_private,
    })
}

/// A configured value that only differs from the prior one in how it is written ("East US"
/// vs "eastus", `SystemAssigned, UserAssigned` vs `SystemAssigned,UserAssigned`, `System` vs
/// `system`, an id in another case) plans the prior value: no change. Terraform allows a plan
/// to keep the prior value of a normalised configuration value.
fn keep_prior_spelling(planned: &mut SessionPool, prior: &SessionPool) {
    fn keep(p: &mut Tf<String>, prior: &Tf<String>, same: impl Fn(&str, &str) -> bool) {
        if let (Some(a), Some(b)) = (p.as_str(), prior.as_str()) {
            if a != b && same(a, b) {
                *p = prior.clone();
            }
        }
    }
    let id_ref = |a: &str, b: &str| {
        (a.eq_ignore_ascii_case("system") && b.eq_ignore_ascii_case("system")) || ids_equal(a, b)
    };
    keep(&mut planned.location, &prior.location, |a, b| {
        normalize_location(a) == normalize_location(b)
    });
    keep(
        &mut planned.container_app_environment_id,
        &prior.container_app_environment_id,
        ids_equal,
    );
    if let (Some(p), Some(q)) = (planned.identity.known_mut(), prior.identity.first()) {
        if let Some(p) = p.first_mut() {
            keep(&mut p.r#type, &q.r#type, |a, b| {
                arm_identity_type(a).eq_ignore_ascii_case(&arm_identity_type(b))
            });
            if let (Some(ids), Some(prior_ids)) =
                (p.identity_ids.known_mut(), q.identity_ids.known())
            {
                for id in ids.0.iter_mut() {
                    if let Some(same) = prior_ids
                        .known_items()
                        .find(|x| id.as_str().is_some_and(|a| ids_equal(a, x)))
                    {
                        *id = Tf::Known(same.clone());
                    }
                }
            }
        }
    }
    for (p, q) in planned
        .managed_identity_setting
        .items_mut()
        .iter_mut()
        .zip(prior.managed_identity_setting.items())
    {
        keep(&mut p.identity, &q.identity, id_ref);
    }
    if let (Some(p), Some(q)) = (
        planned
            .custom_container_template
            .items_mut()
            .first_mut()
            .and_then(|t| t.registry.items_mut().first_mut()),
        prior
            .custom_container_template
            .first()
            .and_then(|t| t.registry.first()),
    ) {
        keep(&mut p.identity, &q.identity, id_ref);
        keep(&mut p.server, &q.server, |a, b| a.eq_ignore_ascii_case(b));
    }
}

/// Paths whose change replaces the pool (the model's `force_new` attributes and blocks).
pub fn schema_force_new() -> Vec<AttributePath> {
    crate::plugin::Schema::new(0, SessionPool::block()).force_new_paths()
}

/// `cooldown_period_in_seconds` left out: 300 for a Timed pool, null for OnContainerExit.
fn cooldown_default(planned: &mut SessionPool, config: &SessionPool) {
    if !config.cooldown_period_in_seconds.is_null() {
        return;
    }
    planned.cooldown_period_in_seconds = match planned.lifecycle_type.as_str() {
        Some("Timed") => Tf::Known(defaults::COOLDOWN_SECONDS),
        Some(_) => Tf::Null,
        None => Tf::unknown(),
    };
}

/// A secret needs `value` or `value_wo` when the pool is created or the secret is new.
fn check_secret_values(config: &SessionPool, prior: Option<&SessionPool>) -> TfResult<()> {
    let known_to_pool = |name: &str| {
        prior.is_some_and(|p| {
            p.secret
                .items()
                .iter()
                .any(|s| s.name.as_str() == Some(name))
        })
    };
    let mut d = Diagnostics::new();
    for (i, s) in config.secret.items().iter().enumerate() {
        let Some(name) = s.name.as_str() else {
            continue;
        };
        if s.value.is_null() && s.value_wo.is_null() && !known_to_pool(name) {
            d.push(
                Diagnostic::error(
                    "Missing secret value",
                    format!(
                        "The secret {name:?} is new to this pool: give it `value` or `value_wo`."
                    ),
                )
                .at(AttributePath::attr(SessionPool::SECRET)
                    .index(i as i64)
                    .then_attr(Secret::VALUE)),
            );
        }
    }
    d.into_result()
}

fn mark_identity_unknown(identity: &mut Tf<Vec<Identity>>) {
    for it in identity.items_mut() {
        let system = it
            .r#type
            .as_str()
            .is_some_and(|t| t.contains("SystemAssigned"));
        let v = if system || it.r#type.is_unknown() {
            Tf::unknown()
        } else {
            Tf::Null
        };
        it.principal_id = v.clone();
        it.tenant_id = v;
    }
}

/// Normalises a stored state to the current shape: the `timeouts` group block is never null.
pub fn normalize_state(state: &mut Value) {
    if state.is_null() {
        return;
    }
    state.set_attr(SessionPool::TIMEOUTS, Timeouts::default().encode());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Value {
        let mut v = SessionPool {
            id: "/x".into(),
            name: "pool1".into(),
            location: "eastus".into(),
            lifecycle_type: "Timed".into(),
            cooldown_period_in_seconds: Tf::Known(300),
            pool_management_type: "Dynamic".into(),
            network_egress_enabled: Tf::Known(false),
            ready_session_instances: Tf::Known(1),
            node_count: Tf::Known(1),
            max_concurrent_sessions: Tf::Known(5),
            custom_container_template: Tf::Known(vec![]),
            secret: Tf::Known(vec![]),
            identity: Tf::Known(vec![]),
            managed_identity_setting: Tf::Known(vec![]),
            timeouts: Timeouts::state_value(),
            ..Default::default()
        }
        .encode();
        v.set_attr("provisioning_state", Value::from("Succeeded"));
        v
    }

    fn config_of(v: &Value) -> Value {
        let mut c = v.clone();
        for k in [
            "id",
            "node_count",
            "provisioning_state",
            "pool_management_endpoint",
        ] {
            c.set_attr(k, Value::Null);
        }
        c
    }

    fn plan_of(prior: Value, proposed: Value, config: Value) -> Planned {
        plan(&PlanRequest {
            prior_state: prior,
            proposed_new_state: proposed,
            config,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn no_change_is_no_diff() {
        let p = plan_of(state(), state(), config_of(&state()));
        assert_eq!(p.planned_state, state());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn location_spelling_is_no_diff_but_real_change_replaces() {
        let mut proposed = state();
        proposed.set_attr("location", Value::from("East US"));
        let p = plan_of(state(), proposed.clone(), config_of(&proposed));
        assert_eq!(p.planned_state, state());
        let mut proposed = state();
        proposed.set_attr("location", Value::from("westus"));
        let p = plan_of(state(), proposed.clone(), config_of(&proposed));
        assert_eq!(p.requires_replace, vec![AttributePath::attr("location")]);
        assert!(p.planned_state.get("id").is_unknown());
    }

    #[test]
    fn update_marks_node_count_unknown() {
        let mut proposed = state();
        proposed.set_attr("max_concurrent_sessions", Value::from(6i64));
        let p = plan_of(state(), proposed.clone(), config_of(&proposed));
        assert!(p.planned_state.get("node_count").is_unknown());
        assert!(p.requires_replace.is_empty());
        assert_eq!(p.planned_state.get("id"), &Value::from("/x"));
    }

    #[test]
    fn failed_pool_plans_an_update_until_healthy() {
        let mut failed = state();
        failed.set_attr("provisioning_state", Value::from("Failed"));
        let p = plan_of(failed.clone(), failed.clone(), config_of(&failed));
        assert!(p.planned_state.get("provisioning_state").is_unknown());
        assert!(p.requires_replace.is_empty());
        let p = plan_of(state(), state(), config_of(&state()));
        assert_eq!(p.planned_state, state());
    }

    #[test]
    fn create_sets_defaults_and_unknowns() {
        let cfg = Value::object([
            ("name", Value::from("pool1")),
            ("max_concurrent_sessions", Value::from(5i64)),
        ]);
        let p = plan_of(Value::Null, cfg.clone(), cfg).planned_state;
        assert_eq!(p.get("pool_management_type"), &Value::from("Dynamic"));
        assert_eq!(p.get("network_egress_enabled"), &Value::from(false));
        assert_eq!(p.get("lifecycle_type"), &Value::from("Timed"));
        assert_eq!(p.get("cooldown_period_in_seconds"), &Value::from(300i64));
        assert_eq!(p.get("ready_session_instances"), &Value::from(1i64));
        assert!(p.get("id").is_unknown() && p.get("provisioning_state").is_unknown());
    }

    /// Every attribute with a documented default: set to something else before, left out of
    /// the configuration now -> the plan goes back to the default.
    #[test]
    fn removing_a_defaulted_attribute_plans_its_default() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "network_egress_enabled",
                Value::from(true),
                Value::from(false),
            ),
            (
                "ready_session_instances",
                Value::from(3i64),
                Value::from(1i64),
            ),
            (
                "cooldown_period_in_seconds",
                Value::from(900i64),
                Value::from(300i64),
            ),
        ];
        for (attr, was, default) in cases {
            let mut prior = state();
            prior.set_attr(attr, was.clone());
            let mut config = config_of(&prior);
            config.set_attr(attr, Value::Null);
            // Terraform proposes the prior value for an optional + computed attribute.
            let p = plan_of(prior.clone(), prior, config);
            assert_eq!(p.planned_state.get(attr), &default, "{attr}");
            assert!(p.planned_state.get("node_count").is_unknown(), "{attr}");
        }
    }

    #[test]
    fn back_to_timed_from_on_container_exit() {
        let mut prior = state();
        prior.set_attr("lifecycle_type", Value::from("OnContainerExit"));
        prior.set_attr("cooldown_period_in_seconds", Value::Null);
        prior.set_attr("max_alive_period_in_seconds", Value::from(600i64));
        let mut config = config_of(&prior);
        config.set_attr("lifecycle_type", Value::Null);
        config.set_attr("max_alive_period_in_seconds", Value::Null);
        let mut proposed = prior.clone();
        proposed.set_attr("max_alive_period_in_seconds", Value::Null);
        let p = plan_of(prior, proposed, config).planned_state;
        assert_eq!(p.get("lifecycle_type"), &Value::from("Timed"));
        assert_eq!(p.get("cooldown_period_in_seconds"), &Value::from(300i64));
        assert!(p.get("max_alive_period_in_seconds").is_null());
    }

    #[test]
    fn timeouts_never_plan_a_change_and_travel_in_private() {
        let mut config = config_of(&state());
        config.set_attr(
            "timeouts",
            Value::object([
                ("create", Value::from("2h")),
                ("read", Value::Null),
                ("update", Value::Null),
                ("delete", Value::from("45m")),
            ]),
        );
        let mut proposed = state();
        proposed.set_attr("timeouts", config.get("timeouts").clone());
        let p = plan_of(state(), proposed, config);
        assert_eq!(p.planned_state, state());
        let t = Timeouts::from_private(&p.planned_private);
        assert_eq!(t.delete.as_str(), Some("45m"));
    }

    #[test]
    fn new_secrets_need_a_value_known_ones_may_leave_it_out() {
        let secret = |name: &str| {
            Value::List(vec![Value::object([
                ("name", Value::from(name)),
                ("value", Value::Null),
                ("value_wo", Value::Null),
                ("value_wo_version", Value::Null),
            ])])
        };
        let mut prior = state();
        prior.set_attr("secret", secret("token"));
        let config = config_of(&prior);
        assert!(plan(&PlanRequest {
            prior_state: prior.clone(),
            proposed_new_state: prior.clone(),
            config: config.clone(),
            ..Default::default()
        })
        .is_ok());
        let e = plan(&PlanRequest {
            prior_state: Value::Null,
            proposed_new_state: config.clone(),
            config,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.iter()
                .next()
                .unwrap()
                .path
                .as_ref()
                .map(ToString::to_string),
            Some("secret[0].value".to_string())
        );
    }
}

//! Schema-driven planning helpers: the default plan of [`Resource::plan`] and the write-only
//! nulling the server applies to every state it returns.
//!
//! [`Resource::plan`]: super::provider::Resource::plan

use super::path::AttributePath;
use super::provider::{PlanRequest, Planned};
use super::schema::{AttributeType, Block, BlockNesting, Schema};
use super::value::Value;

/// The default plan:
/// - destroy (proposed null) plans null;
/// - create: Terraform's proposal with every computed attribute that is null in config made
///   unknown (the provider decides it during apply), also inside nested blocks;
/// - attributes with a schema default that the configuration leaves out plan that default
///   (on create and on update: removing one from the configuration plans the change back);
/// - update: Terraform's proposal as is (computed attributes keep their prior value);
/// - `requires_replace`: every `force_new` path whose value changes (or is unknown);
/// - private data is carried over.
pub fn default_plan(schema: &Schema, req: &PlanRequest) -> Planned {
    if req.proposed_new_state.is_null() {
        return Planned::default();
    }
    let mut planned = req.proposed_new_state.clone();
    plan_defaults(&schema.block, &req.config, &mut planned);
    let mut requires_replace = Vec::new();
    if req.prior_state.is_null() {
        mark_computed_unknown(&schema.block, &req.config, &mut planned);
    } else {
        for path in schema.force_new_paths() {
            let (before, after) = (req.prior_state.at(&path), planned.at(&path));
            if before != after || !after.is_wholly_known() {
                requires_replace.push(path);
            }
        }
    }
    Planned {
        planned_state: planned,
        requires_replace,
        planned_private: req.prior_private.clone(),
    }
}

/// Sets every attribute that has a schema default and is null in `config` to that default in
/// `planned`, also inside nested blocks (list blocks matched by index, single blocks; set
/// elements cannot be matched to their configuration and are left as proposed).
pub fn plan_defaults(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) || config.is_unknown() {
        return;
    }
    for a in &block.attributes {
        if let Some(d) = &a.default {
            if config.get(&a.name).is_null() {
                planned.set_attr(&a.name, d.clone());
            }
        }
    }
    for b in &block.blocks {
        let cfg = config.get(&b.type_name);
        let Some(target) = planned.at_mut(&AttributePath::attr(&b.type_name)) else {
            continue;
        };
        match (b.nesting, target) {
            (BlockNesting::Single | BlockNesting::Group, t) => plan_defaults(&b.block, cfg, t),
            (BlockNesting::List, Value::List(items)) => {
                let cfg_items = cfg.as_list().unwrap_or(&[]);
                for (it, c) in items.iter_mut().zip(cfg_items) {
                    plan_defaults(&b.block, c, it);
                }
            }
            _ => {}
        }
    }
}

/// Sets computed attributes that are null in `config` to unknown in `planned`.
pub fn mark_computed_unknown(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for a in &block.attributes {
        if a.computed && config.get(&a.name).is_null() {
            planned.set_attr(&a.name, Value::unknown());
        }
    }
    for b in &block.blocks {
        let cfg = config.get(&b.type_name);
        let Some(target) = planned.at_mut(&AttributePath::attr(&b.type_name)) else {
            continue;
        };
        match (b.nesting, target) {
            (BlockNesting::Single | BlockNesting::Group, t) => {
                mark_computed_unknown(&b.block, cfg, t);
            }
            (BlockNesting::List, Value::List(items)) => {
                let cfg_items = cfg.as_list().unwrap_or(&[]);
                for (i, it) in items.iter_mut().enumerate() {
                    let c = cfg_items.get(i).cloned().unwrap_or_default();
                    mark_computed_unknown(&b.block, &c, it);
                }
            }
            (BlockNesting::Map, Value::Map(items)) => {
                for (k, it) in items.iter_mut() {
                    mark_computed_unknown(&b.block, cfg.get(k), it);
                }
            }
            // Set elements cannot be matched to their config; leave them as proposed.
            _ => {}
        }
    }
}

/// Nulls every write-only attribute in `v` (state values must never contain them).
pub fn null_write_only(block: &Block, v: &mut Value) {
    let Value::Object(m) = v else { return };
    for a in &block.attributes {
        if a.write_only {
            if let Some(x) = m.get_mut(&a.name) {
                *x = Value::Null;
            }
        } else if let (AttributeType::Nested(n), Some(x)) = (&a.ty, m.get_mut(&a.name)) {
            let inner = Block {
                attributes: n.attributes.clone(),
                ..Block::default()
            };
            for_each_object(x, |o| null_write_only(&inner, o));
        }
    }
    for b in &block.blocks {
        if let Some(x) = m.get_mut(&b.type_name) {
            for_each_object(x, |o| null_write_only(&b.block, o));
        }
    }
}

fn for_each_object(v: &mut Value, mut f: impl FnMut(&mut Value)) {
    match v {
        Value::Object(_) => f(v),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            items.iter_mut().for_each(&mut f)
        }
        Value::Map(m) => m.values_mut().for_each(&mut f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::schema::{Attribute, NestedBlock};

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new()
                .attribute(Attribute::string("name").required().force_new())
                .attribute(Attribute::string("id").computed())
                .attribute(Attribute::string("pw").optional().write_only())
                .block(NestedBlock::list(
                    "c",
                    Block::new()
                        .attribute(Attribute::string("img").required())
                        .attribute(Attribute::string("digest").computed())
                        .attribute(Attribute::string("token").optional().write_only()),
                )),
        )
    }

    fn obj(name: &str) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("id", Value::Null),
            ("pw", Value::from("secret")),
            (
                "c",
                Value::List(vec![Value::object([
                    ("img", Value::from("i")),
                    ("digest", Value::Null),
                    ("token", Value::from("t")),
                ])]),
            ),
        ])
    }

    #[test]
    fn create_marks_computed_unknown_everywhere() {
        let req = PlanRequest {
            proposed_new_state: obj("a"),
            config: obj("a"),
            ..Default::default()
        };
        let p = default_plan(&schema(), &req);
        assert!(p.planned_state.get("id").is_unknown());
        let c0 = p.planned_state.at(&AttributePath::attr("c").index(0));
        assert!(c0.get("digest").is_unknown());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn update_lists_changed_force_new() {
        let mut prior = obj("a");
        prior.set_attr("id", Value::from("x"));
        let mut proposed = obj("b");
        proposed.set_attr("id", Value::from("x"));
        let req = PlanRequest {
            prior_state: prior,
            proposed_new_state: proposed,
            config: obj("b"),
            ..Default::default()
        };
        let p = default_plan(&schema(), &req);
        assert_eq!(p.requires_replace, vec![AttributePath::attr("name")]);
        assert_eq!(p.planned_state.get("id").as_str(), Some("x"));
    }

    #[test]
    fn defaults_are_planned_when_config_leaves_them_out() {
        let schema = Schema::new(
            0,
            Block::new()
                .attribute(Attribute::bool("egress").default_value(Value::from(false)))
                .block(NestedBlock::list(
                    "probe",
                    Block::new()
                        .attribute(Attribute::number("period").default_value(Value::from(10))),
                )),
        );
        let prior = Value::object([
            ("egress", Value::from(true)),
            (
                "probe",
                Value::List(vec![Value::object([("period", Value::from(20))])]),
            ),
        ]);
        let config = Value::object([
            ("egress", Value::Null),
            (
                "probe",
                Value::List(vec![Value::object([("period", Value::Null)])]),
            ),
        ]);
        // Terraform proposes the prior value for an optional + computed attribute left out.
        let req = PlanRequest {
            prior_state: prior.clone(),
            proposed_new_state: prior,
            config,
            ..Default::default()
        };
        let p = default_plan(&schema, &req).planned_state;
        assert_eq!(p.get("egress"), &Value::from(false));
        assert_eq!(
            p.at(&AttributePath::attr("probe").index(0)).get("period"),
            &Value::from(10)
        );
    }

    #[test]
    fn write_only_is_nulled_recursively() {
        let mut v = obj("a");
        null_write_only(&schema().block, &mut v);
        assert!(v.get("pw").is_null());
        assert!(v
            .at(&AttributePath::attr("c").index(0))
            .get("token")
            .is_null());
        assert_eq!(v.get("name").as_str(), Some("a"));
    }
}

//! Data source `azuresessions_session_pool`: reads an existing pool by `name` +
//! `resource_group_name`, or by `id`. Its attributes mirror the resource's (secrets excluded),
//! all computed; nested blocks become computed nested attributes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::azure::config::AzureClients;
use crate::azure::ids::SessionPoolId;
use crate::azure::models::session_pool::{SessionPool as ArmPool, API_VERSION};
use crate::azure::OpContext;
use crate::plugin::model::Model;
use crate::plugin::prelude::*;
use crate::plugin::schema::{
    Attribute, AttributeType, Block, BlockNesting, NestedAttributes, ObjectNesting,
};
use crate::resources::session_pool::model::SessionPool;
use crate::resources::session_pool::{flatten, schema as pool_schema, target_to_path};
use crate::resources::support::{azure_diag, Checker};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_session_pool";

/// Blocks and attributes of the resource that the data source leaves out.
const SKIP: &[&str] = &[SessionPool::SECRET, SessionPool::TIMEOUTS];

/// The data source.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionPoolDataSource;

/// Turns a block's content into computed attributes (nested blocks -> nested attributes).
pub fn computed_attributes(block: &Block, skip: &[&str]) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = block
        .attributes
        .iter()
        .filter(|a| !skip.contains(&a.name.as_str()) && !a.write_only)
        .map(|a| {
            let mut a = a.clone();
            a.required = false;
            a.optional = false;
            a.computed = true;
            a.force_new = false;
            a.default = None;
            a
        })
        .collect();
    for b in block
        .blocks
        .iter()
        .filter(|b| !skip.contains(&b.type_name.as_str()))
    {
        let nesting = match b.nesting {
            BlockNesting::Set => ObjectNesting::Set,
            BlockNesting::Map => ObjectNesting::Map,
            _ => ObjectNesting::List,
        };
        let mut a = Attribute::nested(
            b.type_name.clone(),
            nesting,
            computed_attributes(&b.block, &[]),
        )
        .computed()
        .description(b.block.description.clone());
        if let AttributeType::Nested(NestedAttributes { .. }) = &a.ty {
            a.force_new = false;
        }
        out.push(a);
    }
    out
}

/// The schema.
pub fn schema() -> Schema {
    let resource = pool_schema::schema();
    let mut block = Block::new().description(
        "Reads an existing session pool, by `name` and `resource_group_name` or by `id`.",
    );
    for mut a in computed_attributes(&resource.block, SKIP) {
        if a.name == SessionPool::ID {
            a.optional = true;
            a.description =
                "ARM id of the pool. Set this, or `name` and `resource_group_name`.".into();
        } else if a.name == SessionPool::NAME || a.name == SessionPool::RESOURCE_GROUP_NAME {
            a.optional = true;
        }
        block = block.attribute(a);
    }
    Schema::new(0, block)
}

fn lookup_id(clients: &AzureClients, config: &Value) -> TfResult<SessionPoolId> {
    if let Some(id) = config.get(SessionPool::ID).as_str() {
        return SessionPoolId::parse(id).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error("Invalid `id`", e).at(AttributePath::attr(SessionPool::ID)),
            )
        });
    }
    let name = config.require_str(SessionPool::NAME)?;
    let rg = config.require_str(SessionPool::RESOURCE_GROUP_NAME)?;
    Ok(SessionPoolId::new(&clients.subscription_id, rg, name))
}

#[async_trait]
impl DataSource for SessionPoolDataSource {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        let mut c = Checker::new();
        let id = config.get(SessionPool::ID);
        let (name, rg) = (
            config.get(SessionPool::NAME),
            config.get(SessionPool::RESOURCE_GROUP_NAME),
        );
        if id.is_null()
            && (name.is_null() || rg.is_null())
            && !name.is_unknown()
            && !rg.is_unknown()
        {
            c.error(
                &AttributePath::attr(SessionPool::NAME),
                "Missing pool reference",
                "Set `id`, or both `name` and `resource_group_name`.",
            );
        }
        if !id.is_null() && !id.is_unknown() && (!name.is_null() || !rg.is_null()) {
            c.error(
                &AttributePath::attr(SessionPool::ID),
                "Conflicting pool reference",
                "Set either `id` or `name` + `resource_group_name`, not both.",
            );
        }
        c.finish()
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> TfResult<Value> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = lookup_id(&clients, &config)?;
        let o = OpContext::new(ctx.stop_token().clone(), Duration::from_secs(300));
        let answer = clients
            .arm
            .get(&o, &id.path(), API_VERSION)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to read session pool {}", id.name),
                    &e,
                    &target_to_path,
                )
            })?;
        let Some(answer) = answer else {
            return Err(Diagnostic::error(
                "Session pool not found",
                format!("No session pool {id} exists; check `name`, `resource_group_name` and the subscription."),
            )
            .into());
        };
        let remote: ArmPool = serde_json::from_value(answer).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Unexpected session pool response",
                e.to_string(),
            ))
        })?;
        let full = flatten::flatten(
            &remote,
            &SessionPool::default(),
            &id.path(),
            &id.name,
            &id.resource_group,
        )
        .encode();
        let Value::Object(mut m) = full else {
            return Ok(Value::Null);
        };
        for k in SKIP {
            m.remove(*k);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid_and_all_computed() {
        let s = schema();
        s.validate().unwrap();
        assert!(s.block.blocks.is_empty());
        assert!(s.block.attributes.iter().all(|a| a.computed && !a.required));
        assert!(s
            .block
            .attributes
            .iter()
            .all(|a| a.name != "secret" && a.name != "timeouts"));
        assert!(s
            .block
            .attributes
            .iter()
            .any(|a| a.name == "custom_container_template"));
    }
}

//! Seeds the well-known defaults ([`crate::defaults`]) into a fresh store: the resource
//! group, the managed environment and the Log Analytics workspace. Runs once per data dir
//! (the `meta` key `seeded` records it); resources deleted later stay deleted.

use serde_json::{json, Value};

use super::tracked::build_body;
use super::{environments, lookup, resource_groups, workspaces};
use crate::defaults;
use crate::state::AppState;
use sessions_runtime::id::ResourceId;
use sessions_runtime::store::{resources, ResourceRecord, StoreError};

/// Seeds the defaults unless already done for this store.
pub fn seed_defaults(state: &AppState) -> Result<(), StoreError> {
    let store = state.store();
    if store.meta_get("seeded")?.is_some() {
        return Ok(());
    }
    let now = state.now();
    let rg_id = defaults::resource_group_id();
    let rg = resource_groups::body(
        &rg_id,
        defaults::RESOURCE_GROUP,
        defaults::LOCATION,
        None,
        None,
    );
    let req = json!({"location": defaults::LOCATION, "tags": {}, "properties": {}});
    let req = req.as_object().cloned().unwrap_or_default();
    let env_id = defaults::environment_id();
    let env = build_body(
        &environments::TYPE,
        &env_id,
        defaults::ENVIRONMENT,
        &req,
        None,
        None,
        now,
    )
    .map_err(|e| StoreError::Task(e.to_string()))?;
    let ws_id = defaults::workspace_id();
    let mut ws = build_body(
        &workspaces::TYPE,
        &ws_id,
        defaults::WORKSPACE,
        &req,
        None,
        None,
        now,
    )
    .map_err(|e| StoreError::Task(e.to_string()))?;
    ws["properties"]["customerId"] = Value::String(defaults::WORKSPACE_CUSTOMER_ID.into());
    let id = |s: &str| ResourceId::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()));
    let records = [
        ResourceRecord::new(id(&rg_id)?, lookup::RESOURCE_GROUP_TYPE, rg, now),
        ResourceRecord::new(id(&env_id)?, lookup::ENVIRONMENT_TYPE, env, now),
        ResourceRecord::new(id(&ws_id)?, lookup::WORKSPACE_TYPE, ws, now),
    ];
    store.call_blocking(move |c| {
        let tx = c.transaction()?;
        for r in &records {
            resources::put(&tx, r)?;
        }
        sessions_runtime::store::schema::meta_set(&tx, "seeded", "1")?;
        tx.commit()?;
        Ok(())
    })
}

//! From ARM resources to log routes: which workspace tables receive the rows of which
//! environment's pools, and which workspaces receive which pool's metric samples.
//!
//! Read from the store on every change of the resources (diagnostic settings, environments,
//! workspaces, anything deleted with them):
//!
//! - A diagnostic setting on a managed environment with `workspaceId` naming an existing
//!   workspace sends, for each enabled entry of `logs[]`, the rows of that category:
//!   `AppEnvSessionConsoleLogs` -> `AppEnvSessionConsoleLogs`, `AppEnvSessionLifeCycleLogs` ->
//!   `AppEnvSessionLifecycleLogs`, `AppEnvSessionPoolEventLogs` -> `AppEnvSessionPoolEventLogs`;
//!   `categoryGroup: allLogs` stands for all three. The environment's other categories are
//!   accepted by the settings API but feed no table here (the emulator has no container apps).
//! - A diagnostic setting on a session pool with `metrics[]` `AllMetrics` enabled sends the
//!   pool's metric samples to the workspace's `AzureMetrics`.
//! - An environment whose `appLogsConfiguration.destination` is `log-analytics` sends its
//!   pools' console lines to `AppEnvSessionConsoleLogs_CL` of the workspace whose
//!   `customerId` is `logAnalyticsConfiguration.customerId`.
//!
//! [`ensure_fresh`] rebuilds when the store's resource counter moved since the last build;
//! ARM calls it after every write, so a setting routes rows from the moment its PUT answers
//! and stops the moment its DELETE (or a PUT disabling it) answers.

use serde_json::Value;
use sessions_runtime::id::ResourceId;
use sessions_runtime::logstore::routes::{RouteTableBuilder, StreamKind, Table};
use sessions_runtime::logstore::LogStore;
use sessions_runtime::store::{ListFilter, StoreError};

use crate::state::AppState;

/// Resource type of diagnostic settings.
pub const DIAGNOSTIC_SETTINGS_TYPE: &str = "Microsoft.Insights/diagnosticSettings";
/// Resource type of workspaces.
pub const WORKSPACE_TYPE: &str = "Microsoft.OperationalInsights/workspaces";
/// Resource type of managed environments.
pub const ENVIRONMENT_TYPE: &str = "Microsoft.App/managedEnvironments";
/// Resource type of session pools.
pub const POOL_TYPE: &str = "Microsoft.App/sessionPools";
/// Retention of a workspace without `retentionInDays`.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

/// The log store of `state` (every emulator built by the wiring has one).
pub fn logs(state: &AppState) -> Option<&LogStore> {
    state.pools().logs()
}

/// Rebuilds the routes if any resource changed since they were built.
pub async fn ensure_fresh(state: &AppState) -> Result<(), StoreError> {
    let Some(logs) = logs(state) else {
        return Ok(());
    };
    if !logs.routes_stale() {
        return Ok(());
    }
    let _guard = logs.rebuild_lock().await;
    if !logs.routes_stale() {
        return Ok(());
    }
    let from = state.store().resource_changes();
    let builder = build(state).await?;
    logs.install_routes(builder, from);
    Ok(())
}

/// Case-insensitive property of a JSON object.
fn prop<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    prop(v, key).and_then(Value::as_str)
}

/// A workspace's `customerId` and retention from its stored body.
pub fn workspace_facts(body: &Value) -> Option<(String, i64)> {
    let props = prop(body, "properties")?;
    let customer = text(props, "customerId")?.to_ascii_lowercase();
    let days = prop(props, "retentionInDays")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    Some((customer, days))
}

/// The streams an enabled `logs[]` entry of an environment setting covers.
fn streams_of(entry: &Value) -> Vec<(StreamKind, Table)> {
    let enabled = prop(entry, "enabled").and_then(Value::as_bool) == Some(true);
    if !enabled {
        return Vec::new();
    }
    let all = vec![
        (StreamKind::Console, Table::Console),
        (StreamKind::Lifecycle, Table::Lifecycle),
        (StreamKind::PoolEvents, Table::PoolEvents),
    ];
    if let Some(group) = text(entry, "categoryGroup") {
        return if group.eq_ignore_ascii_case("allLogs") {
            all
        } else {
            Vec::new()
        };
    }
    let Some(category) = text(entry, "category") else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|(_, t)| sessions_kql::tables::table_for_category(category) == Some(t.name()))
        .collect()
}

async fn build(state: &AppState) -> Result<RouteTableBuilder, StoreError> {
    let store = state.store();
    let mut b = RouteTableBuilder::new();
    // ARM key of each workspace -> customerId.
    let mut by_arm_id = std::collections::HashMap::new();
    for ws in store
        .list_resources(ListFilter::of_type(WORKSPACE_TYPE), None, None)
        .await?
    {
        if let Some((customer, days)) = workspace_facts(&ws.body) {
            b.workspace(&customer, days);
            by_arm_id.insert(ws.id.key().to_string(), customer);
        }
    }
    let customers: std::collections::HashSet<String> = by_arm_id.values().cloned().collect();
    for env in store
        .list_resources(ListFilter::of_type(ENVIRONMENT_TYPE), None, None)
        .await?
    {
        let Some(cfg) = prop(&env.body, "properties").and_then(|p| prop(p, "appLogsConfiguration"))
        else {
            continue;
        };
        let to_la =
            text(cfg, "destination").is_some_and(|d| d.eq_ignore_ascii_case("log-analytics"));
        let customer = prop(cfg, "logAnalyticsConfiguration")
            .and_then(|c| text(c, "customerId"))
            .map(str::to_ascii_lowercase);
        if let (true, Some(customer)) = (to_la, customer) {
            if customers.contains(&customer) {
                b.environment_route(
                    env.id.key(),
                    StreamKind::Console,
                    &customer,
                    Table::ConsoleCustom,
                );
            }
        }
    }
    for setting in store
        .list_resources(ListFilter::of_type(DIAGNOSTIC_SETTINGS_TYPE), None, None)
        .await?
    {
        let Some(target) = setting.parent_id.clone().or_else(|| setting.id.parent()) else {
            continue;
        };
        let Some(props) = prop(&setting.body, "properties") else {
            continue;
        };
        let Some(customer) = text(props, "workspaceId")
            .and_then(|w| ResourceId::parse(w).ok())
            .and_then(|w| by_arm_id.get(w.key()).cloned())
        else {
            continue;
        };
        if target.is_type(ENVIRONMENT_TYPE) {
            for entry in prop(props, "logs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (stream, table) in streams_of(entry) {
                    b.environment_route(target.key(), stream, &customer, table);
                }
            }
        } else if target.is_type(POOL_TYPE) {
            let metrics_on = prop(props, "metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|m| {
                    prop(m, "enabled").and_then(Value::as_bool) == Some(true)
                        && text(m, "category").is_some_and(|c| c.eq_ignore_ascii_case("AllMetrics"))
                });
            if metrics_on {
                b.pool_metrics_route(target.key(), &customer);
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn categories_and_groups() {
        let s = |v: Value| {
            streams_of(&v)
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            s(json!({"category": "AppEnvSessionLifeCycleLogs", "enabled": true})),
            [Table::Lifecycle]
        );
        assert_eq!(
            s(json!({"category": "appenvsessionconsolelogs", "enabled": true})),
            [Table::Console]
        );
        assert!(s(json!({"category": "AppEnvSessionConsoleLogs", "enabled": false})).is_empty());
        assert!(s(json!({"category": "ContainerAppConsoleLogs", "enabled": true})).is_empty());
        assert_eq!(
            s(json!({"categoryGroup": "allLogs", "enabled": true})).len(),
            3
        );
        assert!(s(json!({"categoryGroup": "audit", "enabled": true})).is_empty());
    }

    #[test]
    fn workspace_bodies() {
        assert_eq!(
            workspace_facts(&json!({"properties": {"customerId": "ABC", "retentionInDays": 7}})),
            Some(("abc".into(), 7))
        );
        assert_eq!(
            workspace_facts(&json!({"properties": {"customerId": "abc"}})),
            Some(("abc".into(), DEFAULT_RETENTION_DAYS))
        );
        assert_eq!(workspace_facts(&json!({})), None);
    }
}

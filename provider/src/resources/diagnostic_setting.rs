//! `azuresessions_diagnostic_setting`: a `Microsoft.Insights/diagnosticSettings` resource
//! (api-version 2021-05-01-preview) sending logs and metrics to Log Analytics. Session logs
//! are configured on the managed environment; pools export `AllMetrics`.
//!
//! Terraform id and import id: `{target_resource_id}|{name}` (as azurerm).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::azure::config::AzureClients;
use crate::azure::ids::{ids_equal, DiagnosticSettingId};
use crate::azure::models::diagnostic_setting as m;
use crate::azure::OpContext;
use crate::plugin::prelude::*;
use crate::plugin::schema::{Attribute, Block, NestedBlock};
use crate::resources::support::{azure_diag, elems, no_path, Checker};
use crate::resources::timeouts::{self, Defaults};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_diagnostic_setting";

const DEFAULTS: Defaults = Defaults {
    create: Duration::from_secs(1800),
    read: Duration::from_secs(300),
    update: Duration::from_secs(1800),
    delete: Duration::from_secs(1800),
};

/// The resource.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiagnosticSettingResource;

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new()
            .description(
                "A diagnostic setting that exports a resource's logs and metrics to a Log Analytics \
                 workspace. Session console, lifecycle and pool-event logs are categories of the \
                 managed environment (`AppEnvSessionConsoleLogs`, `AppEnvSessionLifeCycleLogs`, \
                 `AppEnvSessionPoolEventLogs`); session pools export `AllMetrics`.",
            )
            .attribute(Attribute::string("id").computed().description("`{target_resource_id}|{name}`."))
            .attribute(Attribute::string("name").required().force_new().description("Setting name."))
            .attribute(Attribute::string("target_resource_id").required().force_new().description("ARM id of the resource whose logs and metrics are exported."))
            .attribute(Attribute::string("log_analytics_workspace_id").required().description("ARM id of the Log Analytics workspace."))
            .attribute(Attribute::string("log_analytics_destination_type").optional().description("`Dedicated` (resource-specific tables) or `AzureDiagnostics`."))
            .block(NestedBlock::set(
                "enabled_log",
                Block::new()
                    .description("A log category (or category group) to export.")
                    .attribute(Attribute::string("category").optional().description("Category, e.g. `AppEnvSessionConsoleLogs`. Conflicts with `category_group`."))
                    .attribute(Attribute::string("category_group").optional().description("Category group, e.g. `allLogs`.")),
            ))
            .block(NestedBlock::set(
                "enabled_metric",
                Block::new()
                    .description("A metric category to export.")
                    .attribute(Attribute::string("category").required().description("Category, e.g. `AllMetrics`.")),
            ))
            .block(timeouts::block(&DEFAULTS)),
    )
}

/// Validates the configuration.
pub fn validate(config: &Value) -> TfResult<()> {
    let mut c = Checker::new();
    if let Some(t) = config.get("target_resource_id").as_str() {
        if !t.starts_with("/subscriptions/") {
            c.error(
                &AttributePath::attr("target_resource_id"),
                "Invalid value for `target_resource_id`",
                format!("`target_resource_id` must be an ARM resource id, got {t:?}."),
            );
        }
    }
    if let Some(n) = config.get("name").as_str() {
        if n.is_empty() || n.len() > 260 || n.contains(['/', '|', '?', '#', '%', '&', '\\']) {
            c.error(
                &AttributePath::attr("name"),
                "Invalid value for `name`",
                format!("`name` must be 1-260 characters without / | ? # % & \\, got {n:?}."),
            );
        }
    }
    if let Some(w) = config.get("log_analytics_workspace_id").as_str() {
        if !w
            .to_ascii_lowercase()
            .contains("/providers/microsoft.operationalinsights/workspaces/")
        {
            c.error(&AttributePath::attr("log_analytics_workspace_id"), "Invalid value for `log_analytics_workspace_id`", format!("`log_analytics_workspace_id` must be the ARM id of a Microsoft.OperationalInsights/workspaces resource, got {w:?}."));
        }
    }
    c.one_of(
        config.get("log_analytics_destination_type"),
        &AttributePath::attr("log_analytics_destination_type"),
        "log_analytics_destination_type",
        &["Dedicated", "AzureDiagnostics"],
    );
    let logs = config.get("enabled_log");
    let metrics = config.get("enabled_metric");
    if !logs.is_unknown()
        && !metrics.is_unknown()
        && elems(logs).is_empty()
        && elems(metrics).is_empty()
    {
        c.error(
            &AttributePath::root(),
            "Nothing to export",
            "Add at least one `enabled_log` or `enabled_metric` block.",
        );
    }
    for l in elems(logs) {
        let (cat, grp) = (l.get("category"), l.get("category_group"));
        if cat.is_unknown() || grp.is_unknown() {
            continue;
        }
        if cat.is_null() == grp.is_null() {
            c.error(
                &AttributePath::attr("enabled_log"),
                "Invalid `enabled_log`",
                "Each `enabled_log` needs exactly one of `category` or `category_group`.",
            );
        }
    }
    c.finish()
}

fn setting_id(state: &Value) -> TfResult<DiagnosticSettingId> {
    Ok(DiagnosticSettingId {
        target_resource_id: state.require_str("target_resource_id")?.to_string(),
        name: state.require_str("name")?.to_string(),
    })
}

fn expand(planned: &Value) -> m::DiagnosticSetting {
    let dest = planned
        .get("log_analytics_destination_type")
        .as_str()
        .filter(|d| *d == "Dedicated")
        .map(str::to_string);
    m::DiagnosticSetting {
        properties: m::DiagnosticSettingProperties {
            workspace_id: planned
                .get("log_analytics_workspace_id")
                .as_str()
                .map(str::to_string),
            log_analytics_destination_type: dest,
            logs: elems(planned.get("enabled_log"))
                .iter()
                .map(|l| m::LogSettings {
                    category: l.get("category").as_str().map(str::to_string),
                    category_group: l.get("category_group").as_str().map(str::to_string),
                    enabled: true,
                    retention_policy: m::RetentionPolicy::default(),
                })
                .collect(),
            metrics: elems(planned.get("enabled_metric"))
                .iter()
                .map(|x| m::MetricSettings {
                    category: x.get("category").as_str().map(str::to_string),
                    enabled: true,
                    retention_policy: m::RetentionPolicy::default(),
                })
                .collect(),
        },
        ..Default::default()
    }
}

fn keep_ci(prior: &[Value], attr: &str, remote: Option<&str>) -> Value {
    match remote {
        None => Value::Null,
        Some(r) => prior
            .iter()
            .filter_map(|p| p.get(attr).as_str())
            .find(|p| p.eq_ignore_ascii_case(r))
            .map(Value::from)
            .unwrap_or_else(|| Value::from(r)),
    }
}

/// Service answer -> state, keeping the prior spelling of ids and categories.
pub fn flatten(remote: &m::DiagnosticSetting, prior: &Value, id: &DiagnosticSettingId) -> Value {
    let p = &remote.properties;
    let prior_logs = elems(prior.get("enabled_log"));
    let prior_metrics = elems(prior.get("enabled_metric"));
    let logs: Vec<Value> = p
        .logs
        .iter()
        .filter(|l| l.enabled)
        .map(|l| {
            Value::object([
                (
                    "category",
                    keep_ci(prior_logs, "category", l.category.as_deref()),
                ),
                (
                    "category_group",
                    keep_ci(prior_logs, "category_group", l.category_group.as_deref()),
                ),
            ])
        })
        .collect();
    let metrics: Vec<Value> = p
        .metrics
        .iter()
        .filter(|x| x.enabled)
        .map(|x| {
            Value::object([(
                "category",
                keep_ci(prior_metrics, "category", x.category.as_deref()),
            )])
        })
        .collect();
    let ws = match (
        prior.get("log_analytics_workspace_id").as_str(),
        p.workspace_id.as_deref(),
    ) {
        (Some(a), Some(b)) if ids_equal(a, b) => Value::from(a),
        (_, b) => b.map(Value::from).unwrap_or(Value::Null),
    };
    let dest = match p.log_analytics_destination_type.as_deref() {
        Some(d) => Value::from(d),
        None if prior.get("log_analytics_destination_type").as_str()
            == Some("AzureDiagnostics") =>
        {
            Value::from("AzureDiagnostics")
        }
        None => Value::Null,
    };
    let target = match prior.get("target_resource_id").as_str() {
        Some(t) if ids_equal(t, &id.target_resource_id) => t.to_string(),
        _ => id.target_resource_id.clone(),
    };
    let tid = DiagnosticSettingId {
        target_resource_id: target.clone(),
        name: id.name.clone(),
    };
    Value::object([
        ("id", Value::from(tid.terraform_id())),
        ("name", Value::from(id.name.as_str())),
        ("target_resource_id", Value::from(target)),
        ("log_analytics_workspace_id", ws),
        ("log_analytics_destination_type", dest),
        ("enabled_log", Value::Set(logs)),
        ("enabled_metric", Value::Set(metrics)),
        ("timeouts", prior.get("timeouts").clone()),
    ])
}

fn op(ctx: &Ctx, state: &Value, which: &str) -> OpContext {
    OpContext::new(
        ctx.stop_token().clone(),
        timeouts::get(state, which, &DEFAULTS),
    )
}

impl DiagnosticSettingResource {
    async fn put(&self, ctx: &Ctx, planned: &Value, which: &str) -> TfResult<Value> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = setting_id(planned)?;
        let body = serde_json::to_value(expand(planned)).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot encode the diagnostic setting",
                e.to_string(),
            ))
        })?;
        let o = op(ctx, planned, which);
        let answer = clients
            .arm
            .put(&o, &id.path(), m::API_VERSION, &body)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to {which} diagnostic setting {}", id.name),
                    &e,
                    &no_path,
                )
            })?;
        let remote: m::DiagnosticSetting = if answer.is_null() {
            expand(planned)
        } else {
            serde_json::from_value(answer).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Unexpected diagnostic setting response",
                    e.to_string(),
                ))
            })?
        };
        let flat = flatten(&remote, planned, &id);
        Ok(crate::resources::session_pool::flatten::overlay_known(
            planned, flat,
        ))
    }
}

#[async_trait]
impl Resource for DiagnosticSettingResource {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        validate(config)
    }

    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = setting_id(&req.planned_state)?;
        let o = op(ctx, &req.planned_state, "create");
        match clients.arm.get(&o, &id.path(), m::API_VERSION).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                return Err(Diagnostic::error(
                    "Diagnostic setting already exists",
                    format!(
                        "A resource with the ID {} already exists - to be managed via Terraform this \
                         resource needs to be imported into the State: terraform import {TYPE_NAME}.<name> '{}'",
                        id.terraform_id(),
                        id.terraform_id()
                    ),
                )
                .at(AttributePath::attr("name"))
                .into())
            }
            Err(e) => return Err(azure_diag("Failed to check for an existing diagnostic setting", &e, &no_path)),
        }
        Ok(Applied::new(
            self.put(ctx, &req.planned_state, "create").await?,
        ))
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let state = &req.current_state;
        let id = match state.get("id").as_str().map(DiagnosticSettingId::parse) {
            Some(Ok(id)) => id,
            _ => setting_id(state)?,
        };
        let o = op(ctx, state, "read");
        let answer = clients
            .arm
            .get(&o, &id.path(), m::API_VERSION)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to read diagnostic setting {}", id.name),
                    &e,
                    &no_path,
                )
            })?;
        let Some(answer) = answer else {
            return Ok(ReadResult::gone());
        };
        let remote: m::DiagnosticSetting = serde_json::from_value(answer).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Unexpected diagnostic setting response",
                e.to_string(),
            ))
        })?;
        Ok(ReadResult::new(flatten(&remote, state, &id)))
    }

    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
        Ok(Applied::new(
            self.put(ctx, &req.planned_state, "update").await?,
        ))
    }

    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> TfResult<()> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = setting_id(&req.prior_state)?;
        let o = op(ctx, &req.prior_state, "delete");
        clients
            .arm
            .delete(&o, &id.path(), m::API_VERSION)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to delete diagnostic setting {}", id.name),
                    &e,
                    &no_path,
                )
            })
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> TfResult<Imported> {
        let id = DiagnosticSettingId::parse(id)
            .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid import id", e)))?;
        Ok(Imported {
            state: Value::object([
                ("id", Value::from(id.terraform_id())),
                ("name", Value::from(id.name.as_str())),
                (
                    "target_resource_id",
                    Value::from(id.target_resource_id.as_str()),
                ),
            ]),
            private: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/e";
    const WS: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w";

    fn cfg() -> Value {
        Value::object([
            ("name", Value::from("diag")),
            ("target_resource_id", Value::from(ENV)),
            ("log_analytics_workspace_id", Value::from(WS)),
            ("log_analytics_destination_type", Value::from("Dedicated")),
            (
                "enabled_log",
                Value::Set(vec![Value::object([
                    ("category", Value::from("AppEnvSessionConsoleLogs")),
                    ("category_group", Value::Null),
                ])]),
            ),
            ("enabled_metric", Value::Set(vec![])),
        ])
    }

    #[test]
    fn schema_and_validation() {
        schema().validate().unwrap();
        validate(&cfg()).unwrap();
        let mut bad = cfg();
        bad.set_attr("enabled_log", Value::Set(vec![]));
        assert!(validate(&bad).is_err());
        let mut bad = cfg();
        bad.set_attr(
            "log_analytics_workspace_id",
            Value::from("/subscriptions/s/x"),
        );
        let d = validate(&bad).unwrap_err();
        assert_eq!(
            d.iter().next().unwrap().path,
            Some(AttributePath::attr("log_analytics_workspace_id"))
        );
    }

    #[test]
    fn expand_flatten_round_trip() {
        let id = setting_id(&cfg()).unwrap();
        let body = expand(&cfg());
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["properties"]["logs"][0]["enabled"], true);
        let back = flatten(&body, &cfg(), &id);
        assert_eq!(back.get("enabled_log"), cfg().get("enabled_log"));
        assert_eq!(back.get("id"), &Value::from(format!("{ENV}|diag")));
    }
}

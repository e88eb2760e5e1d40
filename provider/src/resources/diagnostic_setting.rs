//! `azuresessions_diagnostic_setting`: a `Microsoft.Insights/diagnosticSettings` resource
//! (api-version 2021-05-01-preview) sending logs and metrics to Log Analytics. Session logs
//! are configured on the managed environment; pools export `AllMetrics`.
//!
//! Terraform id and import id: `{target_resource_id}|{name}` (as azurerm). The typed model
//! ([`DiagnosticSetting`]) is the schema; timeouts are write-only (see
//! [`crate::resources::timeouts`]).

use std::sync::Arc;

use async_trait::async_trait;

use crate::azure::config::AzureClients;
use crate::azure::ids::{ids_equal, DiagnosticSettingId};
use crate::azure::models::diagnostic_setting as m;
use crate::azure::OpContext;
use crate::plugin::model::{Model, Tf};
use crate::plugin::prelude::*;
use crate::resources::support::{azure_diag, no_path, Checker};
use crate::resources::timeouts::{Op, Timeouts, POOL_DEFAULTS as DEFAULTS};

/// Terraform type name.
pub const TYPE_NAME: &str = "azuresessions_diagnostic_setting";

/// The resource.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiagnosticSettingResource;

/// A diagnostic setting that exports a resource's logs and metrics to a Log Analytics
/// workspace. Session console, lifecycle and pool-event logs are categories of the managed
/// environment (`AppEnvSessionConsoleLogs`, `AppEnvSessionLifeCycleLogs`,
/// `AppEnvSessionPoolEventLogs`); session pools export `AllMetrics`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct DiagnosticSetting {
    /// `{target_resource_id}|{name}`.
    #[tf(computed)]
    pub id: Tf<String>,
    /// Setting name.
    #[tf(required, force_new)]
    pub name: Tf<String>,
    /// ARM id of the resource whose logs and metrics are exported.
    #[tf(required, force_new)]
    pub target_resource_id: Tf<String>,
    /// ARM id of the Log Analytics workspace.
    #[tf(required)]
    pub log_analytics_workspace_id: Tf<String>,
    /// `Dedicated` (resource-specific tables) or `AzureDiagnostics`.
    #[tf(optional)]
    pub log_analytics_destination_type: Tf<String>,
    /// A log category (or category group) to export.
    #[tf(block(set))]
    pub enabled_log: Tf<Vec<EnabledLog>>,
    /// A metric category to export.
    #[tf(block(set))]
    pub enabled_metric: Tf<Vec<EnabledMetric>>,
    /// Per-operation time limits.
    #[tf(block(group))]
    pub timeouts: Tf<Timeouts>,
}

/// The identity of a diagnostic setting (Terraform 1.12+ identity-based import).
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct DiagnosticSettingIdentity {
    /// ARM id of the resource the setting belongs to.
    #[tf(required)]
    pub target_resource_id: Tf<String>,
    /// Setting name.
    #[tf(required)]
    pub name: Tf<String>,
}

/// A log category (or category group) to export.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct EnabledLog {
    /// Category, e.g. `AppEnvSessionConsoleLogs`. Conflicts with `category_group`.
    #[tf(optional)]
    pub category: Tf<String>,
    /// Category group, e.g. `allLogs`.
    #[tf(optional)]
    pub category_group: Tf<String>,
}

/// A metric category to export.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct EnabledMetric {
    /// Category, e.g. `AllMetrics`.
    #[tf(required)]
    pub category: Tf<String>,
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(0, DiagnosticSetting::block())
}

fn at(name: &str) -> AttributePath {
    AttributePath::attr(name)
}

/// Validates the configuration.
pub fn validate(config: &Value) -> TfResult<()> {
    let d = DiagnosticSetting::from_value(config)?;
    let mut c = Checker::new();
    if let Some(t) = d.target_resource_id.as_str() {
        if !t.starts_with("/subscriptions/") {
            c.error(
                &at(DiagnosticSetting::TARGET_RESOURCE_ID),
                "Invalid value for `target_resource_id`",
                format!("`target_resource_id` must be an ARM resource id, got {t:?}."),
            );
        }
    }
    if let Some(n) = d.name.as_str() {
        if n.is_empty() || n.len() > 260 || n.contains(['/', '|', '?', '#', '%', '&', '\\']) {
            c.error(
                &at(DiagnosticSetting::NAME),
                "Invalid value for `name`",
                format!("`name` must be 1-260 characters without / | ? # % & \\, got {n:?}."),
            );
        }
    }
    if let Some(w) = d.log_analytics_workspace_id.as_str() {
        if !w
            .to_ascii_lowercase()
            .contains("/providers/microsoft.operationalinsights/workspaces/")
        {
            c.error(&at(DiagnosticSetting::LOG_ANALYTICS_WORKSPACE_ID), "Invalid value for `log_analytics_workspace_id`", format!("`log_analytics_workspace_id` must be the ARM id of a Microsoft.OperationalInsights/workspaces resource, got {w:?}."));
        }
    }
    c.one_of_tf(
        &d.log_analytics_destination_type,
        &at(DiagnosticSetting::LOG_ANALYTICS_DESTINATION_TYPE),
        DiagnosticSetting::LOG_ANALYTICS_DESTINATION_TYPE,
        &["Dedicated", "AzureDiagnostics"],
    );
    let (logs, metrics) = (&d.enabled_log, &d.enabled_metric);
    if !logs.is_unknown()
        && !metrics.is_unknown()
        && logs.items().is_empty()
        && metrics.items().is_empty()
    {
        c.error(
            &AttributePath::root(),
            "Nothing to export",
            "Add at least one `enabled_log` or `enabled_metric` block.",
        );
    }
    for l in logs.items() {
        let (cat, grp) = (&l.category, &l.category_group);
        if cat.is_unknown() || grp.is_unknown() {
            continue;
        }
        if cat.is_null() == grp.is_null() {
            c.error(
                &at(DiagnosticSetting::ENABLED_LOG),
                "Invalid `enabled_log`",
                "Each `enabled_log` needs exactly one of `category` or `category_group`.",
            );
        }
    }
    if let Tf::Known(t) = &d.timeouts {
        for e in t.validate(&at(DiagnosticSetting::TIMEOUTS)) {
            c.push(e);
        }
    }
    c.finish()
}

fn setting_id(d: &DiagnosticSetting) -> TfResult<DiagnosticSettingId> {
    if let Some(Ok(id)) = d.id.as_str().map(DiagnosticSettingId::parse) {
        return Ok(id);
    }
    match (d.target_resource_id.as_str(), d.name.as_str()) {
        (Some(t), Some(n)) => Ok(DiagnosticSettingId {
            target_resource_id: t.to_string(),
            name: n.to_string(),
        }),
        _ => Err(Diagnostic::error(
            "Diagnostic setting not identified",
            "`target_resource_id` and `name` must be known to address the setting.",
        )
        .into()),
    }
}

fn s(v: &Tf<String>) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn expand(planned: &DiagnosticSetting) -> m::DiagnosticSetting {
    let dest = planned
        .log_analytics_destination_type
        .as_str()
        .filter(|d| *d == "Dedicated")
        .map(str::to_string);
    m::DiagnosticSetting {
        properties: m::DiagnosticSettingProperties {
            workspace_id: s(&planned.log_analytics_workspace_id),
            log_analytics_destination_type: dest,
            logs: planned
                .enabled_log
                .items()
                .iter()
                .map(|l| m::LogSettings {
                    category: s(&l.category),
                    category_group: s(&l.category_group),
                    enabled: true,
                    retention_policy: m::RetentionPolicy::default(),
                })
                .collect(),
            metrics: planned
                .enabled_metric
                .items()
                .iter()
                .map(|x| m::MetricSettings {
                    category: s(&x.category),
                    enabled: true,
                    retention_policy: m::RetentionPolicy::default(),
                })
                .collect(),
        },
        ..Default::default()
    }
}

/// The remote value, or the prior spelling of it when they differ only in case.
fn keep_ci<'a>(prior: impl Iterator<Item = &'a Tf<String>>, remote: Option<&str>) -> Tf<String> {
    let Some(r) = remote else {
        return Tf::Null;
    };
    prior
        .filter_map(Tf::as_str)
        .find(|p| p.eq_ignore_ascii_case(r))
        .map(Tf::from)
        .unwrap_or_else(|| Tf::from(r))
}

/// Service answer -> model, keeping the prior spelling of ids and categories.
pub fn flatten(
    remote: &m::DiagnosticSetting,
    prior: &DiagnosticSetting,
    id: &DiagnosticSettingId,
) -> DiagnosticSetting {
    let p = &remote.properties;
    let logs = p
        .logs
        .iter()
        .filter(|l| l.enabled)
        .map(|l| EnabledLog {
            category: keep_ci(
                prior.enabled_log.items().iter().map(|x| &x.category),
                l.category.as_deref(),
            ),
            category_group: keep_ci(
                prior.enabled_log.items().iter().map(|x| &x.category_group),
                l.category_group.as_deref(),
            ),
        })
        .collect();
    let metrics = p
        .metrics
        .iter()
        .filter(|x| x.enabled)
        .map(|x| EnabledMetric {
            category: keep_ci(
                prior.enabled_metric.items().iter().map(|x| &x.category),
                x.category.as_deref(),
            ),
        })
        .collect();
    let ws = match (
        prior.log_analytics_workspace_id.as_str(),
        p.workspace_id.as_deref(),
    ) {
        (Some(a), Some(b)) if ids_equal(a, b) => Tf::from(a),
        (_, b) => Tf::from_option(b.map(str::to_string)),
    };
    let dest = match p.log_analytics_destination_type.as_deref() {
        Some(d) => Tf::from(d),
        None if prior.log_analytics_destination_type.as_str() == Some("AzureDiagnostics") => {
            Tf::from("AzureDiagnostics")
        }
        None => Tf::Null,
    };
    let target = match prior.target_resource_id.as_str() {
        Some(t) if ids_equal(t, &id.target_resource_id) => t.to_string(),
        _ => id.target_resource_id.clone(),
    };
    let tid = DiagnosticSettingId {
        target_resource_id: target.clone(),
        name: id.name.clone(),
    };
    DiagnosticSetting {
        id: Tf::Known(tid.terraform_id()),
        name: Tf::Known(id.name.clone()),
        target_resource_id: Tf::Known(target),
        log_analytics_workspace_id: ws,
        log_analytics_destination_type: dest,
        enabled_log: Tf::Known(logs),
        enabled_metric: Tf::Known(metrics),
        timeouts: Timeouts::state_value(),
    }
}

fn op(ctx: &Ctx, timeouts: &Timeouts, which: Op) -> OpContext {
    OpContext::new(ctx.stop_token().clone(), timeouts.get(which, &DEFAULTS))
}

fn configured_timeouts(config: &Value) -> TfResult<Timeouts> {
    Ok(DiagnosticSetting::from_value(config)?
        .timeouts
        .into_known()
        .unwrap_or_default())
}

impl DiagnosticSettingResource {
    async fn put(
        &self,
        ctx: &Ctx,
        req_planned: &Value,
        config: &Value,
        which: Op,
    ) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let planned = DiagnosticSetting::from_value(req_planned)?;
        let timeouts = configured_timeouts(config)?;
        let id = setting_id(&planned)?;
        let body = serde_json::to_value(expand(&planned)).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot encode the diagnostic setting",
                e.to_string(),
            ))
        })?;
        let o = op(ctx, &timeouts, which);
        let verb = if which == Op::Create {
            "create"
        } else {
            "update"
        };
        let answer = clients
            .arm
            .put(&o, &id.path(), m::API_VERSION, &body)
            .await
            .map_err(|e| {
                azure_diag(
                    format!("Failed to {verb} diagnostic setting {}", id.name),
                    &e,
                    &no_path,
                )
            })?;
        let remote: m::DiagnosticSetting = if answer.is_null() {
            expand(&planned)
        } else {
            serde_json::from_value(answer).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Unexpected diagnostic setting response",
                    e.to_string(),
                ))
            })?
        };
        let flat = flatten(&remote, &planned, &id).encode();
        let mut applied = Applied::new(crate::resources::session_pool::flatten::overlay_known(
            req_planned,
            flat,
        ));
        applied.private = timeouts.to_private();
        Ok(applied)
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

    async fn plan(&self, _ctx: &Ctx, req: PlanRequest) -> TfResult<Planned> {
        let mut planned = crate::plugin::plan::default_plan(&schema(), &req);
        if !planned.planned_state.is_null() {
            planned
                .planned_state
                .set_attr(DiagnosticSetting::TIMEOUTS, Timeouts::default().encode());
            if let Some(t) = DiagnosticSetting::from_value(&req.config)?.timeouts.known() {
                planned.planned_private = t.to_private();
            }
        }
        Ok(planned)
    }

    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = setting_id(&DiagnosticSetting::from_value(&req.planned_state)?)?;
        let o = op(ctx, &configured_timeouts(&req.config)?, Op::Create);
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
                .at(at(DiagnosticSetting::NAME))
                .into())
            }
            Err(e) => return Err(azure_diag("Failed to check for an existing diagnostic setting", &e, &no_path)),
        }
        self.put(ctx, &req.planned_state, &req.config, Op::Create)
            .await
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let prior = DiagnosticSetting::from_value(&req.current_state)?;
        let id = setting_id(&prior)?;
        let o = op(ctx, &Timeouts::from_private(&req.private), Op::Read);
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
        Ok(ReadResult {
            new_state: flatten(&remote, &prior, &id).encode(),
            private: req.private,
        })
    }

    async fn update(&self, ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
        self.put(ctx, &req.planned_state, &req.config, Op::Update)
            .await
    }

    async fn delete(&self, ctx: &Ctx, req: DeleteRequest) -> TfResult<()> {
        let clients: Arc<AzureClients> = ctx.data()?;
        let id = setting_id(&DiagnosticSetting::from_value(&req.prior_state)?)?;
        let o = op(ctx, &Timeouts::from_private(&req.private), Op::Delete);
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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::from_block(
            0,
            &DiagnosticSettingIdentity::block(),
        ))
    }

    async fn identity(&self, _ctx: &Ctx, state: &Value) -> TfResult<Option<Value>> {
        let d = DiagnosticSetting::from_value(state)?;
        let Ok(id) = setting_id(&d) else {
            return Ok(None);
        };
        Ok(Some(
            DiagnosticSettingIdentity {
                target_resource_id: Tf::Known(id.target_resource_id),
                name: Tf::Known(id.name),
            }
            .encode(),
        ))
    }

    async fn import_by_identity(&self, ctx: &Ctx, identity: &Value) -> TfResult<Imported> {
        let i = DiagnosticSettingIdentity::from_value(identity)?;
        let (Some(t), Some(n)) = (i.target_resource_id.as_str(), i.name.as_str()) else {
            return Err(Diagnostic::error(
                "Incomplete identity",
                "Importing a diagnostic setting by identity needs `target_resource_id` and `name`.",
            )
            .into());
        };
        let id = DiagnosticSettingId {
            target_resource_id: t.to_string(),
            name: n.to_string(),
        };
        self.import(ctx, &id.terraform_id()).await
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> TfResult<Imported> {
        let id = DiagnosticSettingId::parse(id)
            .map_err(|e| Diagnostics::from(Diagnostic::error("Invalid import id", e)))?;
        let stub = DiagnosticSetting {
            id: Tf::Known(id.terraform_id()),
            name: Tf::Known(id.name.clone()),
            target_resource_id: Tf::Known(id.target_resource_id.clone()),
            timeouts: Timeouts::state_value(),
            ..Default::default()
        };
        Ok(Imported {
            state: stub.encode(),
            private: Vec::new(),
        })
    }

    async fn upgrade_state(
        &self,
        _ctx: &Ctx,
        version: i64,
        raw: serde_json::Value,
    ) -> TfResult<Value> {
        let mut state =
            crate::plugin::provider::decode_stored_state(TYPE_NAME, &schema(), version, &raw)?;
        if !state.is_null() {
            state.set_attr(DiagnosticSetting::TIMEOUTS, Timeouts::default().encode());
        }
        Ok(state)
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

    fn arb_tf<T: std::fmt::Debug + Clone + 'static>(
        known: impl proptest::strategy::Strategy<Value = T> + 'static,
    ) -> impl proptest::strategy::Strategy<Value = Tf<T>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Tf::Null),
            Just(Tf::unknown()),
            known.prop_map(Tf::Known)
        ]
    }

    proptest::proptest! {
        /// decode(encode(model)) == model, and the encoded value has the schema's type.
        #[test]
        fn decode_encode_round_trips(
            strings in proptest::collection::vec(arb_tf("[a-zA-Z0-9/|._-]{0,16}"), 5),
            logs in arb_tf(proptest::collection::vec(
                (arb_tf("[A-Za-z]{1,8}"), arb_tf("[a-z]{1,8}")), 0..3)),
            metrics in arb_tf(proptest::collection::vec(arb_tf("[A-Za-z]{1,8}"), 0..3)),
        ) {
            let model = DiagnosticSetting {
                id: strings[0].clone(),
                name: strings[1].clone(),
                target_resource_id: strings[2].clone(),
                log_analytics_workspace_id: strings[3].clone(),
                log_analytics_destination_type: strings[4].clone(),
                enabled_log: logs.map(|v| v.into_iter().map(|(category, category_group)| {
                    EnabledLog { category, category_group }
                }).collect()),
                enabled_metric: metrics
                    .map(|v| v.into_iter().map(|category| EnabledMetric { category }).collect()),
                timeouts: Timeouts::state_value(),
            };
            let v = model.encode();
            proptest::prop_assert_eq!(DiagnosticSetting::from_value(&v).unwrap(), model);
            let ty = DiagnosticSetting::block().implied_type();
            proptest::prop_assert!(crate::plugin::codec::encode_dynamic(&v, &ty).is_ok());
        }
    }

    #[test]
    fn expand_flatten_round_trip() {
        let model = DiagnosticSetting::from_value(&cfg()).unwrap();
        let id = setting_id(&model).unwrap();
        let body = expand(&model);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["properties"]["logs"][0]["enabled"], true);
        let back = flatten(&body, &model, &id).encode();
        assert_eq!(back.get("enabled_log"), cfg().get("enabled_log"));
        assert_eq!(back.get("id"), &Value::from(format!("{ENV}|diag")));
    }
}

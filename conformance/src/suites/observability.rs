//! `observability`: a diagnostic setting on the environment routes session console and
//! lifecycle logs to a Log Analytics workspace, queried with KQL through the query API;
//! categories are listed and checked; pools have the three Azure Monitor metrics.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::lifecycle::session_of;
use super::pool::{self, PoolSpec};
use crate::case;
use crate::case::{ensure, ensure_eq, fail, Case, CaseResult, Ctx, Failure, Needs};
use crate::http::{Req, Resp};
use crate::target::Scope;

/// The diagnostic settings api-version.
pub const DIAG: &str = "2021-05-01-preview";

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("observability", "categories", Needs::Workspace, "the environment lists the session log categories; an unknown category is refused 400", categories),
        case!("observability", "console_logs", Needs::Workspace, "with AppEnvSessionConsoleLogs routed to a workspace, a line a session prints is a row of AppEnvSessionConsoleLogs", console_logs),
        case!("observability", "kql", Needs::Workspace, "KQL over the lifecycle table: where, summarize count() by, project; an unknown table is 400 SemanticError", kql),
        case!("observability", "metrics", Needs::Sessions, "a pool has the three metric definitions and PoolReadyPodCount answers a time series", metrics),
    ]
}

fn setting_path(resource: &str, name: &str) -> String {
    format!("{resource}/providers/Microsoft.Insights/diagnosticSettings/{name}?api-version={DIAG}")
}

/// The session log categories the run routes.
const SESSION_LOGS: &[&str] = &[
    "AppEnvSessionConsoleLogs",
    "AppEnvSessionLifeCycleLogs",
    "AppEnvSessionPoolEventLogs",
];

/// Routes the session log categories of the target's environment to its workspace, with the
/// run's one setting (`sc{run}diag`: a workspace may take a category of a resource in one
/// setting only, so the cases share it).
async fn route(ctx: &Ctx) -> Result<String, Failure> {
    let categories = SESSION_LOGS;
    let t = ctx.target();
    let Some(ws) = t.workspace_id.clone() else {
        return crate::case::skip("no workspace");
    };
    let name = format!("sc{}diag", t.run_id);
    let logs: Vec<Value> = categories
        .iter()
        .map(|c| json!({"category": c, "enabled": true}))
        .collect();
    let body = json!({"properties": {"workspaceId": ws, "logs": logs, "metrics": []}});
    let path = setting_path(&t.environment_id, &name);
    t.track(path.split('?').next().unwrap_or_default(), DIAG);
    let r = ctx.arm(Method::PUT, &path, Some(&body)).await?;
    ctx.status(&r, &[200, 201], "PUT the diagnostic setting")?;
    Ok(name)
}

/// The workspace's customerId (the query API's workspace id).
async fn customer_id(ctx: &Ctx) -> Result<String, Failure> {
    let ws = ctx.target().workspace_id.clone().unwrap_or_default();
    let r = ctx
        .arm(Method::GET, &format!("{ws}?api-version=2023-09-01"), None)
        .await?;
    ctx.status(&r, &[200], "GET the workspace")?;
    match r.json["properties"]["customerId"].as_str() {
        Some(c) => Ok(c.to_string()),
        None => fail("the workspace has no customerId"),
    }
}

/// Runs `query` against the workspace.
async fn query(ctx: &Ctx, customer: &str, query: &str) -> Result<Resp, Failure> {
    let token = ctx.token(Scope::LogAnalytics).await?;
    let url = format!(
        "{}/v1/workspaces/{customer}/query",
        ctx.target().log_analytics
    );
    ctx.send(
        Req::new(Method::POST, url)
            .bearer(&token)
            .json(&json!({"query": query, "timespan": "PT1H"})),
    )
    .await
}

/// The values of `column` in the first table.
fn column(body: &Value, column: &str) -> Vec<Value> {
    let table = &body["tables"][0];
    let Some(i) = table["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|c| c["name"] == column))
    else {
        return Vec::new();
    };
    table["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r[i].clone()).collect())
        .unwrap_or_default()
}

/// How long rows may take to arrive: milliseconds on the emulator, minutes on Azure.
fn ingestion(ctx: &Ctx) -> Duration {
    if ctx.target().is_emulator() {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(900)
    }
}

async fn categories(ctx: Ctx) -> CaseResult {
    let env = ctx.target().environment_id.clone();
    let r = ctx.arm(Method::GET, &format!("{env}/providers/Microsoft.Insights/diagnosticSettingsCategories?api-version={DIAG}"), None).await?;
    ctx.status(
        &r,
        &[200],
        "diagnosticSettingsCategories of the environment",
    )?;
    let names: Vec<&str> = r.json["value"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    for c in [
        "AppEnvSessionConsoleLogs",
        "AppEnvSessionLifeCycleLogs",
        "AppEnvSessionPoolEventLogs",
    ] {
        ensure(names.contains(&c), || {
            format!("category {c} missing from {names:?}")
        })?;
    }
    let Some(ws) = ctx.target().workspace_id.clone() else {
        return crate::case::skip("no workspace");
    };
    let body = json!({"properties": {"workspaceId": ws, "logs": [{"category": "NoSuchCategory", "enabled": true}]}});
    let r = ctx
        .arm(
            Method::PUT,
            &setting_path(&env, &ctx.name("baddiag")),
            Some(&body),
        )
        .await?;
    ctx.status(&r, &[400], "a setting with an unknown category")?;
    Ok(())
}

async fn console_logs(ctx: Ctx) -> CaseResult {
    route(&ctx).await?;
    let customer = customer_id(&ctx).await?;
    let p = pool::create_spec(&ctx, "logs", &PoolSpec::default()).await?;
    session_of(&ctx, &p, "logs-1").await?;
    let marker = format!("conformance-{}-{}", ctx.target().run_id, p.name);
    let req = ctx
        .data(
            Method::POST,
            &p.url(&format!("/log?stream=stdout&line={marker}"), "logs-1"),
        )
        .await?;
    let r = ctx.send(req).await?;
    ctx.status(&r, &[200], "POST /log in the session")?;
    let q = format!("AppEnvSessionConsoleLogs | where Log has \"{marker}\" | project TimeGenerated, Log, SessionPoolName");
    let rows = pool::eventually(
        &ctx,
        ingestion(&ctx),
        "the console line in AppEnvSessionConsoleLogs",
        || async {
            let r = query(&ctx, &customer, &q).await?;
            ctx.status(&r, &[200], "query AppEnvSessionConsoleLogs")?;
            let logs = column(&r.json, "Log");
            Ok((!logs.is_empty()).then_some(r.json))
        },
    )
    .await?;
    ensure(
        column(&rows, "Log")
            .iter()
            .any(|l| l.as_str().is_some_and(|s| s.contains(&marker))),
        || "the row's Log differs".into(),
    )?;
    ensure(
        column(&rows, "SessionPoolName")
            .iter()
            .any(|n| n.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&p.name))),
        || "SessionPoolName is not the pool".into(),
    )?;
    Ok(())
}

async fn kql(ctx: Ctx) -> CaseResult {
    route(&ctx).await?;
    let customer = customer_id(&ctx).await?;
    let p = pool::create_spec(&ctx, "kql", &PoolSpec::default()).await?;
    session_of(&ctx, &p, "kql-1").await?;
    let q = format!("AppEnvSessionLifecycleLogs | where SessionPoolName =~ \"{}\" | summarize n = count() by OperationName | project OperationName, n", p.name);
    let body = pool::eventually(
        &ctx,
        ingestion(&ctx),
        "lifecycle rows of the pool",
        || async {
            let r = query(&ctx, &customer, &q).await?;
            ctx.status(&r, &[200], "summarize over AppEnvSessionLifecycleLogs")?;
            Ok((!column(&r.json, "n").is_empty()).then_some(r.json))
        },
    )
    .await?;
    let cols: Vec<&str> = body["tables"][0]["columns"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    ensure_eq(
        cols,
        vec!["OperationName", "n"],
        "columns of the projection",
    )?;
    ensure(
        column(&body, "n")
            .iter()
            .all(|n| n.as_i64().is_some_and(|n| n > 0)),
        || "count() is not a positive long".into(),
    )?;
    let r = query(&ctx, &customer, "NoSuchTable | take 1").await?;
    ctx.status(&r, &[400], "a query of an unknown table")?;
    ensure(r.text().contains("SemanticError"), || {
        "an unknown table is no SemanticError".into()
    })?;
    Ok(())
}

async fn metrics(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "met", &PoolSpec::default()).await?;
    let r = ctx
        .arm(
            Method::GET,
            &format!(
                "{}/providers/Microsoft.Insights/metricDefinitions?api-version=2018-01-01",
                p.path
            ),
            None,
        )
        .await?;
    ctx.status(&r, &[200], "metricDefinitions of the pool")?;
    let mut names: Vec<&str> = r.json["value"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["name"]["value"].as_str())
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable();
    ensure_eq(
        names,
        vec![
            "PoolExecutingPodCount",
            "PoolPendingPodCount",
            "PoolReadyPodCount",
        ],
        "metric names",
    )?;
    let r = ctx.arm(Method::GET, &format!("{}/providers/Microsoft.Insights/metrics?api-version=2018-01-01&metricnames=PoolReadyPodCount&aggregation=Maximum&interval=PT1M", p.path), None).await?;
    ctx.status(&r, &[200], "metrics of the pool")?;
    ensure(r.json["timespan"].is_string(), || "no timespan".into())?;
    ensure_eq(
        r.json["value"][0]["name"]["value"].as_str(),
        Some("PoolReadyPodCount"),
        "metric answered",
    )?;
    ensure(r.json["value"][0]["timeseries"].is_array(), || {
        "no timeseries".into()
    })?;
    Ok(())
}

//! `arm`: the control plane of `Microsoft.App/sessionPools` as ARM clients see it: CRUD and
//! long-running operations, validation errors with codes and targets, every api-version,
//! secrets never returned, paging, PATCH merge rules, 404s.

use reqwest::Method;
use serde_json::{json, Value};

use super::pool::{self, PoolSpec, V};
use crate::case;
use crate::case::{ensure, ensure_eq, fail, Case, CaseResult, Ctx, Needs};

/// Every published `Microsoft.App/sessionPools` api-version.
pub const VERSIONS: &[&str] = &[
    "2024-02-02-preview",
    "2024-08-02-preview",
    "2024-10-02-preview",
    "2025-01-01",
    "2025-02-02-preview",
    "2025-07-01",
    "2025-10-02-preview",
    "2026-01-01",
    "2026-03-02-preview",
    "2026-07-01",
];

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("arm", "pool_crud", Needs::Arm, "PUT 201 then 200, GET, list, DELETE 202 then 404: the whole life of a session pool", pool_crud),
        case!("arm", "lro_polling", Needs::Arm, "PUT and DELETE answer with Azure-AsyncOperation/Location; polling them reaches Succeeded", lro_polling),
        case!("arm", "validation_errors", Needs::Arm, "invalid pools are refused 400 with an ARM error code and the offending property as target", validation_errors),
        case!("arm", "api_versions", Needs::Arm, "every published api-version reads the pool; unknown and missing api-version are 400 with their codes", api_versions),
        case!("arm", "secrets_never_returned", Needs::Arm, "secret values are accepted on PUT and never returned by GET or list", secrets_never_returned),
        case!("arm", "paging", Needs::Arm, "lists page with nextLink and every page together holds every resource", paging),
        case!("arm", "patch_merge", Needs::Arm, "PATCH changes only what it names: tags and scale, the template and the rest untouched", patch_merge),
        case!("arm", "not_found", Needs::Arm, "a missing pool is 404 ResourceNotFound on GET, 204 on DELETE; a missing resource group is 404 ResourceGroupNotFound", not_found),
        case!("arm", "python_lts_pool", Needs::Arm, "a PythonLTS pool (Microsoft's built-in image) is accepted", python_lts_pool),
        case!("arm", "error_envelope", Needs::Arm, "errors carry x-ms-request-id and the {error:{code,message}} envelope; malformed JSON is 400", error_envelope),
    ]
}

async fn pool_crud(ctx: Ctx) -> CaseResult {
    let name = ctx.name("crud");
    let body = pool::body(&ctx, &PoolSpec::default());
    let r = pool::put(&ctx, &name, &body).await?;
    ctx.status(&r, &[201], "first PUT creates")?;
    ensure_eq(
        r.json["name"].as_str(),
        Some(name.as_str()),
        "name in the PUT answer",
    )?;
    ensure_eq(
        r.json["type"].as_str(),
        Some("Microsoft.App/sessionPools"),
        "type",
    )?;
    let p = pool::wait_succeeded(&ctx, &name).await?;
    let props = &p.body["properties"];
    ensure(
        p.body["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(&p.path)),
        || format!("id {} is not the pool's path {}", p.body["id"], p.path),
    )?;
    ensure(
        props["poolManagementEndpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://") || e.starts_with("http://")),
        || "poolManagementEndpoint is no URL".into(),
    )?;
    ensure_eq(
        props["scaleConfiguration"]["maxConcurrentSessions"].as_u64(),
        Some(5),
        "maxConcurrentSessions",
    )?;
    let ep = props["poolManagementEndpoint"].as_str().unwrap_or_default();
    let host = url::Url::parse(ep)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    ctx.expect_azure(
        "pool-endpoint-host",
        host.ends_with(".azurecontainerapps.io"),
        &format!("poolManagementEndpoint {ep}"),
    )?;
    ctx.snapshot("get", &p.body)?;
    ensure(
        props["customContainerTemplate"]["containers"][0]["image"]
            == body["properties"]["customContainerTemplate"]["containers"][0]["image"],
        || "image not echoed".into(),
    )?;
    // A second PUT of the same pool is an update: 200.
    let mut changed = body.clone();
    changed["properties"]["scaleConfiguration"]["maxConcurrentSessions"] = json!(6);
    let r = ctx.arm(Method::PUT, &p.at(V), Some(&changed)).await?;
    ctx.status(&r, &[200], "second PUT updates")?;
    let p = pool::wait_succeeded(&ctx, &name).await?;
    ensure_eq(
        p.body["properties"]["scaleConfiguration"]["maxConcurrentSessions"].as_u64(),
        Some(6),
        "maxConcurrentSessions after the update",
    )?;
    // Listed in its resource group and its subscription.
    for list in [
        format!(
            "{}/providers/Microsoft.App/sessionPools?api-version={V}",
            ctx.target().group_path()
        ),
        format!(
            "/subscriptions/{}/providers/Microsoft.App/sessionPools?api-version={V}",
            ctx.target().subscription
        ),
    ] {
        let items = list_all(&ctx, &list).await?;
        ensure(items.iter().any(|i| i["name"] == name.as_str()), || {
            format!("{name} missing from {list}")
        })?;
    }
    let r = ctx.arm(Method::DELETE, &p.at(V), None).await?;
    ctx.status(&r, &[202, 200, 204], "DELETE")?;
    pool::wait_gone(&ctx, &p.at(V)).await?;
    ctx.target().untrack(&p.path);
    Ok(())
}

async fn lro_polling(ctx: Ctx) -> CaseResult {
    let name = ctx.name("lro");
    let r = pool::put(&ctx, &name, &pool::body(&ctx, &PoolSpec::default())).await?;
    let Some(op) = r.header("azure-asyncoperation").map(str::to_string) else {
        return fail("the PUT that created a pool has no Azure-AsyncOperation header");
    };
    let status = follow_operation(&ctx, &op).await?;
    ensure_eq(
        status["status"].as_str(),
        Some("Succeeded"),
        "operation status",
    )?;
    ensure(status["startTime"].is_string(), || {
        "the operation status has no startTime".into()
    })?;
    let host = url::Url::parse(&op)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    ctx.expect_azure(
        "operation-urls",
        host == "management.azure.com",
        &format!("Azure-AsyncOperation {}", path_of(&op)),
    )?;
    ctx.snapshot("operation_status", &status)?;
    let r = ctx
        .arm(Method::DELETE, &ctx.target().pool_path(&name).add_v(), None)
        .await?;
    ctx.status(&r, &[202], "DELETE of an existing pool")?;
    let Some(loc) = r.header("location").map(str::to_string) else {
        return fail("the DELETE's 202 has no Location header");
    };
    // Location: 202 while running, then 200/204.
    let path = path_of(&loc);
    let done = pool::eventually(
        &ctx,
        pool::provision_limit(&ctx),
        "the delete's Location to finish",
        || {
            let ctx = ctx.clone();
            let path = path.clone();
            async move {
                let r = ctx.arm(Method::GET, &path, None).await?;
                match r.status {
                    202 => Ok(None),
                    200 | 204 => Ok(Some(r.status)),
                    s => fail(format!("the delete's Location answered {s}")),
                }
            }
        },
    )
    .await?;
    ensure(done == 200 || done == 204, || format!("final {done}"))?;
    let r = ctx
        .arm(Method::GET, &ctx.target().pool_path(&name).add_v(), None)
        .await?;
    ctx.status(&r, &[404], "GET after the delete finished")?;
    ctx.target().untrack(&ctx.target().pool_path(&name));
    Ok(())
}

/// Polls an Azure-AsyncOperation URL until its status is terminal.
async fn follow_operation(ctx: &Ctx, url: &str) -> Result<Value, crate::case::Failure> {
    let path = path_of(url);
    pool::eventually(
        ctx,
        pool::provision_limit(ctx),
        "the operation to end",
        || {
            let ctx = ctx.clone();
            let path = path.clone();
            async move {
                let r = ctx.arm(Method::GET, &path, None).await?;
                ctx.status(&r, &[200], "GET the operation status")?;
                match r.json["status"].as_str() {
                    Some("InProgress") | Some("Running") | Some("Accepted") => Ok(None),
                    Some(_) => Ok(Some(r.json)),
                    None => fail("the operation status has no status"),
                }
            }
        },
    )
    .await
}

/// The path and query of an absolute URL (clients poll on the endpoint they talk to).
pub fn path_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => url.to_string(),
    }
}

trait AddV {
    fn add_v(&self) -> String;
}
impl AddV for String {
    fn add_v(&self) -> String {
        format!("{self}?api-version={V}")
    }
}

async fn validation_errors(ctx: Ctx) -> CaseResult {
    let good = pool::body(&ctx, &PoolSpec::default());
    let set = |path: &[&str], v: Value| {
        let mut b = good.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        b
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "ready above max",
            set(
                &["properties", "scaleConfiguration", "readySessionInstances"],
                json!(10),
            ),
            "readySessionInstances",
        ),
        (
            "max 0",
            set(
                &["properties", "scaleConfiguration", "maxConcurrentSessions"],
                json!(0),
            ),
            "maxConcurrentSessions",
        ),
        (
            "no containers",
            set(
                &["properties", "customContainerTemplate", "containers"],
                json!([]),
            ),
            "containers",
        ),
        (
            "target port 0",
            set(
                &[
                    "properties",
                    "customContainerTemplate",
                    "ingress",
                    "targetPort",
                ],
                json!(0),
            ),
            "targetPort",
        ),
        (
            "cooldown too short",
            set(
                &[
                    "properties",
                    "dynamicPoolConfiguration",
                    "lifecycleConfiguration",
                    "cooldownPeriodInSeconds",
                ],
                json!(10),
            ),
            "cooldownPeriodInSeconds",
        ),
        (
            "no environment",
            set(&["properties", "environmentId"], Value::Null),
            "environmentId",
        ),
    ];
    for (what, body, target_has) in cases {
        let name = ctx.name("bad");
        let r = ctx
            .arm(
                Method::PUT,
                &ctx.target().pool_path(&name).add_v(),
                Some(&body),
            )
            .await?;
        if r.status == 201 || r.status == 200 {
            ctx.target().track(&ctx.target().pool_path(&name), V);
        }
        ctx.status(&r, &[400], what)?;
        ensure(r.error_code().is_some_and(|c| !c.is_empty()), || {
            format!("{what}: no error.code")
        })?;
        let target = r.json["error"]["target"].as_str().unwrap_or_default();
        let message = r.json["error"]["message"].as_str().unwrap_or_default();
        ensure(
            target.contains(target_has) || message.contains(target_has),
            || {
                format!(
                    "{what}: neither error.target ({target:?}) nor the message names {target_has}"
                )
            },
        )?;
    }
    // Name rules: upper case is refused.
    let r = ctx
        .arm(
            Method::PUT,
            &ctx.target().pool_path("BadName").add_v(),
            Some(&good),
        )
        .await?;
    if r.status < 300 {
        ctx.target().track(&ctx.target().pool_path("BadName"), V);
    }
    ctx.status(&r, &[400], "an upper-case pool name")?;
    Ok(())
}

async fn api_versions(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "ver", &PoolSpec::default()).await?;
    for v in VERSIONS {
        let r = ctx.arm(Method::GET, &p.at(v), None).await?;
        ctx.status(&r, &[200], &format!("GET with api-version {v}"))?;
        ensure(
            r.json["properties"]["customContainerTemplate"]["containers"].is_array(),
            || format!("{v}: no containers in the answer"),
        )?;
        let legacy = [
            "2024-02-02-preview",
            "2024-08-02-preview",
            "2024-10-02-preview",
        ]
        .contains(v);
        let dyn_cfg = &r.json["properties"]["dynamicPoolConfiguration"];
        if legacy {
            ensure_eq(
                dyn_cfg["executionType"].as_str(),
                Some("Timed"),
                &format!("{v}: flat executionType"),
            )?;
        } else {
            ensure_eq(
                dyn_cfg["lifecycleConfiguration"]["lifecycleType"].as_str(),
                Some("Timed"),
                &format!("{v}: lifecycleConfiguration"),
            )?;
        }
    }
    let r = ctx.arm(Method::GET, &p.at("2019-01-01"), None).await?;
    ctx.status(&r, &[400], "an unknown api-version")?;
    ensure_eq(
        r.error_code(),
        Some("InvalidApiVersionParameter"),
        "code of an unknown api-version",
    )?;
    let r = ctx.arm(Method::GET, &p.path, None).await?;
    ctx.status(&r, &[400], "no api-version")?;
    ensure_eq(
        r.error_code(),
        Some("MissingApiVersionParameter"),
        "code of a missing api-version",
    )?;
    Ok(())
}

async fn secrets_never_returned(ctx: Ctx) -> CaseResult {
    let name = ctx.name("sec");
    let mut body = pool::body(&ctx, &PoolSpec::default());
    body["properties"]["secrets"] = json!([{"name": "token", "value": "conformance-secret-value"}]);
    body["properties"]["customContainerTemplate"]["containers"][0]["env"] =
        json!([{"name": "TOKEN", "secretRef": "token"}]);
    let r = pool::put(&ctx, &name, &body).await?;
    ensure(!r.text().contains("conformance-secret-value"), || {
        "the PUT answer returns the secret value".into()
    })?;
    let p = pool::wait_succeeded(&ctx, &name).await?;
    for v in VERSIONS {
        let r = ctx.arm(Method::GET, &p.at(v), None).await?;
        ensure(!r.text().contains("conformance-secret-value"), || {
            format!("GET ({v}) returns the secret value")
        })?;
    }
    let list = format!(
        "{}/providers/Microsoft.App/sessionPools?api-version={V}",
        ctx.target().group_path()
    );
    let r = ctx.arm(Method::GET, &list, None).await?;
    ensure(!r.text().contains("conformance-secret-value"), || {
        "the list returns the secret value".into()
    })?;
    let secrets = &p.body["properties"]["secrets"];
    ensure(
        secrets.is_null()
            || secrets
                .as_array()
                .is_some_and(|a| a.iter().all(|s| s["value"].is_null())),
        || format!("secrets read back as {secrets}"),
    )?;
    Ok(())
}

/// Every item of a list, following `nextLink`.
async fn list_all(ctx: &Ctx, first: &str) -> Result<Vec<Value>, crate::case::Failure> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 200 {
            return fail(format!("more than 200 pages listing {first}"));
        }
        let path = if url.starts_with("http") {
            path_of(&url)
        } else {
            url
        };
        let r = ctx.arm(Method::GET, &path, None).await?;
        ctx.status(&r, &[200], "list")?;
        let Some(items) = r.json["value"].as_array() else {
            return fail("a list answer has no value array");
        };
        out.extend(items.iter().cloned());
        next = r.json["nextLink"].as_str().map(str::to_string);
    }
    Ok(out)
}

async fn paging(ctx: Ctx) -> CaseResult {
    let r = ctx
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourcegroups?api-version=2021-04-01&$top=1",
                ctx.target().subscription
            ),
            None,
        )
        .await?;
    ctx.status(&r, &[200], "list resource groups, $top=1")?;
    let page = r.json["value"].as_array().map_or(0, Vec::len);
    ensure(page <= 1, || format!("$top=1 answered {page} items"))?;
    let all = list_all(
        &ctx,
        &format!(
            "/subscriptions/{}/resourcegroups?api-version=2021-04-01&$top=1",
            ctx.target().subscription
        ),
    )
    .await?;
    ensure(
        all.iter().any(|g| {
            g["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&ctx.target().resource_group))
        }),
        || {
            format!(
                "following nextLink never reached resource group {}",
                ctx.target().resource_group
            )
        },
    )?;
    let mut names: Vec<&str> = all.iter().filter_map(|g| g["name"].as_str()).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    ensure_eq(names.len(), n, "distinct resource groups over all pages")?;
    Ok(())
}

async fn patch_merge(ctx: Ctx) -> CaseResult {
    let p = pool::create_spec(&ctx, "patch", &PoolSpec::default()).await?;
    let before = p.body["properties"].clone();
    let patch = json!({
        "tags": {"extra": "1", crate::target::RUN_TAG: ctx.target().run_id},
        "properties": {"scaleConfiguration": {"maxConcurrentSessions": 7}}
    });
    let r = ctx.arm(Method::PATCH, &p.at(V), Some(&patch)).await?;
    ctx.status(&r, &[200, 202], "PATCH")?;
    let after = pool::wait_succeeded(&ctx, &p.name).await?.body;
    ensure_eq(
        after["tags"]["extra"].as_str(),
        Some("1"),
        "tag set by PATCH",
    )?;
    let props = &after["properties"];
    ensure_eq(
        props["scaleConfiguration"]["maxConcurrentSessions"].as_u64(),
        Some(7),
        "maxConcurrentSessions after PATCH",
    )?;
    ensure_eq(
        &props["scaleConfiguration"]["readySessionInstances"],
        &before["scaleConfiguration"]["readySessionInstances"],
        "readySessionInstances (not in the PATCH)",
    )?;
    ensure_eq(
        &props["customContainerTemplate"],
        &before["customContainerTemplate"],
        "the template (not in the PATCH)",
    )?;
    ensure_eq(
        &props["dynamicPoolConfiguration"],
        &before["dynamicPoolConfiguration"],
        "dynamicPoolConfiguration (not in the PATCH)",
    )?;
    Ok(())
}

async fn not_found(ctx: Ctx) -> CaseResult {
    let missing = ctx.target().pool_path(&ctx.name("missing"));
    let r = ctx.arm(Method::GET, &missing.add_v(), None).await?;
    ctx.status(&r, &[404], "GET of a missing pool")?;
    ensure_eq(
        r.error_code(),
        Some("ResourceNotFound"),
        "code of a missing pool",
    )?;
    let r = ctx.arm(Method::DELETE, &missing.add_v(), None).await?;
    ctx.status(&r, &[204], "DELETE of a missing pool")?;
    let group = format!(
        "/subscriptions/{}/resourceGroups/{}",
        ctx.target().subscription,
        ctx.name("nogroup")
    );
    let r = ctx
        .arm(
            Method::GET,
            &format!("{group}/providers/Microsoft.App/sessionPools/x?api-version={V}"),
            None,
        )
        .await?;
    ctx.status(&r, &[404], "GET of a pool in a missing resource group")?;
    ensure_eq(
        r.error_code(),
        Some("ResourceGroupNotFound"),
        "code of a missing resource group",
    )?;
    Ok(())
}

async fn error_envelope(ctx: Ctx) -> CaseResult {
    let name = ctx.name("env");
    let token = ctx.token(crate::target::Scope::Arm).await?;
    let req = crate::http::Req::new(
        Method::PUT,
        ctx.target().arm_url(&ctx.target().pool_path(&name).add_v()),
    )
    .bearer(&token)
    .header("content-type", "application/json")
    .body("{\"location\": ");
    let r = ctx.send(req).await?;
    ctx.status(&r, &[400], "malformed JSON")?;
    ensure(r.error_code().is_some(), || "no error.code".into())?;
    ensure(r.json["error"]["message"].is_string(), || {
        "no error.message".into()
    })?;
    ensure(r.header("x-ms-request-id").is_some(), || {
        "no x-ms-request-id header".into()
    })?;
    Ok(())
}

async fn python_lts_pool(ctx: Ctx) -> CaseResult {
    let name = ctx.name("py");
    let t = ctx.target();
    let body = json!({
        "location": t.location,
        "tags": t.run_tags(),
        "properties": {
            "environmentId": t.environment_id,
            "poolManagementType": "Dynamic",
            "containerType": "PythonLTS",
            "scaleConfiguration": {"maxConcurrentSessions": 2, "readySessionInstances": 1},
            "dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "cooldownPeriodInSeconds": 300}},
            "sessionNetworkConfiguration": {"status": "EgressDisabled"}
        }
    });
    let path = t.pool_path(&name);
    t.track(&path, V);
    let r = ctx.arm(Method::PUT, &path.add_v(), Some(&body)).await?;
    ctx.expect_azure(
        "python-lts-pools",
        r.status == 200 || r.status == 201,
        &format!("{} {}", r.status, r.error_code().unwrap_or_default()),
    )?;
    if r.status >= 400 {
        ctx.status(&r, &[400], "a PythonLTS pool on the emulator")?;
        ensure(
            r.json["error"]["target"]
                .as_str()
                .is_some_and(|t| t.contains("containerType")),
            || "the refusal does not target containerType".into(),
        )?;
    }
    Ok(())
}

//! Azure Monitor metrics of pools and environments over HTTP, driven by a manual clock: the
//! samples agree with the runtime's counts over a scripted scenario (allocate, stop, refill),
//! grains, `FULL`, aggregations, `$filter` on `poolName`, metric definitions and namespaces,
//! errors, and `AllMetrics` routing samples to the workspace's `AzureMetrics` table.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sessions_emulator::clock::ManualClock;
use sessions_emulator::defaults;
use sessions_emulator::testing::TestServer;
use sessions_runtime::id::ResourceId;
use sessions_runtime::logstore::persist::SampleScope;
use sessions_runtime::pool::sampler::gauges;
use time::OffsetDateTime;

use crate::support::monitor::{column, logs, pool, pool_id, put_setting, query};
use crate::support::pools;

fn stamp(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

async fn metrics(srv: &TestServer, resource: &str, query: &str) -> (u16, Value) {
    pools::call(
        srv,
        Method::GET,
        &format!("{resource}/providers/Microsoft.Insights/metrics?{query}"),
        None,
    )
    .await
}

/// The runtime's `[executing, pending, ready]` of pool `name` once its sessions settled.
async fn settled(srv: &TestServer, name: &str, want: [u32; 3]) {
    let id = ResourceId::parse(&pool_id(name)).expect("id");
    let h = srv.state.pools().get(&id).expect("pool");
    let ok = tokio::time::timeout(Duration::from_secs(20), h.wait_for(|s| gauges(s) == want)).await;
    assert_eq!(
        ok,
        Ok(true),
        "pool {name} never reached {want:?}: {:?}",
        gauges(&h.snapshot())
    );
}

/// Advances to the next minute and waits until the sampler recorded the minute that ended.
async fn next_minute(srv: &TestServer, clock: &ManualClock, name: &str) -> i64 {
    let now = srv.state.now().unix_timestamp();
    let minute = now.div_euclid(60) * 60;
    clock.set(OffsetDateTime::from_unix_timestamp(minute + 60).expect("time"));
    let key = ResourceId::parse(&pool_id(name))
        .expect("id")
        .key()
        .to_string();
    let logs = logs(srv);
    for _ in 0..1000 {
        logs.flush().await;
        let s = logs
            .samples(SampleScope::Pool(key.clone()), minute, minute + 1)
            .await
            .expect("samples");
        if !s.is_empty() {
            return minute;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no sample for minute {minute}");
}

async fn dataplane(srv: &TestServer, ep: &str, path: &str) -> u16 {
    srv.client
        .post(format!("{ep}{path}"))
        .bearer_auth(srv.token_for(defaults::DATAPLANE_AUDIENCE))
        .send()
        .await
        .expect("data plane")
        .status()
        .as_u16()
}

fn points(body: &Value, metric: usize, series: usize, agg: &str) -> Vec<Value> {
    body["value"][metric]["timeseries"][series]["data"]
        .as_array()
        .map(|d| d.iter().map(|p| p[agg].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn metrics_follow_the_runtime_over_a_scripted_scenario() {
    let start = OffsetDateTime::now_utc().unix_timestamp().div_euclid(60) * 60 + 30;
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(start).expect("t"),
    ));
    let srv = TestServer::start_with(|_| {}, Some(clock.clone())).await;
    let ep = pool(&srv, "metered").await;
    let pool = pool_id("metered");
    put_setting(
        &srv,
        &pool,
        "to-logs",
        &defaults::workspace_id(),
        json!([]),
        json!([{"category": "AllMetrics", "enabled": true}]),
    )
    .await;

    settled(&srv, "metered", [0, 0, 1]).await;
    let m0 = next_minute(&srv, &clock, "metered").await;
    assert_eq!(
        dataplane(&srv, &ep, "/log?identifier=user-1&line=hi").await,
        200
    );
    settled(&srv, "metered", [1, 0, 1]).await;
    let m1 = next_minute(&srv, &clock, "metered").await;
    assert_eq!(
        dataplane(
            &srv,
            &ep,
            "/.management/stopSession?api-version=2025-02-02-preview&identifier=user-1"
        )
        .await,
        200
    );
    settled(&srv, "metered", [0, 0, 1]).await;
    let m2 = next_minute(&srv, &clock, "metered").await;
    assert_eq!((m1 - m0, m2 - m1), (60, 60));

    let span = format!("{}/{}", stamp(m0), stamp(m2 + 60));
    let (s, b) = metrics(&srv, &pool, &format!("api-version=2018-01-01&timespan={span}&interval=PT1M&metricnames=PoolExecutingPodCount,PoolReadyPodCount,PoolPendingPodCount&aggregation=Average,Maximum,Count")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        points(&b, 0, 0, "average"),
        [json!(0.0), json!(1.0), json!(0.0)],
        "{b}"
    );
    assert_eq!(
        points(&b, 1, 0, "maximum"),
        [json!(1.0), json!(1.0), json!(1.0)]
    );
    assert_eq!(
        points(&b, 2, 0, "count"),
        [json!(1.0), json!(1.0), json!(1.0)]
    );
    assert_eq!(
        b["value"][0]["timeseries"][0]["data"][0]["timeStamp"],
        json!(stamp(m0))
    );
    assert_eq!(b["interval"], "PT1M");
    assert_eq!(b["namespace"], "Microsoft.App/sessionPools");
    assert_eq!(b["resourceregion"], "eastus");
    assert_eq!(
        b["value"][0]["name"],
        json!({"value": "PoolExecutingPodCount", "localizedValue": "Executing Sessions Count"})
    );
    assert_eq!(b["value"][0]["unit"], "Count");
    assert_eq!(
        b["value"][0]["id"],
        json!(format!(
            "{pool}/providers/Microsoft.Insights/metrics/PoolExecutingPodCount"
        ))
    );

    let (_, b) = metrics(&srv, &pool, &format!("api-version=2024-02-01&timespan={span}&interval=FULL&metricnames=PoolExecutingPodCount&aggregation=Total,Average")).await;
    assert_eq!(points(&b, 0, 0, "total"), [json!(1.0)], "{b}");
    assert_eq!(b["interval"], "PT3M");

    // The environment: its pools summed, or split by poolName.
    let env = defaults::environment_id();
    let (s, b) = metrics(&srv, &env, &format!("api-version=2021-05-01&timespan={span}&metricnames=PoolReadyPodCount&aggregation=Total&$filter=poolName eq '*'&interval=PT5M")).await;
    assert_eq!(s, 200, "{b}");
    let series = &b["value"][0]["timeseries"][0];
    assert_eq!(
        series["metadatavalues"],
        json!([{"name": {"value": "poolname", "localizedValue": "poolName"}, "value": "metered"}])
    );
    assert_eq!(b["namespace"], "Microsoft.App/managedEnvironments");
    let total: f64 = series["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|p| p["total"].as_f64())
        .sum();
    assert_eq!(total, 3.0, "{b}");
    let (_, b) = metrics(&srv, &env, &format!("api-version=2021-05-01&timespan={span}&metricnames=PoolReadyPodCount&$filter=poolName eq 'other'")).await;
    assert_eq!(b["value"][0]["timeseries"], json!([]), "{b}");

    // AllMetrics on the pool routed every sample to AzureMetrics.
    let (s, b) = query(&srv, defaults::WORKSPACE_CUSTOMER_ID, "AzureMetrics | where MetricName == 'PoolExecutingPodCount' | order by TimeGenerated asc | project Total, Count, TimeGrain, ResourceProvider, Resource", None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        column(&b, "Total"),
        [json!(0.0), json!(1.0), json!(0.0)],
        "{b}"
    );
    assert_eq!(column(&b, "Resource")[0], "METERED");
    assert_eq!(column(&b, "TimeGrain")[0], "PT1M");
}

#[tokio::test]
async fn definitions_namespaces_and_errors() {
    let srv = TestServer::start().await;
    let _ = pool(&srv, "defined").await;
    let pool = pool_id("defined");
    let (s, b) = pools::call(
        &srv,
        Method::GET,
        &format!("{pool}/providers/microsoft.insights/metricDefinitions?api-version=2018-01-01"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|d| d["name"]["value"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "PoolExecutingPodCount",
            "PoolPendingPodCount",
            "PoolReadyPodCount"
        ]
    );
    assert_eq!(
        b["value"][0]["dimensions"],
        json!([{"value": "poolName", "localizedValue": "poolName"}])
    );
    assert_eq!(
        b["value"][0]["metricAvailabilities"][0],
        json!({"timeGrain": "PT1M", "retention": "P30D"})
    );
    let (s, b) = pools::call(
        &srv,
        Method::GET,
        &format!("{pool}/providers/microsoft.insights/metricNamespaces?api-version=2024-02-01"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["value"][0]["properties"]["metricNamespaceName"],
        "Microsoft.App/sessionPools"
    );

    let (s, b) = metrics(
        &srv,
        &pool,
        "api-version=2018-01-01&metricnames=CpuPercentage",
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Valid metrics: PoolExecutingPodCount,PoolPendingPodCount,PoolReadyPodCount"),
        "{b}"
    );
    assert!(b.get("error").is_none(), "flat shape: {b}");
    let (s, b) = metrics(&srv, &pool, "api-version=2015-01-01").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("InvalidApiVersionParameter")),
        "{b}"
    );
    let (s, b) = metrics(&srv, &pool, "api-version=2018-01-01&interval=PT7M").await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = metrics(&srv, &pool_id("missing"), "api-version=2018-01-01").await;
    assert_eq!(s, 404);
    let (s, b) = metrics(&srv, &defaults::workspace_id(), "api-version=2018-01-01").await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = metrics(
        &srv,
        &pool,
        "api-version=2018-01-01&resultType=Metadata&$filter=poolName eq '*'",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("cost").is_none());
}

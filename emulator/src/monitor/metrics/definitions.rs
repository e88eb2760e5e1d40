//! The metrics a session pool (and, summed over its pools, a managed environment) has:
//! `PoolExecutingPodCount`, `PoolPendingPodCount`, `PoolReadyPodCount`; unit Count;
//! aggregations Total, Average, Maximum, Minimum (and Count); dimension `poolName`; time
//! grains from PT1M; samples kept 30 days. Also the `metricDefinitions` and
//! `metricNamespaces` answers.

use serde_json::{json, Value};

/// One metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// REST name.
    pub name: &'static str,
    /// Display name.
    pub display: &'static str,
    /// Description.
    pub description: &'static str,
    /// Index into a sample's `[executing, pending, ready]`.
    pub index: usize,
}

/// The three metrics, in the order of a sample's values.
pub const METRICS: [Metric; 3] = [
    Metric {
        name: "PoolExecutingPodCount",
        display: "Executing Sessions Count",
        description:
            "Number of sessions in the pool that are allocated to an identifier and running.",
        index: 0,
    },
    Metric {
        name: "PoolPendingPodCount",
        display: "Creating Sessions Count",
        description: "Number of sessions in the pool that are being created.",
        index: 1,
    },
    Metric {
        name: "PoolReadyPodCount",
        display: "Ready Sessions Count",
        description: "Number of sessions in the pool that are ready to be allocated.",
        index: 2,
    },
];

/// The dimension's REST name.
pub const DIMENSION: &str = "poolName";

/// Time grains offered, in seconds.
pub const GRAINS: [(&str, i64); 8] = [
    ("PT1M", 60),
    ("PT5M", 300),
    ("PT15M", 900),
    ("PT30M", 1800),
    ("PT1H", 3600),
    ("PT6H", 21600),
    ("PT12H", 43200),
    ("P1D", 86400),
];

/// How long samples are kept (ISO 8601).
pub const RETENTION: &str = "P30D";

/// Aggregations a definition lists.
pub const AGGREGATIONS: [&str; 6] = ["None", "Average", "Minimum", "Maximum", "Total", "Count"];

/// The metric called `name` (case-insensitive).
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// Which resource the metrics are read on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A session pool.
    Pool,
    /// A managed environment (its pools' values summed; `poolName` splits them).
    Environment,
}

impl Scope {
    /// The metric namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Scope::Pool => "Microsoft.App/sessionPools",
            Scope::Environment => "Microsoft.App/managedEnvironments",
        }
    }
}

/// `GET {resource}/providers/Microsoft.Insights/metricDefinitions`.
pub fn definitions(resource_id: &str, scope: Scope) -> Value {
    let value: Vec<Value> = METRICS
        .iter()
        .map(|m| {
            json!({
                "id": format!("{resource_id}/providers/microsoft.insights/metricdefinitions/{}", m.name),
                "resourceId": resource_id,
                "namespace": scope.namespace(),
                "category": "Sessions",
                "name": {"value": m.name, "localizedValue": m.display},
                "displayDescription": m.description,
                "isDimensionRequired": false,
                "unit": "Count",
                "primaryAggregationType": "Average",
                "supportedAggregationTypes": AGGREGATIONS,
                "metricAvailabilities": GRAINS.iter().map(|(g, _)| json!({"timeGrain": g, "retention": RETENTION})).collect::<Vec<_>>(),
                "dimensions": [{"value": DIMENSION, "localizedValue": DIMENSION}],
            })
        })
        .collect();
    json!({"value": value})
}

/// `GET {resource}/providers/Microsoft.Insights/metricNamespaces`.
pub fn namespaces(resource_id: &str, scope: Scope) -> Value {
    let ns = scope.namespace();
    let name = ns.replace('/', "-");
    json!({"value": [{
        "id": format!("{resource_id}/providers/microsoft.insights/metricNamespaces/{name}"),
        "name": name,
        "type": "Microsoft.Insights/metricNamespaces",
        "classification": "Platform",
        "properties": {"metricNamespaceName": ns},
    }]})
}

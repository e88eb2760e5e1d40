//! From per-minute samples to the metrics answer: series (one for the resource, or one per
//! pool when `$filter` splits by `poolName`), buckets of the grain aligned to it (or one
//! `FULL` bucket), and the aggregations of the minute values in each bucket: Total (sum),
//! Count (minutes sampled), Average, Minimum, Maximum. On an environment, an unsplit series
//! sums the pools' values minute by minute. A bucket without samples carries only its
//! `timeStamp`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sessions_runtime::logstore::persist::SampleRow;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::definitions::{Metric, Scope, DIMENSION};
use super::params::{iso_duration, Agg, Grain, MetricsQuery};

/// The pool name of a pool id (last segment).
fn pool_name(pool_id: &str) -> &str {
    pool_id.rsplit('/').next().unwrap_or(pool_id)
}

fn stamp(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `start/end` as the answer's `timespan`.
pub fn timespan_text(q: &MetricsQuery) -> String {
    format!("{}/{}", stamp(q.from), stamp(q.to))
}

/// The answer's `interval`.
pub fn interval_text(q: &MetricsQuery) -> String {
    match q.grain {
        Grain::Seconds(s) => iso_duration(s),
        Grain::Full => iso_duration(q.to - q.from),
    }
}

/// Bucket starts covering `[from, to)`.
fn buckets(q: &MetricsQuery) -> Vec<(i64, i64)> {
    match q.grain {
        Grain::Full => vec![(q.from, q.to)],
        Grain::Seconds(g) => {
            let first = q.from.div_euclid(g) * g;
            (0..)
                .map(|k| first + k * g)
                .take_while(|b| *b < q.to)
                .take(100_000)
                .map(|b| (b, b + g))
                .collect()
        }
    }
}

/// One series: its dimension value (None: unsplit) and its value per minute.
struct Series {
    pool: Option<String>,
    minutes: BTreeMap<i64, f64>,
}

fn series_of(samples: &[SampleRow], metric: &Metric, q: &MetricsQuery) -> Vec<Series> {
    let value = |s: &SampleRow| f64::from(s.values[metric.index]);
    match &q.filter {
        None => {
            let mut minutes = BTreeMap::new();
            for s in samples {
                *minutes.entry(s.minute).or_insert(0.0) += value(s);
            }
            vec![Series {
                pool: None,
                minutes,
            }]
        }
        Some(filter) => {
            let mut by_pool: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
            for s in samples {
                let name = pool_name(&s.pool_id);
                if filter.keeps(name) {
                    by_pool
                        .entry(name.to_string())
                        .or_default()
                        .insert(s.minute, value(s));
                }
            }
            by_pool
                .into_iter()
                .map(|(pool, minutes)| Series {
                    pool: Some(pool),
                    minutes,
                })
                .collect()
        }
    }
}

/// Aggregates of the values in one bucket (`None` without values).
fn aggregate(values: &[f64], agg: Agg) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let total: f64 = values.iter().sum();
    Some(match agg {
        Agg::Total => total,
        Agg::Count => values.len() as f64,
        Agg::Average => total / values.len() as f64,
        Agg::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
        Agg::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

fn data_of(series: &Series, q: &MetricsQuery) -> Vec<Value> {
    buckets(q)
        .into_iter()
        .map(|(b, e)| {
            let values: Vec<f64> = series
                .minutes
                .range(b.max(q.from)..e.min(q.to))
                .map(|(_, v)| *v)
                .collect();
            let mut point = Map::new();
            point.insert("timeStamp".into(), json!(stamp(b)));
            for agg in Agg::ALL.into_iter().filter(|a| q.aggregations.contains(a)) {
                if let Some(v) = aggregate(&values, agg) {
                    point.insert(agg.key().into(), json!(v));
                }
            }
            Value::Object(point)
        })
        .collect()
}

/// The series' ranking value for `orderby`.
fn rank(series: &Series, agg: Agg) -> f64 {
    let values: Vec<f64> = series.minutes.values().copied().collect();
    aggregate(&values, agg).unwrap_or(f64::NEG_INFINITY)
}

/// One element of the answer's `value`.
pub fn metric_value(
    resource_id: &str,
    metric: &Metric,
    samples: &[SampleRow],
    q: &MetricsQuery,
) -> Value {
    let mut series = series_of(samples, metric, q);
    if let Some((agg, desc)) = q.order {
        series.sort_by(|a, b| {
            let o = rank(a, agg).total_cmp(&rank(b, agg));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    if q.filter.is_some() {
        series.truncate(q.top);
    }
    let timeseries: Vec<Value> = series
        .iter()
        .map(|s| {
            let metadata: Vec<Value> = s
                .pool
                .iter()
                .map(|p| json!({"name": {"value": DIMENSION.to_ascii_lowercase(), "localizedValue": DIMENSION}, "value": p}))
                .collect();
            if q.metadata_only {
                json!({"metadatavalues": metadata})
            } else {
                json!({"metadatavalues": metadata, "data": data_of(s, q)})
            }
        })
        .collect();
    json!({
        "id": format!("{resource_id}/providers/Microsoft.Insights/metrics/{}", metric.name),
        "type": "Microsoft.Insights/metrics",
        "name": {"value": metric.name, "localizedValue": metric.display},
        "displayDescription": metric.description,
        "unit": "Count",
        "timeseries": timeseries,
        "errorCode": "Success",
    })
}

/// The whole answer.
pub fn answer(
    resource_id: &str,
    scope: Scope,
    region: &str,
    samples: &[SampleRow],
    q: &MetricsQuery,
) -> Value {
    let value: Vec<Value> = q
        .metrics
        .iter()
        .map(|m| metric_value(resource_id, m, samples, q))
        .collect();
    let mut out = Map::new();
    if !q.metadata_only {
        out.insert("cost".into(), json!(((q.to - q.from) / 60).max(0)));
    }
    out.insert("timespan".into(), json!(timespan_text(q)));
    out.insert("interval".into(), json!(interval_text(q)));
    out.insert("value".into(), Value::Array(value));
    out.insert("namespace".into(), json!(scope.namespace()));
    out.insert("resourceregion".into(), json!(region));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::definitions::METRICS;
    use super::super::params::PoolFilter;
    use super::*;

    fn q(grain: Grain, filter: Option<PoolFilter>) -> MetricsQuery {
        MetricsQuery {
            from: 0,
            to: 300,
            grain,
            metrics: vec![&METRICS[2]],
            aggregations: Agg::ALL.to_vec(),
            filter,
            top: 10,
            order: None,
            metadata_only: false,
        }
    }

    fn sample(minute: i64, pool: &str, ready: u32) -> SampleRow {
        SampleRow {
            minute,
            pool_id: format!(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.App/sessionPools/{pool}"
            ),
            values: [0, 0, ready],
            routes: 0,
        }
    }

    #[test]
    fn buckets_and_aggregations() {
        let samples = [
            sample(0, "a", 1),
            sample(60, "a", 3),
            sample(60, "b", 2),
            sample(240, "a", 5),
        ];
        let v = metric_value("/r", &METRICS[2], &samples, &q(Grain::Seconds(120), None));
        let data = &v["timeseries"][0]["data"];
        assert_eq!(data.as_array().map(Vec::len), Some(3));
        assert_eq!(
            data[0],
            json!({"timeStamp": "1970-01-01T00:00:00Z", "average": 3.0, "minimum": 1.0, "maximum": 5.0, "total": 6.0, "count": 2.0})
        );
        assert_eq!(data[1], json!({"timeStamp": "1970-01-01T00:02:00Z"}));
        assert_eq!(data[2]["total"], json!(5.0));
        let v = metric_value(
            "/r",
            &METRICS[2],
            &samples,
            &q(Grain::Full, Some(PoolFilter::All)),
        );
        assert_eq!(v["timeseries"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["timeseries"][1]["metadatavalues"][0]["value"], "b");
        assert_eq!(v["timeseries"][1]["data"][0]["total"], json!(2.0));
        let v = metric_value(
            "/r",
            &METRICS[2],
            &samples,
            &q(Grain::Full, Some(PoolFilter::Names(vec!["B".into()]))),
        );
        assert_eq!(v["timeseries"].as_array().map(Vec::len), Some(1));
    }
}

//! The query parameters of `GET {resource}/providers/Microsoft.Insights/metrics` (names match
//! case-insensitively): `timespan` (default: the last hour), `interval` (default `PT1M`, or
//! `FULL`), `metricnames` (comma-separated, default the first metric), `aggregation` (default
//! `Average`), `$filter` (`poolName eq 'x' or poolName eq 'y'`, `poolName eq '*'`), `top`
//! (default 10), `orderby` (`average desc`), `resultType` (`Data` or `Metadata`),
//! `metricnamespace`, `AutoAdjustTimegrain`, `ValidateDimensions`. Each error names the
//! parameter.

use sessions_kql::{DateTime, TimeRange};

use super::definitions::{self, Metric, Scope, GRAINS};
use super::error::MetricsError;

/// An aggregation of the data points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    /// `average`
    Average,
    /// `minimum`
    Minimum,
    /// `maximum`
    Maximum,
    /// `total`
    Total,
    /// `count`
    Count,
}

impl Agg {
    /// Every aggregation, in response order.
    pub const ALL: [Agg; 5] = [
        Agg::Average,
        Agg::Minimum,
        Agg::Maximum,
        Agg::Total,
        Agg::Count,
    ];

    /// The JSON key in a data point.
    pub fn key(self) -> &'static str {
        match self {
            Agg::Average => "average",
            Agg::Minimum => "minimum",
            Agg::Maximum => "maximum",
            Agg::Total => "total",
            Agg::Count => "count",
        }
    }

    fn parse(s: &str) -> Option<Agg> {
        Agg::ALL
            .into_iter()
            .find(|a| a.key().eq_ignore_ascii_case(s))
            .or_else(|| s.eq_ignore_ascii_case("sum").then_some(Agg::Total))
    }
}

/// The grain of the data points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grain {
    /// Buckets of this many seconds.
    Seconds(i64),
    /// One bucket for the whole timespan.
    Full,
}

/// Which pools a `$filter` keeps (split into one series per pool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolFilter {
    /// `poolName eq '*'`: every pool.
    All,
    /// These names (case-insensitive).
    Names(Vec<String>),
}

impl PoolFilter {
    /// True when `name` is kept.
    pub fn keeps(&self, name: &str) -> bool {
        match self {
            PoolFilter::All => true,
            PoolFilter::Names(n) => n.iter().any(|x| x.eq_ignore_ascii_case(name)),
        }
    }
}

/// A parsed metrics request.
#[derive(Clone, Debug)]
pub struct MetricsQuery {
    /// Start (unix seconds, inclusive).
    pub from: i64,
    /// End (unix seconds, exclusive).
    pub to: i64,
    /// Grain.
    pub grain: Grain,
    /// Metrics asked for.
    pub metrics: Vec<&'static Metric>,
    /// Aggregations asked for.
    pub aggregations: Vec<Agg>,
    /// Split by `poolName` (and keep only these pools).
    pub filter: Option<PoolFilter>,
    /// Most series per metric.
    pub top: usize,
    /// Order of series: aggregation, descending.
    pub order: Option<(Agg, bool)>,
    /// `resultType=Metadata`.
    pub metadata_only: bool,
}

fn bad(msg: String) -> MetricsError {
    MetricsError::BadRequest(msg)
}

/// The value of query parameter `name` (case-insensitive).
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn flag(pairs: &[(String, String)], name: &str) -> bool {
    param(pairs, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Seconds of an ISO 8601 duration.
fn duration_secs(text: &str) -> Option<i64> {
    sessions_kql::time::parse_iso_duration(text)
        .ok()
        .map(|d| d.0 / sessions_kql::time::TICKS_PER_SECOND)
}

/// The ISO 8601 text of a duration in seconds (`PT1M`, `PT4H`, `P1D`, `P1DT2H`).
pub fn iso_duration(secs: i64) -> String {
    let (d, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if rem > 0 || d == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

fn parse_filter(text: &str) -> Result<PoolFilter, MetricsError> {
    let mut names = Vec::new();
    let mut all = false;
    let cleaned = text.replace(['(', ')'], " ");
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut clauses: Vec<Vec<&str>> = vec![Vec::new()];
    for w in words {
        if w.eq_ignore_ascii_case("or") || w.eq_ignore_ascii_case("and") {
            clauses.push(Vec::new());
        } else if let Some(last) = clauses.last_mut() {
            last.push(w);
        }
    }
    for clause in clauses {
        let joined = clause.join(" ");
        let [dim, op, rest @ ..] = clause.as_slice() else {
            return Err(bad(format!("$filter clause '{joined}' is invalid: use poolName eq 'name' (or '*'), joined with or.")));
        };
        if !dim.eq_ignore_ascii_case(definitions::DIMENSION) {
            return Err(bad(format!("$filter names the dimension '{dim}', which these metrics do not have. Valid dimensions: {}.", definitions::DIMENSION)));
        }
        if !op.eq_ignore_ascii_case("eq") {
            return Err(bad(format!("$filter operator '{op}' is not supported by the emulator; use eq (poolName eq 'name').")));
        }
        let value = rest.join(" ");
        let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
            return Err(bad(format!(
                "$filter value {value} must be quoted: poolName eq 'name'."
            )));
        };
        if v == "*" {
            all = true;
        } else {
            names.push(v.to_string());
        }
    }
    Ok(if all {
        PoolFilter::All
    } else {
        PoolFilter::Names(names)
    })
}

/// Parses the request for `scope` at `now` (unix seconds).
pub fn parse(
    pairs: &[(String, String)],
    scope: Scope,
    now: i64,
) -> Result<MetricsQuery, MetricsError> {
    if let Some(ns) = param(pairs, "metricnamespace").filter(|s| !s.is_empty()) {
        if !ns.eq_ignore_ascii_case(scope.namespace()) {
            return Err(bad(format!(
                "Metric namespace '{ns}' (metricnamespace) is not available for this resource. Use '{}'.",
                scope.namespace()
            )));
        }
    }
    let (from, to) = match param(pairs, "timespan").filter(|s| !s.trim().is_empty()) {
        None => (now - 3600, now),
        Some(t) => {
            let r = TimeRange::parse_iso8601(t, DateTime::from_unix_seconds(now)).map_err(|m| {
                bad(format!("Invalid timespan '{t}': {m}. Use start/end in ISO 8601, e.g. 2024-05-01T00:00:00Z/2024-05-01T01:00:00Z."))
            })?;
            let s = sessions_kql::time::TICKS_PER_SECOND;
            (r.start.0.div_euclid(s), r.end.0.div_euclid(s))
        }
    };
    if to <= from {
        return Err(bad(format!(
            "Invalid timespan: its end must be after its start (got {from}..{to} in unix seconds)."
        )));
    }
    let grain = match param(pairs, "interval").filter(|s| !s.is_empty()) {
        None => Grain::Seconds(60),
        Some(i) if i.eq_ignore_ascii_case("FULL") => Grain::Full,
        Some(i) => {
            let secs = duration_secs(i)
                .ok_or_else(|| bad(format!("Invalid interval '{i}': use an ISO 8601 duration such as PT1M, PT1H or P1D, or FULL.")))?;
            let offered = GRAINS.iter().map(|(_, s)| *s);
            if offered.clone().any(|s| s == secs) {
                Grain::Seconds(secs)
            } else if flag(pairs, "AutoAdjustTimegrain") {
                Grain::Seconds(offered.min_by_key(|s| (s - secs).abs()).unwrap_or(60))
            } else {
                let list: Vec<&str> = GRAINS.iter().map(|(g, _)| *g).collect();
                return Err(bad(format!("Invalid interval '{i}': these metrics offer {} (or FULL; AutoAdjustTimegrain=true picks the closest).", list.join(", "))));
            }
        }
    };
    let mut metrics = Vec::new();
    for name in param(pairs, "metricnames")
        .or_else(|| param(pairs, "metric"))
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let m = definitions::metric(name).ok_or_else(|| {
            let valid: Vec<&str> = definitions::METRICS.iter().map(|m| m.name).collect();
            bad(format!(
                "Failed to find metric configuration for provider: Microsoft.App, resource Type: {}, metric: {name}, Valid metrics: {}",
                scope.namespace().trim_start_matches("Microsoft.App/"),
                valid.join(",")
            ))
        })?;
        if !metrics.contains(&m) {
            metrics.push(m);
        }
    }
    if metrics.is_empty() {
        metrics.push(&definitions::METRICS[0]);
    }
    let mut aggregations = Vec::new();
    for a in param(pairs, "aggregation")
        .unwrap_or("average")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let agg = Agg::parse(a).ok_or_else(|| {
            bad(format!(
                "Invalid aggregation '{a}': use average, minimum, maximum, total or count."
            ))
        })?;
        if !aggregations.contains(&agg) {
            aggregations.push(agg);
        }
    }
    if aggregations.is_empty() {
        aggregations.push(Agg::Average);
    }
    let filter = match param(pairs, "$filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => Some(parse_filter(f)?),
    };
    let top = match param(pairs, "top") {
        None => 10,
        Some(t) => t
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("Invalid top '{t}': use a positive integer.")))?,
    };
    let order = match param(pairs, "orderby").filter(|o| !o.trim().is_empty()) {
        None => None,
        Some(o) => {
            let mut words = o.split_whitespace();
            let agg = words
                .next()
                .and_then(Agg::parse)
                .ok_or_else(|| bad(format!("Invalid orderby '{o}': use an aggregation and a direction, e.g. 'average desc'.")))?;
            let desc = match words.next() {
                None => false,
                Some(d) if d.eq_ignore_ascii_case("asc") => false,
                Some(d) if d.eq_ignore_ascii_case("desc") => true,
                Some(d) => {
                    return Err(bad(format!(
                        "Invalid orderby direction '{d}': use asc or desc."
                    )))
                }
            };
            Some((agg, desc))
        }
    };
    let metadata_only = match param(pairs, "resultType") {
        None => false,
        Some(r) if r.eq_ignore_ascii_case("data") => false,
        Some(r) if r.eq_ignore_ascii_case("metadata") => true,
        Some(r) => {
            return Err(bad(format!(
                "Invalid resultType '{r}': use Data or Metadata."
            )))
        }
    };
    Ok(MetricsQuery {
        from,
        to,
        grain,
        metrics,
        aggregations,
        filter,
        top,
        order,
        metadata_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_parsing() {
        let q = parse(&pairs(&[]), Scope::Pool, 7200).unwrap();
        assert_eq!((q.from, q.to, q.grain), (3600, 7200, Grain::Seconds(60)));
        assert_eq!(q.metrics[0].name, "PoolExecutingPodCount");
        assert_eq!(q.aggregations, [Agg::Average]);
        let q = parse(
            &pairs(&[
                ("MetricNames", "poolreadypodcount,PoolPendingPodCount"),
                ("aggregation", "Total,count,Maximum"),
                ("interval", "PT5M"),
                ("timespan", "1970-01-01T01:00:00Z/PT1H"),
                ("$filter", "poolName eq 'a' or poolName eq 'b'"),
                ("orderby", "total desc"),
                ("top", "3"),
            ]),
            Scope::Environment,
            0,
        )
        .unwrap();
        assert_eq!(q.metrics.len(), 2);
        assert_eq!(q.aggregations, [Agg::Total, Agg::Count, Agg::Maximum]);
        assert_eq!(
            (q.from, q.to, q.grain, q.top),
            (3600, 7200, Grain::Seconds(300), 3)
        );
        assert_eq!(
            q.filter,
            Some(PoolFilter::Names(vec!["a".into(), "b".into()]))
        );
        assert_eq!(q.order, Some((Agg::Total, true)));
        let q = parse(
            &pairs(&[("$filter", "poolName eq '*'"), ("interval", "FULL")]),
            Scope::Pool,
            0,
        )
        .unwrap();
        assert_eq!((q.filter, q.grain), (Some(PoolFilter::All), Grain::Full));
    }

    #[test]
    fn errors_name_the_parameter() {
        let err = |q: &[(&str, &str)]| parse(&pairs(q), Scope::Pool, 0).unwrap_err().to_string();
        assert!(err(&[("metricnames", "Cpu")]).contains("Valid metrics: PoolExecutingPodCount"));
        assert!(err(&[("interval", "PT2M")]).contains("interval"));
        assert!(err(&[("aggregation", "median")]).contains("aggregation"));
        assert!(err(&[("$filter", "region eq 'x'")]).contains("poolName"));
        assert!(err(&[("timespan", "soon")]).contains("timespan"));
        assert!(err(&[("metricnamespace", "Microsoft.Web/sites")]).contains("metricnamespace"));
        let q = parse(
            &pairs(&[("interval", "PT2M"), ("AutoAdjustTimegrain", "true")]),
            Scope::Pool,
            0,
        )
        .unwrap();
        assert_eq!(q.grain, Grain::Seconds(60));
    }

    #[test]
    fn durations_print_as_iso() {
        assert_eq!(iso_duration(60), "PT1M");
        assert_eq!(iso_duration(4 * 3600), "PT4H");
        assert_eq!(iso_duration(86_400), "P1D");
        assert_eq!(iso_duration(86_400 + 7200), "P1DT2H");
        assert_eq!(iso_duration(0), "PT0S");
    }
}

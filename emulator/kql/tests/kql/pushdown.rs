//! Pushdown: the hints a source receives, and identical results from a source that ignores
//! every hint.

use super::fixture::{now, Fixture};
use sessions_kql::plan::PlanSource;
use sessions_kql::source::CompareOp;
use sessions_kql::{
    DataSource, Engine, Flow, Predicate, QueryOptions, Row, RowSink, ScanRequest, SourceError,
    TimeRange, Value,
};

fn scan(f: &Fixture, q: &str) -> sessions_kql::plan::Scan {
    let plan = Engine::new(&f.catalog, &f.source).plan(q, now()).unwrap();
    match plan.source {
        PlanSource::Scan(s) => s,
        other => panic!("{q}: not a scan: {other:?}"),
    }
}

#[test]
fn hints_for_typical_queries() {
    let f = Fixture::new();
    let s = scan(&f, "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) | order by TimeGenerated desc | take 100");
    let time = s.table.index_of("TimeGenerated").unwrap();
    assert_eq!(
        s.predicates,
        vec![Predicate::Compare {
            column: time,
            op: CompareOp::Gt,
            value: Value::from(sessions_kql::DateTime::parse("2024-05-01T11:00:00Z").unwrap()),
        }]
    );
    assert_eq!((s.order, s.limit), (Some((time, true)), Some(100)));
    assert_eq!(s.columns.len(), s.table.columns.len());

    let s = scan(
        &f,
        "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 1m)",
    );
    assert_eq!(s.columns, vec![time]);
    assert!(s.predicates.is_empty() && s.limit.is_none());

    let s = scan(&f, "AppEnvSessionConsoleLogs | where Stream == 'stderr' and strlen(Log) > 3 | take 5 | project Log");
    assert_eq!(s.predicates.len(), 1, "only the simple conjunct is pushed");
    assert_eq!(s.limit, None, "a limit needs every filter pushed");
    let stream = s.table.index_of("Stream").unwrap();
    let log = s.table.index_of("Log").unwrap();
    assert_eq!(s.columns, vec![time, stream, log]);

    let s = scan(
        &f,
        "AppEnvSessionConsoleLogs | where Log has 'x' and SessionId in ('a') | take 5",
    );
    assert_eq!(s.predicates.len(), 2);
    assert_eq!(s.limit, Some(5));
}

/// Returns every row (requested columns only), ignoring time range, predicates, order, limit.
struct IgnoresHints<'a>(&'a dyn DataSource);

impl DataSource for IgnoresHints<'_> {
    fn scan(&self, request: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let plain = ScanRequest {
            table: request.table.clone(),
            columns: request.columns.clone(),
            time_range: None,
            predicates: Vec::new(),
            order: None,
            limit: None,
        };
        self.0.scan(&plain, sink)
    }
}

struct Collect(Vec<Row>);
impl RowSink for Collect {
    fn push(&mut self, row: Row) -> Flow {
        self.0.push(row);
        Flow::Continue
    }
}

#[test]
fn a_source_ignoring_hints_gives_the_same_answers() {
    let f = Fixture::new();
    let careless = IgnoresHints(&f.source);
    let good = Engine::new(&f.catalog, &f.source);
    let bad = Engine::new(&f.catalog, &careless);
    let mut opts = QueryOptions::at(now());
    opts.time_range = Some(TimeRange::parse_iso8601("PT30M", now()).unwrap());
    for q in [
        "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) | order by TimeGenerated desc | take 2",
        "AppEnvSessionConsoleLogs | where Stream == 'stderr' | take 1",
        "AppEnvSessionConsoleLogs | where Log has 'error' or Log contains 'GET' | project Log",
        "AppEnvSessionConsoleLogs | summarize count() by bin(TimeGenerated, 5m), Stream",
        "search \"allocated\" | count",
        "AppEnvSessionLifecycleLogs | where Level in ('Error', 'Warning') | top 1 by TimeGenerated",
        "union AppEnvSessionPoolEventLogs, AppEnvSessionLifecycleLogs | where Level =~ 'informational' | count",
    ] {
        assert_eq!(good.query(q, &opts).unwrap(), bad.query(q, &opts).unwrap(), "{q}");
    }
    // And the careless source really does return more rows than asked.
    let t = f.catalog.table("AppEnvSessionConsoleLogs").unwrap();
    let mut req = ScanRequest::full(t);
    req.limit = Some(1);
    let mut out = Collect(Vec::new());
    careless.scan(&req, &mut out).unwrap();
    assert_eq!(out.0.len(), 5);
}

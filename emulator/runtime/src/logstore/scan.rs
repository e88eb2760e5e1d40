//! [`WorkspaceSource`]: the KQL data source of one workspace.
//!
//! A row is visible in table T of workspace W when its route set contains (W, T) and its time
//! is within W's retention; `AzureMetrics` rows come from the metric samples routed to W.
//!
//! Scans of the log tables use every hint of the request: segments outside the time range are
//! skipped whole; a predicate on a dictionary column (session id, identifier, stream,
//! operation, level) or on an origin column (pool, environment, container...) is tested once
//! per distinct value and remembered; `has`/`contains` on the log line run on the stored text
//! without building a value; `search` combines all of these; `limit` stops the scan when no
//! `order` is asked. Only the requested columns are built.

use std::sync::Arc;

use sessions_kql::source::CompiledPredicate;
use sessions_kql::{
    DataSource, DateTime, Flow, Row, RowSink, ScanRequest, SourceError, TableSchema, Value,
};
use time::OffsetDateTime;

use super::origin::OriginValues;
use super::persist::{self, SampleRow, SampleScope};
use super::project::{self, Field, OriginField};
use super::routes::{StreamKind, Table};
use super::segment::Segment;
use super::shared::{ticks, Shared, TICKS_PER_DAY, TICKS_PER_SECOND};

/// Which workspace, as of when.
#[derive(Clone, Debug)]
pub struct WorkspaceView {
    /// Its `customerId`.
    pub customer_id: String,
    /// Its `retentionInDays`.
    pub retention_days: i64,
    /// Now (retention counts back from here).
    pub now: OffsetDateTime,
}

/// A [`DataSource`] over one workspace's tables.
#[derive(Debug)]
pub struct WorkspaceSource {
    shared: Arc<Shared>,
    customer_id: String,
    workspace: Value,
    /// Rows older than this (ticks) are past retention.
    cutoff: i64,
}

impl WorkspaceSource {
    pub(crate) fn new(shared: Arc<Shared>, view: WorkspaceView) -> WorkspaceSource {
        let cutoff =
            ticks(view.now).saturating_sub(view.retention_days.saturating_mul(TICKS_PER_DAY));
        WorkspaceSource {
            shared,
            workspace: Value::str(&view.customer_id),
            customer_id: view.customer_id,
            cutoff,
        }
    }

    fn bounds(&self, req: &ScanRequest) -> (i64, i64) {
        match req.time_range {
            Some(r) => (r.start.0.max(self.cutoff), r.end.0),
            None => (self.cutoff, i64::MAX),
        }
    }
}

impl DataSource for WorkspaceSource {
    fn scan(&self, req: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let Some(table) = Table::from_name(&req.table.name) else {
            return Ok(());
        };
        let kind = match table {
            Table::Console | Table::ConsoleCustom => StreamKind::Console,
            Table::Lifecycle => StreamKind::Lifecycle,
            Table::PoolEvents => StreamKind::PoolEvents,
            Table::Metrics => return self.scan_metrics(req, sink),
        };
        let visible = self.shared.sets.containing(&self.customer_id, table);
        if !visible.contains(&true) {
            return Ok(());
        }
        let fields = project::fields(table, &req.table);
        let origins = self.shared.origins.snapshot();
        let mut tests = Vec::new();
        for p in &req.predicates {
            match Test::new(p.compile(&req.table), &fields, &origins, &self.workspace) {
                Test::Const(false) => return Ok(()),
                Test::Const(true) => {}
                t => tests.push(t),
            }
        }
        let out: Vec<&Field> = req.columns.iter().map(|c| &fields[*c]).collect();
        let limit = if req.order.is_some() { None } else { req.limit };
        let (lo, hi) = self.bounds(req);
        let mut sent = 0usize;
        let data = self.shared.stream(kind).read();
        for seg in data.segments() {
            if seg.is_empty() || seg.max_time < lo || seg.min_time >= hi {
                continue;
            }
            for t in &mut tests {
                t.start_segment(seg);
            }
            'row: for i in 0..seg.len() {
                if !visible
                    .get(seg.routes[i] as usize)
                    .copied()
                    .unwrap_or(false)
                {
                    continue;
                }
                let t = seg.times[i];
                if t < lo || t >= hi {
                    continue;
                }
                for test in &mut tests {
                    if !test.pass(seg, i, &origins, &self.workspace) {
                        continue 'row;
                    }
                }
                if limit.is_some_and(|l| sent >= l) {
                    return Ok(());
                }
                let row: Row = out
                    .iter()
                    .map(|f| value(f, seg, i, &origins, &self.workspace))
                    .collect();
                sent += 1;
                if sink.push(row) == Flow::Stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The value of field `f` for row `i` of `seg`.
fn value(f: &Field, seg: &Segment, i: usize, origins: &[Arc<OriginValues>], ws: &Value) -> Value {
    match f {
        Field::Time => Value::DateTime(DateTime(seg.times[i])),
        Field::UnixSeconds => Value::Real(seg.times[i] as f64 / TICKS_PER_SECOND as f64),
        Field::Workspace => ws.clone(),
        Field::Const(v) => v.clone(),
        Field::Origin(of) => match origins.get(seg.origins[i] as usize) {
            Some(o) => origin_value(o, *of).clone(),
            None => Value::str(""),
        },
        Field::Pod => seg.dict[seg.pods[i] as usize].clone(),
        Field::Identifier => seg.dict[seg.identifiers[i] as usize].clone(),
        Field::Tag => seg.dict[seg.tags[i] as usize].clone(),
        Field::Level => seg.dict[seg.levels[i] as usize].clone(),
        Field::Log => Value::str(seg.log(i)),
        Field::LogBytes => Value::Real(seg.log(i).len() as f64),
    }
}

fn origin_value(o: &OriginValues, f: OriginField) -> &Value {
    match f {
        OriginField::PoolName => &o.pool_name,
        OriginField::ResourceId => &o.resource_id,
        OriginField::EnvironmentName => &o.environment_name,
        OriginField::Location => &o.location,
        OriginField::Subscription => &o.subscription_id,
        OriginField::Container => &o.container_name,
        OriginField::Image => &o.container_image,
    }
}

/// Which code column.
#[derive(Clone, Copy, Debug)]
enum Coded {
    Pod,
    Identifier,
    Tag,
    Level,
}

impl Coded {
    fn of(f: &Field) -> Option<Coded> {
        Some(match f {
            Field::Pod => Coded::Pod,
            Field::Identifier => Coded::Identifier,
            Field::Tag => Coded::Tag,
            Field::Level => Coded::Level,
            _ => return None,
        })
    }

    fn code(self, seg: &Segment, i: usize) -> usize {
        (match self {
            Coded::Pod => seg.pods[i],
            Coded::Identifier => seg.identifiers[i],
            Coded::Tag => seg.tags[i],
            Coded::Level => seg.levels[i],
        }) as usize
    }
}

/// Remembered answers: 0 unknown, 1 pass, 2 fail.
type Memo = Vec<u8>;

fn remembered(memo: &mut Memo, i: usize, test: impl FnOnce() -> bool) -> bool {
    if memo.len() <= i {
        memo.resize(i + 1, 0);
    }
    match memo[i] {
        1 => true,
        2 => false,
        _ => {
            let r = test();
            memo[i] = if r { 1 } else { 2 };
            r
        }
    }
}

/// One pushed-down predicate, specialised to how its column is stored.
enum Test {
    /// Decided for the whole table.
    Const(bool),
    /// On `TimeGenerated` (or another time field).
    Time(CompiledPredicate),
    /// On an origin column: once per origin.
    Origin {
        field: OriginField,
        pred: CompiledPredicate,
        memo: Memo,
    },
    /// On a code column: once per dictionary entry of the segment.
    Coded {
        col: Coded,
        pred: CompiledPredicate,
        memo: Memo,
    },
    /// `has`/`contains`/... on the log line, run on the stored text.
    LogText(CompiledPredicate),
    /// Anything else: build the value, then test it.
    Value {
        field: Field,
        pred: CompiledPredicate,
    },
    /// `search`: some text column passes.
    Search {
        pred: CompiledPredicate,
        origin_fields: Vec<OriginField>,
        coded: Vec<Coded>,
        log: bool,
        origin_memo: Memo,
        dict_memo: Memo,
    },
}

impl Test {
    fn new(
        pred: CompiledPredicate,
        fields: &[Field],
        origins: &[Arc<OriginValues>],
        ws: &Value,
    ) -> Test {
        if let Some((columns, matcher)) = pred.any_text() {
            let mut constant = false;
            let mut origin_fields = Vec::new();
            let mut coded = Vec::new();
            let mut log = false;
            for c in columns {
                match &fields[*c] {
                    Field::Const(v) => constant |= matcher.matches(v.as_str()),
                    Field::Workspace => constant |= matcher.matches(ws.as_str()),
                    Field::Origin(f) => origin_fields.push(*f),
                    Field::Log => log = true,
                    f => coded.extend(Coded::of(f)),
                }
            }
            if constant {
                return Test::Const(true);
            }
            return Test::Search {
                pred,
                origin_fields,
                coded,
                log,
                origin_memo: vec![0; origins.len()],
                dict_memo: Vec::new(),
            };
        }
        let Some(column) = pred.column() else {
            return Test::Const(true);
        };
        let field = fields
            .get(column)
            .cloned()
            .unwrap_or(Field::Const(Value::Null));
        match field {
            Field::Const(v) => Test::Const(pred.matches(|_| &v)),
            Field::Workspace => Test::Const(pred.matches(|_| ws)),
            Field::Time => Test::Time(pred),
            Field::Origin(field) => Test::Origin {
                field,
                pred,
                memo: vec![0; origins.len()],
            },
            Field::Log if pred.text_test().is_some() => Test::LogText(pred),
            f => match Coded::of(&f) {
                Some(col) => Test::Coded {
                    col,
                    pred,
                    memo: Vec::new(),
                },
                None => Test::Value { field: f, pred },
            },
        }
    }

    fn start_segment(&mut self, seg: &Segment) {
        match self {
            Test::Coded { memo, .. } => {
                memo.clear();
                memo.resize(seg.dict.len(), 0);
            }
            Test::Search { dict_memo, .. } => {
                dict_memo.clear();
                dict_memo.resize(seg.dict.len(), 0);
            }
            _ => {}
        }
    }

    fn pass(&mut self, seg: &Segment, i: usize, origins: &[Arc<OriginValues>], ws: &Value) -> bool {
        match self {
            Test::Const(b) => *b,
            Test::Time(p) => {
                let v = Value::DateTime(DateTime(seg.times[i]));
                p.matches(|_| &v)
            }
            Test::Origin { field, pred, memo } => {
                let o = seg.origins[i] as usize;
                remembered(memo, o, || match origins.get(o) {
                    Some(ov) => pred.matches(|_| origin_value(ov, *field)),
                    None => false,
                })
            }
            Test::Coded { col, pred, memo } => {
                let code = col.code(seg, i);
                remembered(memo, code, || pred.matches(|_| &seg.dict[code]))
            }
            Test::LogText(p) => match p.text_test() {
                Some((_, negated, m)) => m.matches(seg.log(i)) != negated,
                None => true,
            },
            Test::Value { field, pred } => {
                let v = value(field, seg, i, origins, ws);
                pred.matches(|_| &v)
            }
            Test::Search {
                pred,
                origin_fields,
                coded,
                log,
                origin_memo,
                dict_memo,
            } => {
                let Some((_, m)) = pred.any_text() else {
                    return true;
                };
                let o = seg.origins[i] as usize;
                let by_origin = remembered(origin_memo, o, || {
                    origins.get(o).is_some_and(|ov| {
                        origin_fields
                            .iter()
                            .any(|f| m.matches(origin_value(ov, *f).as_str()))
                    })
                });
                if by_origin {
                    return true;
                }
                for c in coded.iter() {
                    let code = c.code(seg, i);
                    if remembered(dict_memo, code, || m.matches(seg.text(code as u32))) {
                        return true;
                    }
                }
                *log && m.matches(seg.log(i))
            }
        }
    }
}

/// The three metrics of a sample, in the order of [`SampleRow::values`].
pub const METRIC_NAMES: [&str; 3] = [
    "PoolExecutingPodCount",
    "PoolPendingPodCount",
    "PoolReadyPodCount",
];

impl WorkspaceSource {
    fn scan_metrics(&self, req: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let visible: Vec<u32> = self
            .shared
            .sets
            .containing(&self.customer_id, Table::Metrics)
            .iter()
            .enumerate()
            .filter(|(_, v)| **v)
            .map(|(i, _)| i as u32)
            .collect();
        if visible.is_empty() {
            return Ok(());
        }
        let (lo, hi) = self.bounds(req);
        let (from, to) = (
            lo.div_euclid(TICKS_PER_SECOND),
            hi.div_euclid(TICKS_PER_SECOND).saturating_add(1),
        );
        let samples = self
            .shared
            .store
            .call_blocking(|c| persist::samples(c, &SampleScope::Routed(visible), from, to))
            .map_err(|e| SourceError {
                table: req.table.name.clone(),
                message: e.to_string(),
            })?;
        let preds: Vec<CompiledPredicate> = req
            .predicates
            .iter()
            .map(|p| p.compile(&req.table))
            .collect();
        let limit = if req.order.is_some() { None } else { req.limit };
        let mut sent = 0usize;
        for s in &samples {
            let t = s.minute.saturating_mul(TICKS_PER_SECOND);
            if t < lo || t >= hi {
                continue;
            }
            for (m, name) in METRIC_NAMES.iter().enumerate() {
                let full = metric_row(&req.table, s, name, f64::from(s.values[m]), t);
                if !preds.iter().all(|p| p.matches(|c| &full[c])) {
                    continue;
                }
                if limit.is_some_and(|l| sent >= l) {
                    return Ok(());
                }
                let row: Row = req.columns.iter().map(|c| full[*c].clone()).collect();
                sent += 1;
                if sink.push(row) == Flow::Stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// An `AzureMetrics` row of one metric of a sample, every column of `schema`.
fn metric_row(schema: &TableSchema, s: &SampleRow, metric: &str, v: f64, time: i64) -> Row {
    let id = sessions_id(&s.pool_id);
    schema
        .columns
        .iter()
        .map(|c| match c.name.as_str() {
            "TimeGenerated" => Value::DateTime(DateTime(time)),
            "SourceSystem" => Value::str("Azure"),
            "ResourceId" => Value::str(&s.pool_id.to_ascii_uppercase()),
            "_ResourceId" => Value::str(&s.pool_id.to_ascii_lowercase()),
            "Category" => Value::str("AllMetrics"),
            "Resource" => Value::str(&id.2.to_ascii_uppercase()),
            "ResourceGroup" => Value::str(&id.1.to_ascii_uppercase()),
            "ResourceProvider" => Value::str("MICROSOFT.APP"),
            "SubscriptionId" | "_SubscriptionId" => Value::str(&id.0),
            "MetricName" => Value::str(metric),
            "Total" | "Maximum" | "Minimum" | "Average" => Value::Real(v),
            "Count" => Value::Real(1.0),
            "TimeGrain" => Value::str("PT1M"),
            "UnitName" => Value::str("Count"),
            "Type" => Value::str(Table::Metrics.name()),
            _ => Value::Null.coerce_to(c.ty).unwrap_or(Value::Null),
        })
        .collect()
}

/// (subscription, resource group, name) of a pool id.
fn sessions_id(id: &str) -> (String, String, String) {
    match crate::id::ResourceId::parse(id) {
        Ok(r) => (
            r.subscription_id().to_string(),
            r.resource_group_name().unwrap_or_default().to_string(),
            r.name().to_string(),
        ),
        Err(_) => Default::default(),
    }
}

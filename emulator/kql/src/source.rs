//! How the engine reads tables: the [`DataSource`] trait, the [`ScanRequest`] it receives, and
//! [`MemorySource`], an in-memory implementation for tests and benchmarks.
//!
//! # Contract
//!
//! `scan` pushes rows of one table into a [`RowSink`] until the table is exhausted or the sink
//! answers [`Flow::Stop`]. Every row carries the columns listed in `request.columns` (indices
//! into `request.table.columns`, ascending), one value each, in that order, each of the
//! column's type (see [`Value::coerce_to`]): `SELECT <those columns>`.
//!
//! Everything else in the request is a **hint** a source may use to answer faster and may
//! ignore: `time_range` (`TimeGenerated` in `[start, end)`), `predicates` (a conjunction of
//! simple `column op literal` tests), `order` and `limit`. The engine re-applies all of them,
//! so a source that ignores hints is slower, never wrong. One rule: `limit` counts rows that
//! pass `time_range` and every predicate, taken in `order` when `order` is set, so a source may
//! only stop early at `limit` if it applied all of those first.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::StrOp;
use crate::schema::{Catalog, TableSchema};
use crate::text::TextMatcher;
use crate::time::TimeRange;
use crate::value::{compare, Value};

/// One row: a value per column.
pub type Row = Vec<Value>;

/// Whether a producer should keep sending rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Send more.
    Continue,
    /// Enough: stop scanning.
    Stop,
}

/// Receives scanned rows.
pub trait RowSink {
    /// Takes one row; [`Flow::Stop`] means no more rows are wanted.
    fn push(&mut self, row: Row) -> Flow;
}

/// A failure reading a table (I/O, a corrupt store, a value of the wrong type).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("reading table '{table}' failed: {message}")]
pub struct SourceError {
    /// The table being read.
    pub table: String,
    /// What went wrong.
    pub message: String,
}

/// Comparison operators of [`Predicate::Compare`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `==` (strings case-sensitive)
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A simple test of one column (by index into the table's columns) against constants.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// `column op value`; a null column value never passes.
    Compare {
        /// Column index.
        column: usize,
        /// Operator.
        op: CompareOp,
        /// Non-null constant of a type comparable with the column.
        value: Value,
    },
    /// `column =~ value` (`!~` when negated): ASCII-case-insensitive string equality.
    EqualsIgnoreCase {
        /// Column index.
        column: usize,
        /// The string.
        value: String,
        /// `!~`
        negated: bool,
    },
    /// `column in (values)` / `!in` / `in~`.
    In {
        /// Column index.
        column: usize,
        /// Non-null constants.
        values: Vec<Value>,
        /// `!in`
        negated: bool,
        /// `in~` (strings compared ignoring ASCII case)
        case_insensitive: bool,
    },
    /// `column has "x"`, `contains`, `startswith`, ... (never `matches regex`).
    Text {
        /// Column index (a string column).
        column: usize,
        /// The operator.
        op: StrOp,
        /// The constant needle.
        pattern: String,
    },
    /// `search "x"`: some string column of the row passes the test (`op` is never negated).
    AnyColumnText {
        /// The operator (`has`, `hasprefix`, `hassuffix` or `contains`).
        op: StrOp,
        /// The needle.
        pattern: String,
    },
}

impl Predicate {
    /// Prepares the predicate for repeated evaluation against rows of `table`.
    pub fn compile(&self, table: &TableSchema) -> CompiledPredicate {
        CompiledPredicate(match self {
            Predicate::Text { column, op, pattern } => Compiled::Text {
                column: *column,
                negated: op.negated,
                matcher: Arc::new(TextMatcher::new(op.kind, op.case_sensitive, pattern)),
            },
            Predicate::AnyColumnText { op, pattern } => Compiled::AnyText {
                memo: RefCell::new(vec![None; MEMO_SLOTS * table.columns.len()]),
                columns: table
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.ty.is_textual())
                    .map(|(i, _)| i)
                    .collect(),
                matcher: Arc::new(TextMatcher::new(op.kind, op.case_sensitive, pattern)),
            },
            other => Compiled::Plain(other.clone()),
        })
    }

    /// The column the predicate reads (`None` for [`Predicate::AnyColumnText`]).
    pub fn column(&self) -> Option<usize> {
        match self {
            Predicate::Compare { column, .. }
            | Predicate::EqualsIgnoreCase { column, .. }
            | Predicate::In { column, .. }
            | Predicate::Text { column, .. } => Some(*column),
            Predicate::AnyColumnText { .. } => None,
        }
    }
}

/// A [`Predicate`] ready to test rows (built by [`Predicate::compile`]).
#[derive(Clone, Debug)]
pub struct CompiledPredicate(Compiled);

#[derive(Clone, Debug)]
enum Compiled {
    Plain(Predicate),
    Text { column: usize, negated: bool, matcher: Arc<TextMatcher> },
    AnyText { columns: Vec<usize>, matcher: Arc<TextMatcher>, memo: RefCell<Vec<Option<(Arc<str>, bool)>>> },
}

/// Slots per column of the `search` memo.
const MEMO_SLOTS: usize = 64;

impl CompiledPredicate {
    /// Does the row pass? `cell(i)` gives column `i`'s value.
    pub fn matches<'a>(&self, cell: impl Fn(usize) -> &'a Value) -> bool {
        match &self.0 {
            Compiled::Text { column, negated, matcher } => {
                matcher.matches(&text_of(cell(*column))) != *negated
            }
            Compiled::AnyText { columns, matcher, memo } => {
                // Rows often share one string allocation per repeated value (pool names,
                // images, resource ids): remember recent answers per allocation.
                let mut memo = memo.borrow_mut();
                columns.iter().any(|c| {
                    let Value::String(s) = cell(*c) else { return false };
                    let slot = c * MEMO_SLOTS + (s.as_ptr() as usize >> 4) % MEMO_SLOTS;
                    match memo.get(slot) {
                        // The memo holds a clone, so an equal address is the same string.
                        Some(Some((held, hit))) if Arc::ptr_eq(held, s) => *hit,
                        _ => {
                            let hit = matcher.matches(s);
                            if let Some(m) = memo.get_mut(slot) {
                                *m = Some((s.clone(), hit));
                            }
                            hit
                        }
                    }
                })
            }
            Compiled::Plain(p) => match p {
                Predicate::Compare { column, op, value } => {
                    let v = cell(*column);
                    if v.is_null() {
                        return false;
                    }
                    let Some(ord) = compare(v, value) else { return false };
                    match op {
                        CompareOp::Eq => ord.is_eq(),
                        CompareOp::NotEq => ord.is_ne(),
                        CompareOp::Lt => ord.is_lt(),
                        CompareOp::Le => ord.is_le(),
                        CompareOp::Gt => ord.is_gt(),
                        CompareOp::Ge => ord.is_ge(),
                    }
                }
                Predicate::EqualsIgnoreCase { column, value, negated } => {
                    text_of(cell(*column)).eq_ignore_ascii_case(value) != *negated
                }
                Predicate::In { column, values, negated, case_insensitive } => {
                    let v = cell(*column);
                    if v.is_null() {
                        return *negated;
                    }
                    let hit = values.iter().any(|c| {
                        if *case_insensitive {
                            text_of(v).eq_ignore_ascii_case(&text_of(c))
                        } else {
                            compare(v, c).is_some_and(|o| o.is_eq())
                        }
                    });
                    hit != *negated
                }
                // `Predicate::compile` never puts string tests here.
                Predicate::Text { .. } | Predicate::AnyColumnText { .. } => false,
            },
        }
    }
}

fn text_of(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(other.to_kql_string()),
    }
}

/// What the engine asks of a source for one table.
#[derive(Clone, Debug)]
pub struct ScanRequest {
    /// The table (its schema fixes the row layout).
    pub table: Arc<TableSchema>,
    /// The columns each row must carry, as ascending indices into the table's columns.
    pub columns: Vec<usize>,
    /// Hint: only rows whose `TimeGenerated` is in this range.
    pub time_range: Option<TimeRange>,
    /// Hint: only rows passing every predicate.
    pub predicates: Vec<Predicate>,
    /// Hint: the order the engine will sort by (column index, descending), when followed by
    /// a `limit`.
    pub order: Option<(usize, bool)>,
    /// Hint: the engine needs at most this many rows (see the module's contract).
    pub limit: Option<usize>,
}

impl ScanRequest {
    /// A request for every column and row of `table`, with no hints.
    pub fn full(table: Arc<TableSchema>) -> ScanRequest {
        let n = table.columns.len();
        ScanRequest {
            table,
            columns: (0..n).collect(),
            time_range: None,
            predicates: Vec::new(),
            order: None,
            limit: None,
        }
    }
}

/// Where the engine reads tables from.
pub trait DataSource: Send + Sync {
    /// Pushes the rows of `request.table` into `sink` (see the module docs for the contract).
    fn scan(&self, request: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError>;
}

/// Tables held in memory, column by column. Rows are checked against the catalog's schemas on
/// insert; scans honour `time_range`, `predicates`, `columns` and (without `order`) `limit`.
#[derive(Debug, Default)]
pub struct MemorySource {
    schemas: HashMap<String, Arc<TableSchema>>,
    tables: HashMap<String, Vec<Vec<Value>>>,
}

impl MemorySource {
    /// An empty source that accepts rows for the catalog's tables.
    pub fn new(catalog: &Catalog) -> MemorySource {
        MemorySource {
            schemas: catalog.tables().map(|t| (t.name.clone(), t.clone())).collect(),
            tables: HashMap::new(),
        }
    }

    /// Appends a row given as `(column, value)` pairs; columns not named are null (`""` for
    /// strings). Values are converted to the column types; the error names the bad column.
    pub fn insert(&mut self, table: &str, cells: &[(&str, Value)]) -> Result<(), SourceError> {
        let err = |message: String| SourceError { table: table.to_string(), message };
        let schema = self
            .schemas
            .get(table)
            .ok_or_else(|| err("no such table in the catalog".into()))?
            .clone();
        let mut row: Row = schema
            .columns
            .iter()
            .map(|c| Value::Null.coerce_to(c.ty).unwrap_or(Value::Null))
            .collect();
        for (name, value) in cells {
            let i = schema
                .index_of(name)
                .ok_or_else(|| err(format!("the table has no column '{name}'")))?;
            let ty = schema.columns[i].ty;
            row[i] = value.clone().coerce_to(ty).ok_or_else(|| {
                err(format!("column '{name}' is {ty}; {value:?} cannot be converted to it"))
            })?;
        }
        self.push_row(table, row)
    }

    /// Appends a row already in schema order and types (fast path for bulk loads).
    pub fn push_row(&mut self, table: &str, row: Row) -> Result<(), SourceError> {
        let width = self.schemas.get(table).map(|s| s.columns.len());
        if width != Some(row.len()) {
            return Err(SourceError {
                table: table.to_string(),
                message: format!("a row needs {} values, got {}", width.unwrap_or(0), row.len()),
            });
        }
        let cols = self
            .tables
            .entry(table.to_string())
            .or_insert_with(|| (0..row.len()).map(|_| Vec::new()).collect());
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
        Ok(())
    }

    /// Number of rows held for a table.
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).and_then(|c| c.first()).map_or(0, Vec::len)
    }

    /// True when no table holds rows.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|c| c.first().is_none_or(Vec::is_empty))
    }
}

impl DataSource for MemorySource {
    fn scan(&self, request: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let Some(cols) = self.tables.get(&request.table.name) else { return Ok(()) };
        let rows = cols.first().map_or(0, Vec::len);
        let preds: Vec<CompiledPredicate> =
            request.predicates.iter().map(|p| p.compile(&request.table)).collect();
        let time = request.time_range.zip(request.table.time_column());
        let limit = if request.order.is_some() { None } else { request.limit };
        let mut sent = 0usize;
        for r in 0..rows {
            if limit.is_some_and(|l| sent >= l) {
                break;
            }
            if let Some((range, tc)) = time {
                match &cols[tc][r] {
                    Value::DateTime(t) if range.contains(*t) => {}
                    _ => continue,
                }
            }
            if !preds.iter().all(|p| p.matches(|c| &cols[c][r])) {
                continue;
            }
            let row: Row = request
                .columns
                .iter()
                .map(|c| cols.get(*c).map_or(Value::Null, |col| col[r].clone()))
                .collect();
            sent += 1;
            if sink.push(row) == Flow::Stop {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::StrOpKind;
    use crate::schema::TableSchema;
    use crate::value::ColumnType;

    struct Collect(Vec<Row>);
    impl RowSink for Collect {
        fn push(&mut self, row: Row) -> Flow {
            self.0.push(row);
            Flow::Continue
        }
    }

    fn source() -> (MemorySource, Arc<TableSchema>) {
        let t = TableSchema::new("T", &[("A", ColumnType::String), ("N", ColumnType::Long)]);
        let cat = Catalog::new().with_table(t);
        let mut s = MemorySource::new(&cat);
        for (a, n) in [("x", 1), ("Error here", 2), ("y", 3)] {
            s.insert("T", &[("A", Value::str(a)), ("N", Value::Long(n))]).unwrap();
        }
        (s, cat.table("T").unwrap())
    }

    #[test]
    fn scans_apply_hints() {
        let (s, t) = source();
        let mut req = ScanRequest::full(t);
        req.predicates.push(Predicate::Compare { column: 1, op: CompareOp::Ge, value: Value::Long(2) });
        req.columns = vec![1];
        let mut out = Collect(Vec::new());
        s.scan(&req, &mut out).unwrap();
        assert_eq!(out.0, vec![vec![Value::Long(2)], vec![Value::Long(3)]]);
        req.predicates = vec![Predicate::AnyColumnText {
            op: StrOp { kind: StrOpKind::Has, negated: false, case_sensitive: false },
            pattern: "error".into(),
        }];
        req.limit = Some(5);
        req.columns = vec![0, 1];
        let mut out = Collect(Vec::new());
        s.scan(&req, &mut out).unwrap();
        assert_eq!(out.0, vec![vec![Value::str("Error here"), Value::Long(2)]]);
    }

    #[test]
    fn inserts_are_checked_against_the_schema() {
        let (mut s, _) = source();
        let e = s.insert("T", &[("Nope", Value::Long(1))]).unwrap_err();
        assert!(e.to_string().contains("no column 'Nope'"));
        let e = s.insert("T", &[("N", Value::str("many"))]).unwrap_err();
        assert!(e.to_string().contains("column 'N' is long"));
        assert!(s.insert("U", &[]).is_err());
        assert_eq!(s.len("T"), 3);
    }
}

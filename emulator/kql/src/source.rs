//! How the engine reads tables: the [`DataSource`] trait, the [`ScanRequest`] it receives, and
//! the [`Predicate`]s it may apply (an in-memory implementation is in `memory`).
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

use std::sync::Arc;

use crate::ast::StrOp;
use crate::schema::TableSchema;
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
            Predicate::Text {
                column,
                op,
                pattern,
            } => Compiled::Text {
                column: *column,
                negated: op.negated,
                matcher: Arc::new(TextMatcher::new(op.kind, op.case_sensitive, pattern)),
            },
            Predicate::AnyColumnText { op, pattern } => Compiled::AnyText {
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
    Text {
        column: usize,
        negated: bool,
        matcher: Arc<TextMatcher>,
    },
    AnyText {
        columns: Vec<usize>,
        matcher: Arc<TextMatcher>,
    },
}

impl CompiledPredicate {
    /// For `search` predicates: the string columns and the test, so a source can evaluate them
    /// column by column.
    pub fn any_text(&self) -> Option<(&[usize], &TextMatcher)> {
        match &self.0 {
            Compiled::AnyText { columns, matcher } => Some((columns, matcher)),
            _ => None,
        }
    }

    /// For `has`/`contains`/... predicates on one column: the column, whether the test is
    /// negated, and the test, so a source can run it on its own string storage.
    pub fn text_test(&self) -> Option<(usize, bool, &TextMatcher)> {
        match &self.0 {
            Compiled::Text {
                column,
                negated,
                matcher,
            } => Some((*column, *negated, matcher)),
            _ => None,
        }
    }

    /// The column the predicate reads (`None` for `search` predicates).
    pub fn column(&self) -> Option<usize> {
        match &self.0 {
            Compiled::Text { column, .. } => Some(*column),
            Compiled::AnyText { .. } => None,
            Compiled::Plain(p) => p.column(),
        }
    }

    /// Does the row pass? `cell(i)` gives column `i`'s value.
    pub fn matches<'a>(&self, cell: impl Fn(usize) -> &'a Value) -> bool {
        match &self.0 {
            Compiled::Text {
                column,
                negated,
                matcher,
            } => matcher.matches(&text_of(cell(*column))) != *negated,
            Compiled::AnyText { columns, matcher } => {
                columns.iter().any(|c| matcher.matches(cell(*c).as_str()))
            }
            Compiled::Plain(p) => match p {
                Predicate::Compare { column, op, value } => {
                    let v = cell(*column);
                    if v.is_null() {
                        return false;
                    }
                    let Some(ord) = compare(v, value) else {
                        return false;
                    };
                    match op {
                        CompareOp::Eq => ord.is_eq(),
                        CompareOp::NotEq => ord.is_ne(),
                        CompareOp::Lt => ord.is_lt(),
                        CompareOp::Le => ord.is_le(),
                        CompareOp::Gt => ord.is_gt(),
                        CompareOp::Ge => ord.is_ge(),
                    }
                }
                Predicate::EqualsIgnoreCase {
                    column,
                    value,
                    negated,
                } => text_of(cell(*column)).eq_ignore_ascii_case(value) != *negated,
                Predicate::In {
                    column,
                    values,
                    negated,
                    case_insensitive,
                } => {
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

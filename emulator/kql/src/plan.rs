//! The executable plan semantic analysis produces: names resolved to column indices, types
//! known, constants folded, regexes and string matchers compiled.

use std::sync::Arc;

use regex::Regex;

use crate::ast::StrOp;
use crate::schema::{Column, TableSchema};
use crate::source::{CompareOp, Predicate};
use crate::text::TextMatcher;
use crate::value::{ColumnType, Value};

/// A bound scalar expression, evaluated against one row.
#[derive(Clone, Debug)]
pub enum BExpr {
    /// A constant.
    Const(Value),
    /// The row's column at this index.
    Column(usize),
    /// `and` (three-valued).
    And(Box<BExpr>, Box<BExpr>),
    /// `or` (three-valued).
    Or(Box<BExpr>, Box<BExpr>),
    /// `not()`
    Not(Box<BExpr>),
    /// `==`, `!=`, `<`, ... (null operands give null).
    Compare(CompareOp, Box<BExpr>, Box<BExpr>),
    /// `=~` / `!~`
    EqCi(Box<BExpr>, Box<BExpr>, bool),
    /// A string test against a constant needle.
    Text(Box<BExpr>, bool, Arc<TextMatcher>),
    /// A string test whose needle is computed per row.
    TextDyn(Box<BExpr>, StrOp, Box<BExpr>),
    /// `matches regex` with a constant pattern.
    Regex(Box<BExpr>, Arc<Regex>),
    /// Some of these (string) columns pass the test: `search "x"`, `* has "x"`.
    AnyText(Vec<usize>, Arc<TextMatcher>),
    /// `[!]in[~] (list)`
    In {
        /// Tested value.
        lhs: Box<BExpr>,
        /// Candidates.
        list: Vec<BExpr>,
        /// `!in`
        negated: bool,
        /// `in~`
        case_insensitive: bool,
    },
    /// `[!]between (low .. high)`
    Between(Box<BExpr>, Box<BExpr>, Box<BExpr>, bool),
    /// Arithmetic.
    Arith(ArithOp, Box<BExpr>, Box<BExpr>),
    /// Unary minus.
    Negate(Box<BExpr>),
    /// A scalar function.
    Call(Func, Vec<BExpr>),
    /// `d.key` / `d[index]` on a dynamic value.
    Member(Box<BExpr>, Box<BExpr>),
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

/// Scalar functions the engine evaluates per row (`ago()` and `now()` are folded to constants
/// during analysis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `todatetime(x)`
    ToDateTime,
    /// `tostring(x)`
    ToString,
    /// `tolong(x)` / `toint(x)`
    ToLong,
    /// `toreal(x)` / `todouble(x)`
    ToReal,
    /// `tobool(x)`
    ToBool,
    /// `totimespan(x)`
    ToTimespan,
    /// `todynamic(x)` / `parse_json(x)`
    ToDynamic,
    /// `strcat(a, b, ...)`
    StrCat,
    /// `iff(p, a, b)` / `iif`
    Iff,
    /// `case(p1, v1, ..., else)`
    Case,
    /// `coalesce(a, b, ...)`
    Coalesce,
    /// `isempty(x)`
    IsEmpty,
    /// `isnotempty(x)`
    IsNotEmpty,
    /// `isnull(x)`
    IsNull,
    /// `isnotnull(x)`
    IsNotNull,
    /// `bin(x, size)` / `floor(x, size)`
    Bin,
    /// `tolower(s)`
    ToLower,
    /// `toupper(s)`
    ToUpper,
    /// `strlen(s)`
    StrLen,
    /// `substring(s, start[, length])`
    Substring,
}

/// An aggregation of `summarize`.
#[derive(Clone, Debug)]
pub enum Agg {
    /// `count()`
    Count,
    /// `countif(p)`
    CountIf(BExpr),
    /// `dcount(x)` (exact)
    DCount(BExpr),
    /// `min(x)`
    Min(BExpr),
    /// `max(x)`
    Max(BExpr),
    /// `avg(x)`
    Avg(BExpr),
    /// `sum(x)`
    Sum(BExpr, ColumnType),
    /// `make_list(x)`
    MakeList(BExpr),
    /// `make_set(x)`
    MakeSet(BExpr),
    /// `take_any(x)` / `any(x)`
    TakeAny(BExpr),
    /// `arg_max(key, outputs...)` (`max` true) / `arg_min`
    ArgBest {
        /// The expression to maximise or minimise.
        key: BExpr,
        /// Values returned from the winning row.
        outputs: Vec<BExpr>,
        /// `arg_max` rather than `arg_min`.
        max: bool,
    },
}

/// A sort key: the expression, its direction, and where nulls go.
#[derive(Clone, Debug)]
pub struct SortSpec {
    /// What to sort by.
    pub expr: BExpr,
    /// Descending.
    pub descending: bool,
    /// Nulls before other values.
    pub nulls_first: bool,
}

/// One step of the pipeline.
#[derive(Clone, Debug)]
pub enum Op {
    /// Keep rows where the predicate is true.
    Filter(BExpr),
    /// Compute columns: `Some(i)` replaces column `i`, `None` appends.
    Extend(Vec<(Option<usize>, BExpr)>),
    /// Build a new row from expressions.
    Project(Vec<BExpr>),
    /// First `n` rows.
    Take(usize),
    /// Sort; with `limit`, keep only the first rows (`top`).
    Sort {
        /// Keys, most significant first.
        keys: Vec<SortSpec>,
        /// `top n`
        limit: Option<usize>,
    },
    /// Group and aggregate: output rows are the `by` values then `outputs`, where each
    /// output is evaluated over the row `[by values..., aggregate results...]`.
    Summarize {
        /// Group keys.
        by: Vec<BExpr>,
        /// Aggregations.
        aggs: Vec<Agg>,
        /// Output expressions; `None` when the outputs are exactly the aggregates.
        outputs: Option<Vec<BExpr>>,
    },
    /// The number of rows.
    Count,
}

/// Where a plan's rows come from.
#[derive(Clone, Debug)]
pub enum PlanSource {
    /// One table.
    Scan(Scan),
    /// Several sub-plans whose rows are laid out into the union's columns.
    Union(Vec<UnionLeg>),
    /// One row of constants (`print`).
    Print(Vec<Value>),
}

/// Reading one table, with the hints pushdown derived.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The table.
    pub table: Arc<TableSchema>,
    /// The table columns each scanned row carries (ascending indices); the plan's expressions
    /// address rows in this compact layout.
    pub columns: Vec<usize>,
    /// Hint predicates (the plan re-applies them).
    pub predicates: Vec<Predicate>,
    /// Hint: sort column and direction (only with `limit`).
    pub order: Option<(usize, bool)>,
    /// Hint: rows needed.
    pub limit: Option<usize>,
}

/// One operand of a union.
#[derive(Clone, Debug)]
pub struct UnionLeg {
    /// The operand's plan.
    pub plan: Plan,
    /// For each union column, the operand's column feeding it (or `None`: null).
    pub mapping: Vec<Option<usize>>,
    /// Constant values for union columns the operand does not have (`$table`, `withsource`).
    pub constants: Vec<(usize, Value)>,
}

/// A complete, executable plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Row producer.
    pub source: PlanSource,
    /// Steps applied in order.
    pub ops: Vec<Op>,
    /// The result's columns.
    pub columns: Vec<Column>,
}

/// A column list's names, for error messages.
pub fn column_names(cols: &[Column]) -> Vec<&str> {
    cols.iter().map(|c| c.name.as_str()).collect()
}

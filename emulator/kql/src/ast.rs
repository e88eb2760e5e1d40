//! The syntax tree the parser produces. Every node carries the [`Span`] of its text so semantic
//! errors can point at it. Names are not resolved here; see `analyze`.

use crate::span::Span;
use crate::time::{DateTime, Timespan};

/// A whole query: `let` statements, then one tabular expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `let name = ...;` statements, in order.
    pub lets: Vec<Let>,
    /// The expression whose result is returned.
    pub body: TabularExpr,
}

/// `let name = value;`
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// The bound name.
    pub name: Name,
    /// What it is bound to.
    pub value: LetValue,
}

/// The right-hand side of a `let`.
#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// A scalar expression.
    Scalar(Expr),
    /// A tabular expression (a named sub-query).
    Tabular(TabularExpr),
}

/// A name and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The name.
    pub text: String,
    /// Its position.
    pub span: Span,
}

/// `source | op | op ...`
#[derive(Clone, Debug, PartialEq)]
pub struct TabularExpr {
    /// Where rows come from.
    pub source: Source,
    /// The piped operators, in order.
    pub ops: Vec<Operator>,
}

/// The first element of a tabular expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A table (or a tabular `let`) by name.
    Table(Name),
    /// `union T1, T2, (sub-query) ...`
    Union(Union),
    /// `search [in (T1, T2)] predicate`
    Search(Search),
    /// `print a = 1, ...`: one row of scalar expressions.
    Print(Vec<NamedExpr>, Span),
}

/// The operands of `union`.
#[derive(Clone, Debug, PartialEq)]
pub struct Union {
    /// The legs, in order.
    pub legs: Vec<TabularExpr>,
    /// `withsource=Name`: a column naming each row's table.
    pub with_source: Option<Name>,
    /// The `union` keyword.
    pub span: Span,
}

/// `search [in (tables)] predicate`.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// `in (T1, T2)`; `None` means every table.
    pub tables: Option<Vec<Name>>,
    /// The predicate; a bare string literal means "any column has this term".
    pub predicate: Expr,
    /// The `search` keyword.
    pub span: Span,
}

/// One piped operator and the span of its keyword.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// What it does.
    pub kind: OperatorKind,
    /// The operator's keyword (`where`, `project-away`, ...).
    pub span: Span,
}

/// The tabular operators the parser knows.
#[derive(Clone, Debug, PartialEq)]
pub enum OperatorKind {
    /// `where predicate` (also `filter`).
    Where(Expr),
    /// `project a, b = expr`
    Project(Vec<NamedExpr>),
    /// `project-away a, b*`
    ProjectAway(Vec<Name>),
    /// `project-keep a, b*`
    ProjectKeep(Vec<Name>),
    /// `project-rename new = old`
    ProjectRename(Vec<(Name, Name)>),
    /// `project-reorder a, b*`
    ProjectReorder(Vec<Name>),
    /// `extend a = expr`
    Extend(Vec<NamedExpr>),
    /// `order by` / `sort by`
    Sort(Vec<SortKey>),
    /// `take n` / `limit n`
    Take(Expr),
    /// `top n by key`
    Top(Expr, SortKey),
    /// `summarize aggs by keys`
    Summarize {
        /// Aggregations.
        aggs: Vec<NamedExpr>,
        /// Group keys.
        by: Vec<NamedExpr>,
    },
    /// `distinct a, b` (`distinct *` when `None`)
    Distinct(Option<Vec<NamedExpr>>),
    /// `count`
    Count,
    /// `union T2, ...` after a pipe
    Union(Union),
    /// `search predicate` after a pipe
    Search(Search),
    /// `render chart`: no effect on the rows (the API returns data, not charts)
    Render,
}

/// `[name =] expr`
#[derive(Clone, Debug, PartialEq)]
pub struct NamedExpr {
    /// The output column name, when given.
    pub name: Option<Name>,
    /// The expression.
    pub expr: Expr,
}

/// `expr [asc|desc] [nulls first|last]`
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    /// What to sort by.
    pub expr: Expr,
    /// Descending (KQL's default).
    pub descending: bool,
    /// `nulls first` / `nulls last`; `None` means the default for the direction.
    pub nulls_first: Option<bool>,
}

/// A scalar expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Its text.
    pub span: Span,
}

/// Scalar expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A column or scalar `let` name.
    Name(String),
    /// `*` (only meaningful as a function argument, as in `arg_max(t, *)`).
    Star,
    /// `f(args)`
    Call(Name, Vec<Expr>),
    /// `-x`
    Negate(Box<Expr>),
    /// `a op b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `a [!]in[~] (list)`
    In {
        /// The tested value.
        lhs: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `!in`
        negated: bool,
        /// `in~`
        case_insensitive: bool,
    },
    /// `a [!]between (lo .. hi)`
    Between {
        /// The tested value.
        lhs: Box<Expr>,
        /// Inclusive lower bound.
        low: Box<Expr>,
        /// Inclusive upper bound.
        high: Box<Expr>,
        /// `!between`
        negated: bool,
    },
    /// `a.b` or `a["b"]` / `a[0]`: member access into dynamic values.
    Member(Box<Expr>, Box<Expr>),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=` / `<>`
    NotEq,
    /// `=~`
    EqCi,
    /// `!~`
    NotEqCi,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
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
    /// A string operator such as `has`, `!contains`, `startswith_cs`, `matches regex`.
    Str(StrOp),
}

/// The string operators; `negated` is the `!` form, `case_sensitive` the `_cs` form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrOp {
    /// Which test.
    pub kind: StrOpKind,
    /// `!has`, `!contains`, ...
    pub negated: bool,
    /// `has_cs`, `contains_cs`, ...
    pub case_sensitive: bool,
}

/// String tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOpKind {
    /// Whole-term match.
    Has,
    /// Term prefix.
    HasPrefix,
    /// Term suffix.
    HasSuffix,
    /// Substring.
    Contains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
    /// `matches regex`
    MatchesRegex,
}

impl StrOp {
    /// The operator as written (`!has`, `contains_cs`, `matches regex`).
    pub fn text(self) -> String {
        let base = match self.kind {
            StrOpKind::Has => "has",
            StrOpKind::HasPrefix => "hasprefix",
            StrOpKind::HasSuffix => "hassuffix",
            StrOpKind::Contains => "contains",
            StrOpKind::StartsWith => "startswith",
            StrOpKind::EndsWith => "endswith",
            StrOpKind::MatchesRegex => "matches regex",
        };
        format!(
            "{}{base}{}",
            if self.negated { "!" } else { "" },
            if self.case_sensitive { "_cs" } else { "" }
        )
    }
}

/// Literal values.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `true`/`false`/`bool(...)`
    Bool(Option<bool>),
    /// An integer (`int(...)` literals are `Int`).
    Long(Option<i64>),
    /// `int(...)`
    Int(Option<i64>),
    /// A real.
    Real(Option<f64>),
    /// A string.
    String(String),
    /// `datetime(...)`
    DateTime(Option<DateTime>),
    /// `5m`, `timespan(...)`
    Timespan(Option<Timespan>),
    /// `dynamic(...)`
    Dynamic(serde_json::Value),
    /// `guid(...)`
    Guid(Option<String>),
}

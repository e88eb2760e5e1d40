//! Binding scalar expressions: names to columns or `let` constants, type checking, function
//! resolution, constant folding (`ago(1h)` becomes a datetime constant, so it can be pushed to
//! the data source), and compiling string matchers and regexes once per query.

use std::sync::Arc;

use regex::Regex;

use super::Ctx;
use crate::ast::{BinaryOp, Expr, ExprKind, Literal, StrOpKind};
use crate::error::QueryError;
use crate::exec::eval::eval;
use crate::plan::{ArithOp, BExpr, Func};
use crate::schema::{suggest, Column};
use crate::source::CompareOp;
use crate::text::TextMatcher;
use crate::value::{ColumnType, Value};

/// Scalar functions this engine implements (for error messages).
pub const SUPPORTED_FUNCTIONS: &str = "ago, now, todatetime, tostring, tolong, toint, toreal, \
todouble, tobool, totimespan, todynamic, parse_json, strcat, iff, iif, case, coalesce, not, \
isempty, isnotempty, isnull, isnotnull, bin, floor, tolower, toupper, strlen, substring, \
column_ifexists";

/// Aggregation functions (valid only in `summarize`).
pub const AGGREGATES: [&str; 14] = [
    "count",
    "countif",
    "dcount",
    "min",
    "max",
    "avg",
    "sum",
    "make_list",
    "make_set",
    "take_any",
    "any",
    "arg_max",
    "arg_min",
    "dcountif",
];

/// A bound expression and its type.
#[derive(Clone, Debug)]
pub struct Typed {
    /// The expression.
    pub expr: BExpr,
    /// Its type.
    pub ty: ColumnType,
}

impl Typed {
    fn new(expr: BExpr, ty: ColumnType) -> Typed {
        Typed { expr, ty }
    }
}

/// Binds expressions against one row layout (`scope`), inside the operator named `op`.
pub struct Binder<'a> {
    /// Query-wide context (catalog, `now`, lets).
    pub ctx: &'a Ctx,
    /// The columns of the rows the expression will see.
    pub scope: &'a [Column],
    /// The operator, for messages (`where`, `extend`, ...).
    pub op: &'a str,
}

impl Binder<'_> {
    /// Binds and type-checks `e`, folding it if it reads no column.
    pub fn bind(&self, e: &Expr) -> Result<Typed, QueryError> {
        let t = self.bind_inner(e)?;
        Ok(fold(t))
    }

    /// Binds a predicate: the result must be `bool` (or `dynamic`).
    pub fn bind_predicate(&self, e: &Expr) -> Result<Typed, QueryError> {
        let t = self.bind(e)?;
        if !matches!(t.ty, ColumnType::Bool | ColumnType::Dynamic) {
            return Err(QueryError::semantic(
                e.span,
                format!(
                    "'{}' operator: the expression must be a bool predicate, but it is {}",
                    self.op, t.ty
                ),
            ));
        }
        Ok(t)
    }

    fn bind_inner(&self, e: &Expr) -> Result<Typed, QueryError> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(literal(l)),
            ExprKind::Name(n) => self.name(n, e),
            ExprKind::Star => Err(QueryError::semantic(
                e.span,
                "'*' stands for all columns only in arg_max(x, *), arg_min(x, *) and '* has \"term\"'",
            )),
            ExprKind::Call(name, args) => self.call(&name.text, args, e),
            ExprKind::Negate(inner) => {
                let t = self.bind(inner)?;
                if !(t.ty.is_numeric() || t.ty == ColumnType::Timespan || t.ty == ColumnType::Dynamic) {
                    return Err(QueryError::semantic(e.span, format!("cannot negate a {} value", t.ty)));
                }
                Ok(Typed::new(BExpr::Negate(Box::new(t.expr)), t.ty))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e),
            ExprKind::In { lhs, list, negated, case_insensitive } => {
                let l = self.bind(lhs)?;
                let mut items = Vec::new();
                for item in list {
                    let t = self.bind(item)?;
                    if !*case_insensitive && !comparable(l.ty, t.ty) {
                        return Err(cannot_compare(item.span, l.ty, t.ty));
                    }
                    items.push(t.expr);
                }
                Ok(Typed::new(
                    BExpr::In {
                        lhs: Box::new(l.expr),
                        list: items,
                        negated: *negated,
                        case_insensitive: *case_insensitive,
                    },
                    ColumnType::Bool,
                ))
            }
            ExprKind::Between { lhs, low, high, negated } => {
                let v = self.bind(lhs)?;
                let lo = self.bind(low)?;
                let mut hi = self.bind(high)?;
                // `t between (start .. 1h)`: a timespan upper bound counts from the start.
                if v.ty == ColumnType::DateTime
                    && lo.ty == ColumnType::DateTime
                    && hi.ty == ColumnType::Timespan
                {
                    let end = BExpr::Arith(ArithOp::Add, Box::new(lo.expr.clone()), Box::new(hi.expr));
                    hi = fold(Typed::new(end, ColumnType::DateTime));
                }
                for (t, span) in [(&lo, low.span), (&hi, high.span)] {
                    if !comparable(v.ty, t.ty) {
                        return Err(cannot_compare(span, v.ty, t.ty));
                    }
                }
                Ok(Typed::new(
                    BExpr::Between(Box::new(v.expr), Box::new(lo.expr), Box::new(hi.expr), *negated),
                    ColumnType::Bool,
                ))
            }
            ExprKind::Member(base, key) => {
                let b = self.bind(base)?;
                if b.ty != ColumnType::Dynamic {
                    return Err(QueryError::semantic(
                        e.span,
                        format!("only dynamic values have members or elements; this is {}", b.ty),
                    ));
                }
                let k = self.bind(key)?;
                Ok(Typed::new(BExpr::Member(Box::new(b.expr), Box::new(k.expr)), ColumnType::Dynamic))
            }
        }
    }

    fn name(&self, n: &str, e: &Expr) -> Result<Typed, QueryError> {
        if let Some(i) = self.scope.iter().position(|c| c.name == n) {
            return Ok(Typed::new(BExpr::Column(i), self.scope[i].ty));
        }
        if let Some((v, ty)) = self.ctx.scalar_let(n) {
            return Ok(Typed::new(BExpr::Const(v), ty));
        }
        let mut message = format!(
            "'{}' operator: Failed to resolve scalar expression named '{n}'",
            self.op
        );
        if let Some(s) = suggest(n, self.scope.iter().map(|c| c.name.as_str())) {
            message.push_str(&format!("; did you mean '{s}'?"));
        }
        Err(QueryError::unresolved(e.span, message))
    }

    fn binary(&self, op: BinaryOp, a: &Expr, b: &Expr, e: &Expr) -> Result<Typed, QueryError> {
        if let BinaryOp::Str(sop) = op {
            if matches!(a.kind, ExprKind::Star) {
                return self.any_column_text(sop, b, e);
            }
        }
        let l = self.bind(a)?;
        let r = self.bind(b)?;
        let bx = |t: Typed| Box::new(t.expr);
        let cmp = |cop: CompareOp, l: Typed, r: Typed| {
            if !comparable(l.ty, r.ty) {
                return Err(cannot_compare(e.span, l.ty, r.ty));
            }
            Ok(Typed::new(
                BExpr::Compare(cop, bx(l), bx(r)),
                ColumnType::Bool,
            ))
        };
        match op {
            BinaryOp::Or | BinaryOp::And => {
                for (t, s) in [(&l, a.span), (&r, b.span)] {
                    if !matches!(t.ty, ColumnType::Bool | ColumnType::Dynamic) {
                        return Err(QueryError::semantic(
                            s,
                            format!(
                                "'{}' needs bool operands, but this is {}",
                                if op == BinaryOp::Or { "or" } else { "and" },
                                t.ty
                            ),
                        ));
                    }
                }
                let expr = if op == BinaryOp::Or {
                    BExpr::Or(bx(l), bx(r))
                } else {
                    BExpr::And(bx(l), bx(r))
                };
                Ok(Typed::new(expr, ColumnType::Bool))
            }
            BinaryOp::Eq => cmp(CompareOp::Eq, l, r),
            BinaryOp::NotEq => cmp(CompareOp::NotEq, l, r),
            BinaryOp::Lt => cmp(CompareOp::Lt, l, r),
            BinaryOp::Le => cmp(CompareOp::Le, l, r),
            BinaryOp::Gt => cmp(CompareOp::Gt, l, r),
            BinaryOp::Ge => cmp(CompareOp::Ge, l, r),
            BinaryOp::EqCi | BinaryOp::NotEqCi => {
                for (t, s) in [(&l, a.span), (&r, b.span)] {
                    if !(t.ty.is_textual() || t.ty == ColumnType::Dynamic) {
                        return Err(QueryError::semantic(
                            s,
                            format!(
                                "'=~' and '!~' compare strings, but this is {}; use tostring()",
                                t.ty
                            ),
                        ));
                    }
                }
                Ok(Typed::new(
                    BExpr::EqCi(bx(l), bx(r), op == BinaryOp::NotEqCi),
                    ColumnType::Bool,
                ))
            }
            BinaryOp::Str(sop) => {
                let pattern = match &r.expr {
                    BExpr::Const(v) => Some(crate::exec::eval::text(v).into_owned()),
                    _ => None,
                };
                let expr = match (sop.kind, pattern) {
                    (StrOpKind::MatchesRegex, Some(p)) => {
                        let re = Regex::new(&p).map_err(|err| {
                            QueryError::semantic(
                                b.span,
                                format!("the regular expression is invalid: {err}"),
                            )
                        })?;
                        BExpr::Regex(bx(l), Arc::new(re))
                    }
                    (StrOpKind::MatchesRegex, None) => {
                        return Err(QueryError::unsupported(
                            b.span,
                            "a regular expression computed per row",
                            "a constant pattern: matches regex \"...\"",
                        ))
                    }
                    (kind, Some(p)) => BExpr::Text(
                        bx(l),
                        sop.negated,
                        Arc::new(TextMatcher::new(kind, sop.case_sensitive, &p)),
                    ),
                    (_, None) => BExpr::TextDyn(bx(l), sop, bx(r)),
                };
                Ok(Typed::new(expr, ColumnType::Bool))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                let aop = match op {
                    BinaryOp::Add => ArithOp::Add,
                    BinaryOp::Sub => ArithOp::Sub,
                    BinaryOp::Mul => ArithOp::Mul,
                    BinaryOp::Div => ArithOp::Div,
                    _ => ArithOp::Mod,
                };
                let ty = arith_type(aop, l.ty, r.ty).ok_or_else(|| {
                    QueryError::semantic(
                        e.span,
                        format!("the operator cannot combine {} and {} values", l.ty, r.ty),
                    )
                })?;
                Ok(Typed::new(BExpr::Arith(aop, bx(l), bx(r)), ty))
            }
        }
    }

    /// `* has "x"`: any string column.
    fn any_column_text(
        &self,
        sop: crate::ast::StrOp,
        b: &Expr,
        e: &Expr,
    ) -> Result<Typed, QueryError> {
        let r = self.bind(b)?;
        let BExpr::Const(v) = &r.expr else {
            return Err(QueryError::semantic(
                b.span,
                "'* has' needs a constant string",
            ));
        };
        if sop.negated || sop.kind == StrOpKind::MatchesRegex {
            return Err(QueryError::unsupported(
                e.span,
                &format!("'* {}'", sop.text()),
                "* has, * contains, * hasprefix, * hassuffix, * startswith, * endswith",
            ));
        }
        let cols = self
            .scope
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ty.is_textual())
            .map(|(i, _)| i)
            .collect();
        let m = TextMatcher::new(sop.kind, sop.case_sensitive, &crate::exec::eval::text(v));
        Ok(Typed::new(
            BExpr::AnyText(cols, Arc::new(m)),
            ColumnType::Bool,
        ))
    }

    fn call(&self, name: &str, args: &[Expr], e: &Expr) -> Result<Typed, QueryError> {
        let arity = |min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                let expected = if min == max {
                    min.to_string()
                } else {
                    format!("{min} to {max}")
                };
                return Err(QueryError::semantic(
                    e.span,
                    format!("{name}() takes {expected} argument(s), got {}", args.len()),
                ));
            }
            Ok(())
        };
        if name == "column_ifexists" {
            arity(2, 2)?;
            let ExprKind::Literal(Literal::String(col)) = &args[0].kind else {
                return Err(QueryError::semantic(
                    args[0].span,
                    "column_ifexists() needs a column name string",
                ));
            };
            return match self.scope.iter().position(|c| &c.name == col) {
                Some(i) => Ok(Typed::new(BExpr::Column(i), self.scope[i].ty)),
                None => self.bind(&args[1]),
            };
        }
        if AGGREGATES.contains(&name) {
            return Err(QueryError::semantic(
                e.span,
                format!(
                    "{name}() is an aggregation; use it in 'summarize', not in '{}'",
                    self.op
                ),
            ));
        }
        let bound: Vec<Typed> = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<_, _>>()?;
        let need = |i: usize, ok: &dyn Fn(ColumnType) -> bool, what: &str| {
            let t = bound[i].ty;
            if ok(t) || t == ColumnType::Dynamic {
                Ok(())
            } else {
                Err(QueryError::semantic(
                    args[i].span,
                    format!(
                        "argument {} of {name}() must be {what}, but it is {t}",
                        i + 1
                    ),
                ))
            }
        };
        let exprs = || bound.iter().map(|t| t.expr.clone()).collect::<Vec<_>>();
        let f = |func: Func, ty: ColumnType| Ok(Typed::new(BExpr::Call(func, exprs()), ty));
        use ColumnType as T;
        match name {
            "ago" => {
                arity(1, 1)?;
                need(0, &|t| t == T::Timespan, "a timespan (like 1h)")?;
                let now = BExpr::Const(Value::DateTime(self.ctx.now));
                Ok(Typed::new(
                    BExpr::Arith(ArithOp::Sub, Box::new(now), Box::new(exprs().remove(0))),
                    T::DateTime,
                ))
            }
            "now" => {
                arity(0, 1)?;
                let now = BExpr::Const(Value::DateTime(self.ctx.now));
                if bound.is_empty() {
                    return Ok(Typed::new(now, T::DateTime));
                }
                need(0, &|t| t == T::Timespan, "a timespan offset")?;
                Ok(Typed::new(
                    BExpr::Arith(ArithOp::Add, Box::new(now), Box::new(exprs().remove(0))),
                    T::DateTime,
                ))
            }
            "not" => {
                arity(1, 1)?;
                need(0, &|t| t == T::Bool, "bool")?;
                Ok(Typed::new(BExpr::Not(Box::new(exprs().remove(0))), T::Bool))
            }
            "todatetime" => arity(1, 1).and_then(|_| f(Func::ToDateTime, T::DateTime)),
            "tostring" => arity(1, 1).and_then(|_| f(Func::ToString, T::String)),
            "tolong" => arity(1, 1).and_then(|_| f(Func::ToLong, T::Long)),
            "toint" => arity(1, 1).and_then(|_| f(Func::ToLong, T::Int)),
            "toreal" | "todouble" | "todecimal" => {
                arity(1, 1).and_then(|_| f(Func::ToReal, T::Real))
            }
            "tobool" | "toboolean" => arity(1, 1).and_then(|_| f(Func::ToBool, T::Bool)),
            "totimespan" | "totime" => arity(1, 1).and_then(|_| f(Func::ToTimespan, T::Timespan)),
            "todynamic" | "parse_json" | "toobject" => {
                arity(1, 1).and_then(|_| f(Func::ToDynamic, T::Dynamic))
            }
            "strcat" => arity(1, 64).and_then(|_| f(Func::StrCat, T::String)),
            "isempty" => arity(1, 1).and_then(|_| f(Func::IsEmpty, T::Bool)),
            "isnotempty" => arity(1, 1).and_then(|_| f(Func::IsNotEmpty, T::Bool)),
            "isnull" => arity(1, 1).and_then(|_| f(Func::IsNull, T::Bool)),
            "isnotnull" => arity(1, 1).and_then(|_| f(Func::IsNotNull, T::Bool)),
            "tolower" => arity(1, 1).and_then(|_| f(Func::ToLower, T::String)),
            "toupper" => arity(1, 1).and_then(|_| f(Func::ToUpper, T::String)),
            "strlen" => arity(1, 1).and_then(|_| f(Func::StrLen, T::Long)),
            "substring" => {
                arity(2, 3)?;
                for i in 1..bound.len() {
                    need(i, &|t| matches!(t, T::Long | T::Int), "an integer")?;
                }
                f(Func::Substring, T::String)
            }
            "iff" | "iif" => {
                arity(3, 3)?;
                need(0, &|t| t == T::Bool, "bool")?;
                let ty = branch_type(&bound[1..]);
                f(Func::Iff, ty)
            }
            "case" => {
                if args.len() < 3 || args.len() % 2 == 0 {
                    return Err(QueryError::semantic(
                        e.span,
                        "case() takes predicate/value pairs and a final else value (an odd count, at least 3)",
                    ));
                }
                for i in (0..args.len() - 1).step_by(2) {
                    need(i, &|t| t == T::Bool, "bool")?;
                }
                let values: Vec<Typed> = bound
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 1 || *i == args.len() - 1)
                    .map(|(_, t)| t.clone())
                    .collect();
                f(Func::Case, branch_type(&values))
            }
            "coalesce" => arity(1, 64).and_then(|_| f(Func::Coalesce, branch_type(&bound))),
            "bin" | "floor" => {
                arity(2, 2)?;
                let ty = match (bound[0].ty, bound[1].ty) {
                    (T::DateTime, T::Timespan) => T::DateTime,
                    (T::Timespan, T::Timespan) => T::Timespan,
                    (T::Long | T::Int, T::Long | T::Int) => T::Long,
                    (a, b) if a.is_numeric() && b.is_numeric() => T::Real,
                    (T::Dynamic, _) | (_, T::Dynamic) => T::Dynamic,
                    (a, b) => {
                        return Err(QueryError::semantic(
                            e.span,
                            format!("{name}() rounds a number, datetime or timespan by a size of the same kind; got {a} and {b}"),
                        ))
                    }
                };
                f(Func::Bin, ty)
            }
            _ => Err(QueryError::unsupported(
                e.span,
                &format!("the function '{name}()'"),
                SUPPORTED_FUNCTIONS,
            )),
        }
    }
}

/// The type of `iff`/`case`/`coalesce`: the first branch that is not a bare null literal.
fn branch_type(branches: &[Typed]) -> ColumnType {
    branches
        .iter()
        .find(|t| !matches!(t.expr, BExpr::Const(Value::Null)))
        .or(branches.first())
        .map_or(ColumnType::Dynamic, |t| t.ty)
}

fn literal(l: &Literal) -> Typed {
    let (v, ty) = match l {
        Literal::Bool(b) => (b.map_or(Value::Null, Value::Bool), ColumnType::Bool),
        Literal::Long(v) => (v.map_or(Value::Null, Value::Long), ColumnType::Long),
        Literal::Int(v) => (v.map_or(Value::Null, Value::Long), ColumnType::Int),
        Literal::Real(v) => (v.map_or(Value::Null, Value::Real), ColumnType::Real),
        Literal::String(s) => (Value::str(s), ColumnType::String),
        Literal::DateTime(d) => (d.map_or(Value::Null, Value::DateTime), ColumnType::DateTime),
        Literal::Timespan(t) => (t.map_or(Value::Null, Value::Timespan), ColumnType::Timespan),
        Literal::Dynamic(j) => (Value::Dynamic(Arc::new(j.clone())), ColumnType::Dynamic),
        Literal::Guid(g) => (
            g.as_deref().map_or(Value::Null, Value::str),
            ColumnType::Guid,
        ),
    };
    Typed::new(BExpr::Const(v), ty)
}

/// Can values of these types be compared with `==`, `<`, ...?
pub fn comparable(a: ColumnType, b: ColumnType) -> bool {
    a == b
        || (a.is_numeric() && b.is_numeric())
        || (a.is_textual() && b.is_textual())
        || a == ColumnType::Dynamic
        || b == ColumnType::Dynamic
}

fn cannot_compare(span: crate::span::Span, a: ColumnType, b: ColumnType) -> QueryError {
    QueryError::semantic(
        span,
        format!("Cannot compare values of types {a} and {b}. Try adding explicit casts"),
    )
}

/// The result type of arithmetic, or `None` when the types do not combine.
fn arith_type(op: ArithOp, a: ColumnType, b: ColumnType) -> Option<ColumnType> {
    use ArithOp::*;
    use ColumnType as T;
    Some(match (op, a, b) {
        (_, T::Dynamic, _) | (_, _, T::Dynamic) => T::Dynamic,
        (_, T::Int, T::Int) => T::Int,
        (_, T::Long | T::Int, T::Long | T::Int) => T::Long,
        (_, x, y) if x.is_numeric() && y.is_numeric() => T::Real,
        (Sub, T::DateTime, T::DateTime) => T::Timespan,
        (Add, T::DateTime, T::Timespan) | (Add, T::Timespan, T::DateTime) => T::DateTime,
        (Sub, T::DateTime, T::Timespan) => T::DateTime,
        (Add | Sub | Mod, T::Timespan, T::Timespan) => T::Timespan,
        (Div, T::Timespan, T::Timespan) => T::Real,
        (Mul, T::Timespan, n) | (Mul, n, T::Timespan) if n.is_numeric() => T::Timespan,
        (Div, T::Timespan, n) if n.is_numeric() => T::Timespan,
        _ => return None,
    })
}

/// Does the expression read the row?
pub fn reads_row(e: &BExpr) -> bool {
    match e {
        BExpr::Const(_) => false,
        BExpr::Column(_) | BExpr::AnyText(..) => true,
        BExpr::And(a, b)
        | BExpr::Or(a, b)
        | BExpr::Compare(_, a, b)
        | BExpr::EqCi(a, b, _)
        | BExpr::TextDyn(a, _, b)
        | BExpr::Arith(_, a, b)
        | BExpr::Member(a, b) => reads_row(a) || reads_row(b),
        BExpr::Not(a) | BExpr::Negate(a) | BExpr::Text(a, _, _) | BExpr::Regex(a, _) => {
            reads_row(a)
        }
        BExpr::In { lhs, list, .. } => reads_row(lhs) || list.iter().any(reads_row),
        BExpr::Between(a, b, c, _) => reads_row(a) || reads_row(b) || reads_row(c),
        BExpr::Call(_, args) => args.iter().any(reads_row),
    }
}

/// Replaces an expression that reads no column by its value.
fn fold(t: Typed) -> Typed {
    if matches!(t.expr, BExpr::Const(_)) || reads_row(&t.expr) {
        return t;
    }
    let v = eval(&t.expr, &[]);
    Typed::new(BExpr::Const(v), t.ty)
}

/// The column name KQL gives an unnamed expression, when it has one: a column's own name,
/// `d_key` for `d.key`, and (when `by_clause`) the column inside `bin()`/`floor()`.
pub fn implicit_name(e: &Expr, by_clause: bool) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.clone()),
        ExprKind::Member(base, key) => match (&base.kind, &key.kind) {
            (ExprKind::Name(b), ExprKind::Literal(Literal::String(k))) => Some(format!("{b}_{k}")),
            _ => None,
        },
        ExprKind::Call(f, args) if by_clause && matches!(f.text.as_str(), "bin" | "floor") => {
            args.first().and_then(|a| implicit_name(a, false))
        }
        _ => None,
    }
}

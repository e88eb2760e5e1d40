//! Binding `summarize` (and `distinct`): group keys, aggregations, and output expressions
//! built from aggregations (`summarize ratio = 100.0 * countif(x) / count()`).
//!
//! Output columns are the `by` keys first, then one column per aggregation item. Default names
//! follow KQL: `count_`, `countif_`, `dcount_X`, `min_X`, `max_X`, `avg_X`, `sum_X`, `list_X`,
//! `set_X`, `any_X`; `bin(TimeGenerated, 5m)` keeps the name `TimeGenerated`; `arg_max(T, *)`
//! yields `T` and the input's other columns. Types: counts are `long`, `avg` is `real`, `sum`
//! keeps `long`/`real`/`timespan`, lists and sets are `dynamic`.

use super::expr::{implicit_name, Binder, Typed, AGGREGATES};
use super::next_column_name;
use crate::ast::{Expr, ExprKind, Name, NamedExpr};
use crate::error::QueryError;
use crate::plan::{Agg, BExpr, Op};
use crate::schema::Column;
use crate::value::ColumnType;

/// KQL aggregations outside the supported subset (refused by name).
const UNSUPPORTED_AGGREGATES: [&str; 20] = [
    "percentile",
    "percentiles",
    "percentilew",
    "percentilesw",
    "stdev",
    "stdevif",
    "stdevp",
    "variance",
    "varianceif",
    "variancep",
    "make_bag",
    "hll",
    "hll_merge",
    "tdigest",
    "count_distinct",
    "avgif",
    "sumif",
    "maxif",
    "minif",
    "make_list_if",
];

/// Binds `summarize aggs by keys` against the input binder's columns.
pub(super) fn bind(
    input: &Binder,
    items: &[NamedExpr],
    by: &[NamedExpr],
) -> Result<(Op, Vec<Column>), QueryError> {
    let mut columns: Vec<Column> = Vec::new();
    let mut keys = Vec::new();
    let mut key_sources = Vec::new();
    for k in by {
        let t = input.bind(&k.expr)?;
        let name = match (&k.name, implicit_name(&k.expr, true)) {
            (Some(n), _) => n.text.clone(),
            (None, Some(n)) => n,
            (None, None) => next_column_name(&columns),
        };
        if let BExpr::Column(i) = t.expr {
            key_sources.push(i);
        }
        columns.push(Column::new(&unique(&name, &columns), t.ty));
        keys.push(t.expr);
    }
    // Post-aggregation rows are [keys..., aggregate slots...].
    let mut slots: Vec<Column> = Vec::new();
    let mut aggs = Vec::new();
    let mut outputs = Vec::new();
    let mut simple = true;
    for item in items {
        if let ExprKind::Call(f, args) = &item.expr.kind {
            if f.text == "arg_max" || f.text == "arg_min" {
                let (agg, cols) = arg_best(input, f, args, item, &key_sources, &columns)?;
                for c in cols {
                    let slot = columns_len(&keys, &slots);
                    slots.push(Column::new(&format!("__agg{slot}"), c.ty));
                    outputs.push(BExpr::Column(slot));
                    columns.push(Column::new(&unique(&c.name, &columns), c.ty));
                }
                aggs.push(agg);
                continue;
            }
        }
        let mut rewritten_slots = Vec::new();
        let rewritten = extract(input, &item.expr, &mut |agg, ty| {
            let slot = columns_len(&keys, &slots) + rewritten_slots.len();
            rewritten_slots.push((agg, Column::new(&format!("__agg{slot}"), ty)));
            format!("__agg{slot}")
        })?;
        let is_single = matches!(&item.expr.kind, ExprKind::Call(f, _) if AGGREGATES.contains(&f.text.as_str()));
        simple &= is_single;
        for (agg, col) in rewritten_slots {
            aggs.push(agg);
            slots.push(col);
        }
        let mut post_scope = columns[..keys.len()].to_vec();
        post_scope.extend(slots.iter().cloned());
        let t: Typed = Binder {
            ctx: input.ctx,
            scope: &post_scope,
            op: "summarize",
        }
        .bind(&rewritten)?;
        let name = match &item.name {
            Some(n) => n.text.clone(),
            None => default_agg_name(&item.expr).unwrap_or_else(|| next_column_name(&columns)),
        };
        columns.push(Column::new(&unique(&name, &columns), t.ty));
        outputs.push(t.expr);
    }
    let outputs = if simple { None } else { Some(outputs) };
    Ok((
        Op::Summarize {
            by: keys,
            aggs,
            outputs,
        },
        columns,
    ))
}

const SUPPORTED_AGGREGATES: &str =
    "count, countif, dcount, min, max, avg, sum, make_list, make_set, take_any, arg_max, arg_min";

fn columns_len(keys: &[BExpr], slots: &[Column]) -> usize {
    keys.len() + slots.len()
}

fn unique(name: &str, existing: &[Column]) -> String {
    super::unique(name, existing)
}

/// Rewrites `e`, replacing each aggregation call by a name `add` returns for it.
fn extract(
    input: &Binder,
    e: &Expr,
    add: &mut dyn FnMut(Agg, ColumnType) -> String,
) -> Result<Expr, QueryError> {
    let mut rec = |x: &Expr| extract(input, x, add).map(Box::new);
    let kind = match &e.kind {
        ExprKind::Call(f, args) if f.text == "arg_max" || f.text == "arg_min" => {
            return Err(QueryError::semantic(
                e.span,
                format!(
                    "{}() must be a summarize item of its own, not part of an expression",
                    f.text
                ),
            ))
        }
        ExprKind::Call(f, _) if UNSUPPORTED_AGGREGATES.contains(&f.text.as_str()) => {
            return Err(QueryError::unsupported(
                f.span,
                &format!("the aggregation '{}()'", f.text),
                SUPPORTED_AGGREGATES,
            ))
        }
        ExprKind::Call(f, args) if AGGREGATES.contains(&f.text.as_str()) => {
            let (agg, ty) = aggregate(input, f, args, e)?;
            ExprKind::Name(add(agg, ty))
        }
        ExprKind::Call(f, args) => {
            let mut out = Vec::new();
            for a in args {
                out.push(*rec(a)?);
            }
            ExprKind::Call(f.clone(), out)
        }
        ExprKind::Negate(a) => ExprKind::Negate(rec(a)?),
        ExprKind::Binary(op, a, b) => ExprKind::Binary(*op, rec(a)?, rec(b)?),
        ExprKind::In {
            lhs,
            list,
            negated,
            case_insensitive,
        } => {
            let mut out = Vec::new();
            for a in list {
                out.push(*rec(a)?);
            }
            ExprKind::In {
                lhs: rec(lhs)?,
                list: out,
                negated: *negated,
                case_insensitive: *case_insensitive,
            }
        }
        ExprKind::Between {
            lhs,
            low,
            high,
            negated,
        } => ExprKind::Between {
            lhs: rec(lhs)?,
            low: rec(low)?,
            high: rec(high)?,
            negated: *negated,
        },
        ExprKind::Member(a, b) => ExprKind::Member(rec(a)?, rec(b)?),
        ExprKind::Name(n) if input.scope.iter().any(|c| &c.name == n) => {
            return Err(QueryError::semantic(
                e.span,
                format!(
                    "'summarize' operator: the column '{n}' must be inside an aggregation (such as \
                     take_any({n})) or listed after 'by'"
                ),
            ))
        }
        other => other.clone(),
    };
    Ok(Expr { kind, span: e.span })
}

fn aggregate(
    input: &Binder,
    f: &Name,
    args: &[Expr],
    e: &Expr,
) -> Result<(Agg, ColumnType), QueryError> {
    let arity = |min: usize, max: usize| {
        if args.len() < min || args.len() > max {
            return Err(QueryError::semantic(
                e.span,
                format!(
                    "{}() takes {min}{} argument(s), got {}",
                    f.text,
                    if max > min {
                        format!(" to {max}")
                    } else {
                        String::new()
                    },
                    args.len()
                ),
            ));
        }
        Ok(())
    };
    let arg = |i: usize| input.bind(&args[i]);
    use ColumnType as T;
    Ok(match f.text.as_str() {
        "count" => {
            if !args.is_empty() {
                return Err(QueryError::semantic(
                    e.span,
                    "count() takes no arguments; use countif(predicate) to count matching rows",
                ));
            }
            (Agg::Count, T::Long)
        }
        "countif" => {
            arity(1, 1)?;
            (Agg::CountIf(input.bind_predicate(&args[0])?.expr), T::Long)
        }
        "dcount" => {
            arity(1, 2)?;
            (Agg::DCount(arg(0)?.expr), T::Long)
        }
        "min" | "max" => {
            arity(1, 1)?;
            let t = arg(0)?;
            let agg = if f.text == "min" {
                Agg::Min(t.expr)
            } else {
                Agg::Max(t.expr)
            };
            (agg, t.ty)
        }
        "avg" | "sum" => {
            arity(1, 1)?;
            let t = arg(0)?;
            let ty = match (f.text.as_str(), t.ty) {
                ("avg", T::Timespan) => T::Timespan,
                ("avg", x) if x.is_numeric() || x == T::Dynamic => T::Real,
                ("sum", T::Int | T::Long) => T::Long,
                ("sum", T::Real | T::Dynamic) => T::Real,
                ("sum", T::Timespan) => T::Timespan,
                (_, other) => {
                    return Err(QueryError::semantic(
                        args[0].span,
                        format!(
                            "{}() needs a number or timespan, but this is {other}",
                            f.text
                        ),
                    ))
                }
            };
            let agg = if f.text == "avg" {
                Agg::Avg(t.expr)
            } else {
                Agg::Sum(t.expr, ty)
            };
            (agg, ty)
        }
        "make_list" | "make_set" => {
            arity(1, 2)?;
            let t = arg(0)?;
            let agg = if f.text == "make_list" {
                Agg::MakeList(t.expr)
            } else {
                Agg::MakeSet(t.expr)
            };
            (agg, T::Dynamic)
        }
        "take_any" | "any" => {
            arity(1, 1)?;
            let t = arg(0)?;
            (Agg::TakeAny(t.expr), t.ty)
        }
        other => {
            return Err(QueryError::unsupported(
                f.span,
                &format!("the aggregation '{other}()'"),
                SUPPORTED_AGGREGATES,
            ))
        }
    })
}

/// `arg_max(key, outputs...)`: the aggregation and its output columns (key first).
fn arg_best(
    input: &Binder,
    f: &Name,
    args: &[Expr],
    item: &NamedExpr,
    key_sources: &[usize],
    existing: &[Column],
) -> Result<(Agg, Vec<Column>), QueryError> {
    if args.len() < 2 {
        return Err(QueryError::semantic(
            f.span,
            format!(
                "{}() takes the expression to compare and the columns to return (or *)",
                f.text
            ),
        ));
    }
    let key = input.bind(&args[0])?;
    let key_name = item
        .name
        .as_ref()
        .map(|n| n.text.clone())
        .or_else(|| implicit_name(&args[0], false))
        .unwrap_or_else(|| format!("{}_", if f.text == "arg_max" { "max" } else { "min" }));
    let key_col = match key.expr {
        BExpr::Column(i) => Some(i),
        _ => None,
    };
    let mut cols = vec![Column::new(&key_name, key.ty)];
    let mut outputs = Vec::new();
    for a in &args[1..] {
        if matches!(a.kind, ExprKind::Star) {
            for (i, c) in input.scope.iter().enumerate() {
                if Some(i) != key_col && !key_sources.contains(&i) {
                    outputs.push(BExpr::Column(i));
                    cols.push(c.clone());
                }
            }
        } else {
            let t = input.bind(a)?;
            let mut taken = existing.to_vec();
            taken.extend(cols.iter().cloned());
            let name = implicit_name(a, false).unwrap_or_else(|| next_column_name(&taken));
            outputs.push(t.expr);
            cols.push(Column::new(&name, t.ty));
        }
    }
    Ok((
        Agg::ArgBest {
            key: key.expr,
            outputs,
            max: f.text == "arg_max",
        },
        cols,
    ))
}

/// KQL's default name for an aggregation item.
fn default_agg_name(e: &Expr) -> Option<String> {
    let ExprKind::Call(f, args) = &e.kind else {
        return None;
    };
    let prefix = match f.text.as_str() {
        "count" => return Some("count_".into()),
        "countif" => return Some("countif_".into()),
        "make_list" => "list",
        "make_set" => "set",
        "take_any" => "any",
        other if AGGREGATES.contains(&other) => other,
        _ => return None,
    };
    let col = args
        .first()
        .and_then(|a| implicit_name(a, false))
        .unwrap_or_default();
    Some(format!("{prefix}_{col}"))
}

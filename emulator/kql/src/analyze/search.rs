//! `search`: the source form (`search [in (T1, T2)] "term"`, every table when no `in`) is a
//! union of the tables, each filtered, with a `$table` column naming each row's table; the
//! piped form (`T | search "term"`) is a filter.
//!
//! In a search predicate a bare string is a term any string column must have (`"err*"`:
//! a term prefix, `"*err"`: a suffix, `"*err*"`: a substring), `Column:"term"` is
//! `Column has "term"`, and `*` matches every row. Terms combine with `and`, `or`, `not()`
//! and ordinary predicates.

use std::sync::Arc;

use super::expr::Binder;
use super::{union_of, Analyzer};
use crate::ast::{BinaryOp, Expr, ExprKind, Literal, Search, StrOpKind};
use crate::error::QueryError;
use crate::plan::{BExpr, Op, Plan};
use crate::text::TextMatcher;
use crate::value::Value;

pub(super) fn search_source(an: &Analyzer, s: &Search, depth: usize) -> Result<Plan, QueryError> {
    let explicit = s.tables.is_some();
    let names: Vec<crate::ast::Name> = match &s.tables {
        Some(t) => t.clone(),
        None => an
            .ctx
            .catalog
            .tables()
            .map(|t| crate::ast::Name {
                text: t.name.clone(),
                span: s.span,
            })
            .collect(),
    };
    let mut legs = Vec::new();
    let mut first_error = None;
    for name in &names {
        let mut plan = an.table(name, Some("search"), depth)?;
        let scope = plan.columns.clone();
        let binder = Binder {
            ctx: an.ctx,
            scope: &scope,
            op: "search",
        };
        match bind_search_predicate(&binder, &s.predicate) {
            Ok(pred) => {
                plan.ops.push(Op::Filter(pred));
                legs.push((plan, name.text.clone()));
            }
            // Across every table, a predicate naming a column skips the tables without it.
            Err(e) if !explicit && e.code == "SEM0100" => {
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    if legs.is_empty() {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Ok(union_of(legs, Some("$table")))
}

/// Binds a search predicate over the binder's columns.
pub(super) fn bind_search_predicate(b: &Binder, e: &Expr) -> Result<BExpr, QueryError> {
    match &e.kind {
        ExprKind::Literal(Literal::String(term)) => {
            let (kind, needle) =
                match (term.starts_with('*'), term.ends_with('*') && term.len() > 1) {
                    (true, true) => (StrOpKind::Contains, term.trim_matches('*')),
                    (false, true) => (StrOpKind::HasPrefix, term.trim_end_matches('*')),
                    (true, false) => (StrOpKind::HasSuffix, term.trim_start_matches('*')),
                    (false, false) => (StrOpKind::Has, term.as_str()),
                };
            let cols = b
                .scope
                .iter()
                .enumerate()
                .filter(|(_, c)| c.ty.is_textual())
                .map(|(i, _)| i)
                .collect();
            Ok(BExpr::AnyText(
                cols,
                Arc::new(TextMatcher::new(kind, false, needle)),
            ))
        }
        ExprKind::Star => Ok(BExpr::Const(Value::Bool(true))),
        ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), l, r) => {
            let (l, r) = (bind_search_predicate(b, l)?, bind_search_predicate(b, r)?);
            Ok(if *op == BinaryOp::And {
                BExpr::And(Box::new(l), Box::new(r))
            } else {
                BExpr::Or(Box::new(l), Box::new(r))
            })
        }
        ExprKind::Call(f, args) if f.text == "not" && args.len() == 1 => {
            Ok(BExpr::Not(Box::new(bind_search_predicate(b, &args[0])?)))
        }
        _ => Ok(b.bind_predicate(e)?.expr),
    }
}

//! Semantic analysis: a parsed [`Query`] against a [`Catalog`] becomes an executable [`Plan`].
//!
//! Tables and columns resolve here (an unknown one is a `SemanticError` naming it, with the
//! closest real name when there is one), types are checked, `let` constants are inlined, and
//! the output schema of every operator is computed. Expressions are in [`expr`], `summarize`
//! in [`summarize`].

pub mod expr;
mod search;
mod summarize;

use crate::ast::*;
use crate::error::QueryError;
use crate::plan::{BExpr, Op, Plan, PlanSource, Scan, SortSpec, UnionLeg};
use crate::schema::{Catalog, Column};
use crate::time::DateTime;
use crate::value::{ColumnType, Value};
use expr::{implicit_name, Binder};

/// How deep tabular `let`s may refer to each other.
const MAX_LET_DEPTH: usize = 32;

/// Query-wide context for binding.
pub struct Ctx {
    /// The tables that exist.
    pub catalog: Catalog,
    /// The instant `now()` and `ago()` are relative to.
    pub now: DateTime,
    lets: Vec<(String, LetBinding)>,
}

enum LetBinding {
    Scalar(Value, ColumnType),
    Tabular(TabularExpr),
}

impl Ctx {
    /// The value of a scalar `let`.
    pub fn scalar_let(&self, name: &str) -> Option<(Value, ColumnType)> {
        match self.lets.iter().rev().find(|(n, _)| n == name)? {
            (_, LetBinding::Scalar(v, t)) => Some((v.clone(), *t)),
            _ => None,
        }
    }

    fn tabular_let(&self, name: &str) -> Option<TabularExpr> {
        match self.lets.iter().rev().find(|(n, _)| n == name)? {
            (_, LetBinding::Tabular(t)) => Some(t.clone()),
            _ => None,
        }
    }
}

/// Binds `query` against `catalog`, with `now` as the current time.
pub fn analyze(query: &Query, catalog: &Catalog, now: DateTime) -> Result<Plan, QueryError> {
    let mut ctx = Ctx {
        catalog: catalog.clone(),
        now,
        lets: Vec::new(),
    };
    for l in &query.lets {
        let binding = match &l.value {
            LetValue::Tabular(t) => LetBinding::Tabular(t.clone()),
            LetValue::Scalar(e) => match &e.kind {
                // `let t = SomeTable;` parses as a scalar name.
                ExprKind::Name(n)
                    if ctx.scalar_let(n).is_none()
                        && (ctx.catalog.table(n).is_some() || ctx.tabular_let(n).is_some()) =>
                {
                    LetBinding::Tabular(TabularExpr {
                        source: Source::Table(Name {
                            text: n.clone(),
                            span: e.span,
                        }),
                        ops: Vec::new(),
                    })
                }
                _ => {
                    let t = Binder {
                        ctx: &ctx,
                        scope: &[],
                        op: "let",
                    }
                    .bind(e)?;
                    match t.expr {
                        BExpr::Const(v) => LetBinding::Scalar(v, t.ty),
                        _ => {
                            return Err(QueryError::semantic(
                                e.span,
                                "a scalar let must be a constant expression",
                            ))
                        }
                    }
                }
            },
        };
        ctx.lets.push((l.name.text.clone(), binding));
    }
    Analyzer { ctx: &ctx }.tabular(&query.body, 0)
}

struct Analyzer<'a> {
    ctx: &'a Ctx,
}

impl Analyzer<'_> {
    fn tabular(&self, t: &TabularExpr, depth: usize) -> Result<Plan, QueryError> {
        let first_op = t.ops.first().map(op_name);
        let mut plan = self.source(&t.source, first_op, depth)?;
        for op in &t.ops {
            self.operator(&mut plan, op, depth)?;
        }
        Ok(plan)
    }

    fn source(&self, s: &Source, next_op: Option<&str>, depth: usize) -> Result<Plan, QueryError> {
        match s {
            Source::Table(name) => self.table(name, next_op, depth),
            Source::Union(u) => self.union(Vec::new(), u, depth),
            Source::Search(s) => search::search_source(self, s, depth),
            Source::Print(items, _) => {
                let binder = Binder {
                    ctx: self.ctx,
                    scope: &[],
                    op: "print",
                };
                let mut columns = Vec::new();
                let mut values = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let t = binder.bind(&item.expr)?;
                    let name = item
                        .name
                        .as_ref()
                        .map_or(format!("print_{i}"), |n| n.text.clone());
                    columns.push(Column::new(&unique(&name, &columns), t.ty));
                    values.push(match t.expr {
                        BExpr::Const(v) => v,
                        _ => Value::Null,
                    });
                }
                Ok(Plan {
                    source: PlanSource::Print(values),
                    ops: Vec::new(),
                    columns,
                })
            }
        }
    }

    fn table(&self, name: &Name, next_op: Option<&str>, depth: usize) -> Result<Plan, QueryError> {
        if let Some(t) = self.ctx.tabular_let(&name.text) {
            if depth >= MAX_LET_DEPTH {
                return Err(QueryError::semantic(
                    name.span,
                    format!("the let '{}' refers to itself too deeply", name.text),
                ));
            }
            return self.tabular(&t, depth + 1);
        }
        if let Some(table) = self.ctx.catalog.table(&name.text) {
            let n = table.columns.len();
            return Ok(Plan {
                columns: table.columns.clone(),
                source: PlanSource::Scan(Scan {
                    table,
                    columns: (0..n).collect(),
                    predicates: Vec::new(),
                    order: None,
                    limit: None,
                }),
                ops: Vec::new(),
            });
        }
        let prefix = next_op
            .map(|o| format!("'{o}' operator: "))
            .unwrap_or_default();
        let mut message = format!(
            "{prefix}Failed to resolve table or column expression named '{}'",
            name.text
        );
        if let Some(real) = self.ctx.catalog.suggest_table(&name.text) {
            message.push_str(&format!("; the table is named '{real}'"));
        }
        Err(QueryError::unresolved(name.span, message))
    }

    /// `union`: `first` are plans already built (the piped input), then the union's legs.
    fn union(
        &self,
        first: Vec<(Plan, String)>,
        u: &Union,
        depth: usize,
    ) -> Result<Plan, QueryError> {
        let mut legs = first;
        for (i, leg) in u.legs.iter().enumerate() {
            let label = match (&leg.source, leg.ops.is_empty()) {
                (Source::Table(n), true) => n.text.clone(),
                _ => format!("union_arg{i}"),
            };
            legs.push((self.tabular(leg, depth)?, label));
        }
        let source_col = u.with_source.as_ref().map(|n| n.text.as_str());
        Ok(union_of(legs, source_col))
    }

    fn operator(&self, plan: &mut Plan, op: &Operator, depth: usize) -> Result<(), QueryError> {
        let name = op_name(op);
        let scope = plan.columns.clone();
        let binder = Binder {
            ctx: self.ctx,
            scope: &scope,
            op: name,
        };
        match &op.kind {
            OperatorKind::Where(e) => {
                let t = binder.bind_predicate(e)?;
                plan.ops.push(Op::Filter(t.expr));
            }
            OperatorKind::Project(items) => {
                let mut exprs = Vec::new();
                let mut columns = Vec::new();
                for item in items {
                    let t = binder.bind(&item.expr)?;
                    let name = output_name(item, false, &columns);
                    columns.push(Column::new(&name, t.ty));
                    exprs.push(t.expr);
                }
                plan.ops.push(Op::Project(exprs));
                plan.columns = columns;
            }
            OperatorKind::ProjectAway(pats) | OperatorKind::ProjectKeep(pats) => {
                let away = matches!(op.kind, OperatorKind::ProjectAway(_));
                let matched = match_patterns(&scope, pats, name)?;
                let keep: Vec<usize> = (0..scope.len())
                    .filter(|i| matched.contains(i) != away)
                    .collect();
                select(plan, &keep);
            }
            OperatorKind::ProjectReorder(pats) => {
                let mut order = match_patterns(&scope, pats, name)?;
                order.extend(
                    (0..scope.len())
                        .filter(|i| !order.contains(i))
                        .collect::<Vec<_>>(),
                );
                select(plan, &order);
            }
            OperatorKind::ProjectRename(pairs) => {
                for (new, old) in pairs {
                    let i = scope
                        .iter()
                        .position(|c| c.name == old.text)
                        .ok_or_else(|| {
                            QueryError::unresolved(
                                old.span,
                                format!(
                                    "'{name}' operator: Failed to resolve column '{}'",
                                    old.text
                                ),
                            )
                        })?;
                    plan.columns[i].name = new.text.clone();
                }
            }
            OperatorKind::Extend(items) => {
                let mut columns = scope.clone();
                let mut steps = Vec::new();
                for item in items {
                    let t = Binder {
                        ctx: self.ctx,
                        scope: &columns,
                        op: name,
                    }
                    .bind(&item.expr)?;
                    let col_name = output_name(item, false, &columns);
                    match columns.iter().position(|c| c.name == col_name) {
                        Some(i) => {
                            columns[i].ty = t.ty;
                            steps.push((Some(i), t.expr));
                        }
                        None => {
                            columns.push(Column::new(&col_name, t.ty));
                            steps.push((None, t.expr));
                        }
                    }
                }
                plan.ops.push(Op::Extend(steps));
                plan.columns = columns;
            }
            OperatorKind::Sort(keys) => {
                let keys = keys
                    .iter()
                    .map(|k| sort_spec(&binder, k))
                    .collect::<Result<_, _>>()?;
                plan.ops.push(Op::Sort { keys, limit: None });
            }
            OperatorKind::Take(n) => plan.ops.push(Op::Take(row_count(&binder, n, name)?)),
            OperatorKind::Top(n, key) => {
                let limit = row_count(&binder, n, name)?;
                let keys = vec![sort_spec(&binder, key)?];
                plan.ops.push(Op::Sort {
                    keys,
                    limit: Some(limit),
                });
            }
            OperatorKind::Summarize { aggs, by } => {
                let (op, columns) = summarize::bind(&binder, aggs, by)?;
                plan.ops.push(op);
                plan.columns = columns;
            }
            OperatorKind::Distinct(items) => {
                let items: Vec<NamedExpr> = match items {
                    Some(items) => items.clone(),
                    None => scope
                        .iter()
                        .map(|c| NamedExpr {
                            name: None,
                            expr: Expr {
                                kind: ExprKind::Name(c.name.clone()),
                                span: op.span,
                            },
                        })
                        .collect(),
                };
                let (op, columns) = summarize::bind(&binder, &[], &items)?;
                plan.ops.push(op);
                plan.columns = columns;
            }
            OperatorKind::Count => {
                plan.ops.push(Op::Count);
                plan.columns = vec![Column::new("Count", ColumnType::Long)];
            }
            OperatorKind::Union(u) => {
                let input = std::mem::replace(
                    plan,
                    Plan {
                        source: PlanSource::Print(Vec::new()),
                        ops: Vec::new(),
                        columns: Vec::new(),
                    },
                );
                *plan = self.union(vec![(input, "union_arg0".to_string())], u, depth)?;
            }
            OperatorKind::Search(s) => {
                if let Some(tables) = &s.tables {
                    return Err(QueryError::syntax(
                        tables[0].span,
                        "'search in (...)' names tables only at the start of a query",
                    ));
                }
                let pred = search::bind_search_predicate(&binder, &s.predicate)?;
                plan.ops.push(Op::Filter(pred));
            }
            OperatorKind::Render => {}
        }
        Ok(())
    }
}

/// The union of several plans: columns by name in first-seen order (a name seen with two types
/// gets a `_type` suffix for the later type), plus an optional column naming each row's source.
fn union_of(legs: Vec<(Plan, String)>, source_col: Option<&str>) -> Plan {
    let mut columns: Vec<Column> = Vec::new();
    if let Some(s) = source_col {
        columns.push(Column::new(s, ColumnType::String));
    }
    let mut mapped = Vec::new();
    for (plan, label) in legs {
        let mut positions = Vec::new();
        for c in &plan.columns {
            let pos = match columns.iter().position(|u| u.name == c.name) {
                Some(i) if columns[i].ty == c.ty => i,
                Some(_) => {
                    let alt = format!("{}_{}", c.name, c.ty);
                    match columns.iter().position(|u| u.name == alt) {
                        Some(i) => i,
                        None => {
                            columns.push(Column::new(&alt, c.ty));
                            columns.len() - 1
                        }
                    }
                }
                None => {
                    columns.push(c.clone());
                    columns.len() - 1
                }
            };
            positions.push(pos);
        }
        mapped.push((plan, positions, label));
    }
    let width = columns.len();
    let legs = mapped
        .into_iter()
        .map(|(plan, positions, label)| {
            let mut mapping = vec![None; width];
            for (src, dst) in positions.iter().enumerate() {
                mapping[*dst] = Some(src);
            }
            let constants = if source_col.is_some() {
                vec![(0, Value::from(label))]
            } else {
                Vec::new()
            };
            UnionLeg {
                plan,
                mapping,
                constants,
            }
        })
        .collect();
    Plan {
        source: PlanSource::Union(legs),
        ops: Vec::new(),
        columns,
    }
}

/// Keeps columns `keep` (in that order) with a projection.
fn select(plan: &mut Plan, keep: &[usize]) {
    plan.ops.push(Op::Project(
        keep.iter().map(|i| BExpr::Column(*i)).collect(),
    ));
    plan.columns = keep.iter().map(|i| plan.columns[*i].clone()).collect();
}

/// Columns matching `pats` (`*` wildcards), in pattern order; a plain name must exist.
fn match_patterns(scope: &[Column], pats: &[Name], op: &str) -> Result<Vec<usize>, QueryError> {
    let mut out = Vec::new();
    for p in pats {
        let hits: Vec<usize> = if p.text.contains('*') {
            (0..scope.len())
                .filter(|i| wildcard(&p.text, &scope[*i].name))
                .collect()
        } else {
            let i = scope.iter().position(|c| c.name == p.text).ok_or_else(|| {
                QueryError::unresolved(
                    p.span,
                    format!("'{op}' operator: Failed to resolve column '{}'", p.text),
                )
            })?;
            vec![i]
        };
        for h in hits {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    Ok(out)
}

fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn sort_spec(binder: &Binder, k: &SortKey) -> Result<SortSpec, QueryError> {
    let t = binder.bind(&k.expr)?;
    Ok(SortSpec {
        expr: t.expr,
        descending: k.descending,
        nulls_first: k.nulls_first.unwrap_or(!k.descending),
    })
}

fn row_count(binder: &Binder, e: &Expr, op: &str) -> Result<usize, QueryError> {
    let t = binder.bind(e)?;
    match t.expr {
        BExpr::Const(Value::Long(n)) if n >= 0 => Ok(n as usize),
        _ => Err(QueryError::semantic(
            e.span,
            format!("'{op}' needs a constant, non-negative number of rows"),
        )),
    }
}

/// The output name of `[name =] expr`: the given name, the implicit one, or `ColumnN`.
fn output_name(item: &NamedExpr, by_clause: bool, existing: &[Column]) -> String {
    if let Some(n) = &item.name {
        return n.text.clone();
    }
    if let Some(n) = implicit_name(&item.expr, by_clause) {
        return n;
    }
    next_column_name(existing)
}

/// `Column1`, `Column2`, ...: the first not yet used.
fn next_column_name(existing: &[Column]) -> String {
    (1..)
        .map(|i| format!("Column{i}"))
        .find(|n| existing.iter().all(|c| &c.name != n))
        .unwrap_or_default()
}

/// `name`, or `name1`, `name2`... if taken.
fn unique(name: &str, existing: &[Column]) -> String {
    if existing.iter().all(|c| c.name != name) {
        return name.to_string();
    }
    (1..)
        .map(|i| format!("{name}{i}"))
        .find(|n| existing.iter().all(|c| &c.name != n))
        .unwrap_or_default()
}

/// The operator's keyword, for messages.
fn op_name(op: &Operator) -> &'static str {
    match &op.kind {
        OperatorKind::Where(_) => "where",
        OperatorKind::Project(_) => "project",
        OperatorKind::ProjectAway(_) => "project-away",
        OperatorKind::ProjectKeep(_) => "project-keep",
        OperatorKind::ProjectRename(_) => "project-rename",
        OperatorKind::ProjectReorder(_) => "project-reorder",
        OperatorKind::Extend(_) => "extend",
        OperatorKind::Sort(_) => "order",
        OperatorKind::Take(_) => "take",
        OperatorKind::Top(..) => "top",
        OperatorKind::Summarize { .. } => "summarize",
        OperatorKind::Distinct(_) => "distinct",
        OperatorKind::Count => "count",
        OperatorKind::Union(_) => "union",
        OperatorKind::Search(_) => "search",
        OperatorKind::Render => "render",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_names() {
        assert!(wildcard("Log*", "Log_s"));
        assert!(wildcard("*Id", "_ResourceId"));
        assert!(wildcard("*Pool*", "SessionPoolName"));
        assert!(!wildcard("Log*", "Level"));
        assert!(wildcard("*", "x"));
    }
}

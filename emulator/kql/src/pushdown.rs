//! Derives a scan's hints from its plan so a data source can answer fast: the leading `where`
//! conjuncts of the form `column op constant` become [`Predicate`]s, the columns the query
//! reads become `columns` (the plan is rewritten to address those compact rows), and `take n`
//! (or `top n by column` / `order by column | take n`) right after fully pushed filters becomes
//! `limit` (and `order`). Every filter stays in the plan, so results do not depend on a source
//! honouring the predicates, the time range or the limit.

use crate::ast::{StrOp, StrOpKind};
use crate::plan::{Agg, BExpr, Op, Plan, PlanSource, Scan};
use crate::source::{CompareOp, Predicate};
use crate::value::Value;

/// Fills the hints of every scan in `plan`.
pub fn apply(plan: &mut Plan) {
    match &mut plan.source {
        PlanSource::Scan(scan) => hint(scan, &mut plan.ops),
        PlanSource::Union(legs) => {
            for leg in legs {
                apply(&mut leg.plan);
            }
        }
        PlanSource::Print(_) => {}
    }
}

fn hint(scan: &mut Scan, ops: &mut [Op]) {
    let width = scan.table.columns.len();
    // Predicates from the leading filters.
    let mut all_pushed = true;
    let mut i = 0;
    while let Some(Op::Filter(p)) = ops.get(i) {
        let mut conjuncts = Vec::new();
        split_and(p, &mut conjuncts);
        for c in conjuncts {
            match to_predicate(c, scan) {
                Some(pred) => scan.predicates.push(pred),
                None => all_pushed = false,
            }
        }
        i += 1;
    }
    // Limit (and order) right after the filters.
    if all_pushed {
        match (ops.get(i), ops.get(i + 1)) {
            (Some(Op::Take(n)), _) => scan.limit = Some(*n),
            (Some(Op::Sort { keys, limit }), next) if keys.len() == 1 => {
                let take = match next {
                    Some(Op::Take(n)) => Some(*n),
                    _ => None,
                };
                let limit = match (*limit, take) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let k = &keys[0];
                if let (Some(n), BExpr::Column(c)) = (limit, &k.expr) {
                    if *c < width && k.nulls_first != k.descending {
                        scan.order = Some((*c, k.descending));
                        scan.limit = Some(n);
                    }
                }
            }
            _ => {}
        }
    }
    // Columns read while rows still have the table's layout. When an operator that builds new
    // rows follows (project, summarize, count), only those columns are scanned and the
    // expressions up to it are rewritten to address the compact rows.
    let Some(last) = ops
        .iter()
        .position(|op| matches!(op, Op::Project(_) | Op::Summarize { .. } | Op::Count))
    else {
        scan.columns = (0..width).collect();
        return;
    };
    let mut needed = vec![false; width];
    if let Some(t) = scan.table.time_column() {
        needed[t] = true;
    }
    for op in &ops[..=last] {
        visit_op(op, &mut |e| refs(e, &mut needed));
        if let Op::Extend(steps) = op {
            for (slot, _) in steps {
                if let Some(n) = slot.and_then(|i| needed.get_mut(i)) {
                    *n = true;
                }
            }
        }
    }
    let kept: Vec<usize> = (0..width).filter(|i| needed[*i]).collect();
    let mut map = vec![usize::MAX; width];
    for (new, old) in kept.iter().enumerate() {
        map[*old] = new;
    }
    let compact = kept.len();
    let remap = |i: usize| {
        if i < width {
            map[i]
        } else {
            compact + (i - width)
        }
    };
    for op in &mut ops[..=last] {
        remap_op(op, &remap);
    }
    scan.columns = kept;
}

fn visit_op(op: &Op, f: &mut dyn FnMut(&BExpr)) {
    match op {
        Op::Filter(p) => f(p),
        Op::Extend(steps) => steps.iter().for_each(|(_, e)| f(e)),
        Op::Sort { keys, .. } => keys.iter().for_each(|k| f(&k.expr)),
        Op::Project(exprs) => exprs.iter().for_each(f),
        Op::Summarize { by, aggs, .. } => {
            by.iter().for_each(&mut *f);
            for a in aggs {
                visit_agg(a, f);
            }
        }
        Op::Take(_) | Op::Count => {}
    }
}

fn visit_agg(a: &Agg, f: &mut dyn FnMut(&BExpr)) {
    match a {
        Agg::Count => {}
        Agg::CountIf(e)
        | Agg::DCount(e)
        | Agg::Min(e)
        | Agg::Max(e)
        | Agg::Avg(e)
        | Agg::Sum(e, _)
        | Agg::MakeList(e)
        | Agg::MakeSet(e)
        | Agg::TakeAny(e) => f(e),
        Agg::ArgBest { key, outputs, .. } => {
            f(key);
            outputs.iter().for_each(f);
        }
    }
}

fn remap_op(op: &mut Op, m: &dyn Fn(usize) -> usize) {
    match op {
        Op::Filter(p) => remap(p, m),
        Op::Extend(steps) => {
            for (slot, e) in steps {
                remap(e, m);
                if let Some(i) = slot {
                    *i = m(*i);
                }
            }
        }
        Op::Sort { keys, .. } => keys.iter_mut().for_each(|k| remap(&mut k.expr, m)),
        Op::Project(exprs) => exprs.iter_mut().for_each(|e| remap(e, m)),
        Op::Summarize { by, aggs, .. } => {
            by.iter_mut().for_each(|e| remap(e, m));
            for a in aggs {
                match a {
                    Agg::Count => {}
                    Agg::CountIf(e)
                    | Agg::DCount(e)
                    | Agg::Min(e)
                    | Agg::Max(e)
                    | Agg::Avg(e)
                    | Agg::Sum(e, _)
                    | Agg::MakeList(e)
                    | Agg::MakeSet(e)
                    | Agg::TakeAny(e) => remap(e, m),
                    Agg::ArgBest { key, outputs, .. } => {
                        remap(key, m);
                        outputs.iter_mut().for_each(|o| remap(o, m));
                    }
                }
            }
        }
        Op::Take(_) | Op::Count => {}
    }
}

/// Rewrites the column indices of `e` through `m`.
fn remap(e: &mut BExpr, m: &dyn Fn(usize) -> usize) {
    match e {
        BExpr::Const(_) => {}
        BExpr::Column(i) => *i = m(*i),
        BExpr::AnyText(cols, _) => cols.iter_mut().for_each(|c| *c = m(*c)),
        BExpr::And(a, b)
        | BExpr::Or(a, b)
        | BExpr::Compare(_, a, b)
        | BExpr::EqCi(a, b, _)
        | BExpr::TextDyn(a, _, b)
        | BExpr::Arith(_, a, b)
        | BExpr::Member(a, b) => {
            remap(a, m);
            remap(b, m);
        }
        BExpr::Not(a) | BExpr::Negate(a) | BExpr::Text(a, _, _) | BExpr::Regex(a, _) => remap(a, m),
        BExpr::In { lhs, list, .. } => {
            remap(lhs, m);
            list.iter_mut().for_each(|x| remap(x, m));
        }
        BExpr::Between(a, b, c, _) => {
            remap(a, m);
            remap(b, m);
            remap(c, m);
        }
        BExpr::Call(_, args) => args.iter_mut().for_each(|x| remap(x, m)),
    }
}

fn split_and<'a>(e: &'a BExpr, out: &mut Vec<&'a BExpr>) {
    match e {
        BExpr::And(a, b) => {
            split_and(a, out);
            split_and(b, out);
        }
        other => out.push(other),
    }
}

fn to_predicate(e: &BExpr, scan: &Scan) -> Option<Predicate> {
    let width = scan.table.columns.len();
    let col = |x: &BExpr| match x {
        BExpr::Column(c) if *c < width => Some(*c),
        _ => None,
    };
    let constant = |x: &BExpr| match x {
        BExpr::Const(v) if !v.is_null() => Some(v.clone()),
        _ => None,
    };
    match e {
        BExpr::Compare(op, a, b) => {
            if let (Some(c), Some(v)) = (col(a), constant(b)) {
                return Some(Predicate::Compare {
                    column: c,
                    op: *op,
                    value: v,
                });
            }
            let (c, v) = (col(b)?, constant(a)?);
            Some(Predicate::Compare {
                column: c,
                op: flip(*op),
                value: v,
            })
        }
        BExpr::EqCi(a, b, negated) => {
            let (c, v) = (col(a)?, constant(b)?);
            let Value::String(s) = v else { return None };
            s.is_ascii().then(|| Predicate::EqualsIgnoreCase {
                column: c,
                value: s.to_string(),
                negated: *negated,
            })
        }
        BExpr::In {
            lhs,
            list,
            negated,
            case_insensitive,
        } => {
            let c = col(lhs)?;
            let values: Option<Vec<Value>> = list.iter().map(constant).collect();
            let values = values?;
            if *case_insensitive && !values.iter().all(|v| v.as_str().is_ascii()) {
                return None;
            }
            Some(Predicate::In {
                column: c,
                values,
                negated: *negated,
                case_insensitive: *case_insensitive,
            })
        }
        BExpr::Text(a, negated, m) => Some(Predicate::Text {
            column: col(a)?,
            op: StrOp {
                kind: m.kind(),
                negated: *negated,
                case_sensitive: m.case_sensitive(),
            },
            pattern: m.needle().to_string(),
        }),
        BExpr::AnyText(cols, m) => {
            let textual: Vec<usize> = scan
                .table
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.ty.is_textual())
                .map(|(i, _)| i)
                .collect();
            (*cols == textual && m.kind() != StrOpKind::MatchesRegex).then(|| {
                Predicate::AnyColumnText {
                    op: StrOp {
                        kind: m.kind(),
                        negated: false,
                        case_sensitive: m.case_sensitive(),
                    },
                    pattern: m.needle().to_string(),
                }
            })
        }
        _ => None,
    }
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

fn refs(e: &BExpr, needed: &mut [bool]) {
    let mut mark = |i: usize| {
        if let Some(n) = needed.get_mut(i) {
            *n = true;
        }
    };
    match e {
        BExpr::Const(_) => {}
        BExpr::Column(i) => mark(*i),
        BExpr::AnyText(cols, _) => cols.iter().for_each(|c| mark(*c)),
        BExpr::And(a, b)
        | BExpr::Or(a, b)
        | BExpr::Compare(_, a, b)
        | BExpr::EqCi(a, b, _)
        | BExpr::TextDyn(a, _, b)
        | BExpr::Arith(_, a, b)
        | BExpr::Member(a, b) => {
            refs(a, needed);
            refs(b, needed);
        }
        BExpr::Not(a) | BExpr::Negate(a) | BExpr::Text(a, _, _) | BExpr::Regex(a, _) => {
            refs(a, needed)
        }
        BExpr::In { lhs, list, .. } => {
            refs(lhs, needed);
            list.iter().for_each(|x| refs(x, needed));
        }
        BExpr::Between(a, b, c, _) => {
            refs(a, needed);
            refs(b, needed);
            refs(c, needed);
        }
        BExpr::Call(_, args) => args.iter().for_each(|x| refs(x, needed)),
    }
}

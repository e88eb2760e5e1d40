//! `summarize`: rows are grouped by their key values (groups kept in first-seen order) and each
//! group folds its rows into aggregation states. With no `by` and no input rows, one row of
//! empty aggregates is still produced (`count()` is 0), as in KQL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::eval::{eval, eval_bool};
use super::Stage;
use crate::error::QueryError;
use crate::hash::FxBuild;
use crate::plan::{Agg, BExpr};
use crate::source::{Flow, Row};
use crate::value::{ColumnType, Value};

/// The most values `make_list`/`make_set` keep (KQL's default cap).
const MAX_LIST: usize = 1_048_576;

pub(super) struct Summarize<'a> {
    by: &'a [BExpr],
    aggs: &'a [Agg],
    outputs: Option<&'a [BExpr]>,
    index: HashMap<Vec<Value>, usize, FxBuild>,
    groups: Vec<(Vec<Value>, Vec<State>)>,
    key_buf: Vec<Value>,
    next: Box<dyn Stage + 'a>,
}

impl<'a> Summarize<'a> {
    pub(super) fn new(
        by: &'a [BExpr],
        aggs: &'a [Agg],
        outputs: Option<&'a [BExpr]>,
        next: Box<dyn Stage + 'a>,
    ) -> Self {
        Summarize {
            by,
            aggs,
            outputs,
            index: HashMap::default(),
            groups: Vec::new(),
            key_buf: Vec::new(),
            next,
        }
    }

    fn fresh(&self) -> Vec<State> {
        self.aggs.iter().map(State::new).collect()
    }
}

impl Stage for Summarize<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        self.key_buf.clear();
        for e in self.by {
            self.key_buf.push(eval(e, &row));
        }
        let g = match self.index.get(self.key_buf.as_slice()) {
            Some(g) => *g,
            None => {
                let key = self.key_buf.clone();
                self.index.insert(key.clone(), self.groups.len());
                let fresh = self.fresh();
                self.groups.push((key, fresh));
                self.groups.len() - 1
            }
        };
        let states = &mut self.groups[g].1;
        for (state, agg) in states.iter_mut().zip(self.aggs) {
            state.update(agg, &row);
        }
        Ok(Flow::Continue)
    }

    fn finish(&mut self) -> Result<(), QueryError> {
        if self.groups.is_empty() && self.by.is_empty() {
            let fresh = self.fresh();
            self.groups.push((Vec::new(), fresh));
        }
        for (key, states) in std::mem::take(&mut self.groups) {
            let mut row = key;
            for s in states {
                s.finish(&mut row);
            }
            if let Some(outputs) = self.outputs {
                let mut out: Row = row[..self.by.len()].to_vec();
                out.extend(outputs.iter().map(|e| eval(e, &row)));
                row = out;
            }
            if self.next.push(row)? == Flow::Stop {
                break;
            }
        }
        self.next.finish()
    }
}

enum State {
    Count(i64),
    Distinct(HashSet<Value, FxBuild>),
    Best(Option<Value>, bool),
    Avg(f64, i64, bool),
    SumLong(Option<i64>),
    SumReal(Option<f64>),
    SumSpan(Option<i64>),
    List(Vec<serde_json::Value>),
    Set(Vec<serde_json::Value>, HashSet<Value, FxBuild>),
    Any(Option<Value>),
    ArgBest(Option<Value>, Vec<Value>),
}

impl State {
    fn new(agg: &Agg) -> State {
        match agg {
            Agg::Count | Agg::CountIf(_) => State::Count(0),
            Agg::DCount(_) => State::Distinct(HashSet::default()),
            Agg::Min(_) => State::Best(None, false),
            Agg::Max(_) => State::Best(None, true),
            Agg::Avg(_) => State::Avg(0.0, 0, false),
            Agg::Sum(_, ColumnType::Real | ColumnType::Dynamic) => State::SumReal(None),
            Agg::Sum(_, ColumnType::Timespan) => State::SumSpan(None),
            Agg::Sum(..) => State::SumLong(None),
            Agg::MakeList(_) => State::List(Vec::new()),
            Agg::MakeSet(_) => State::Set(Vec::new(), HashSet::default()),
            Agg::TakeAny(_) => State::Any(None),
            Agg::ArgBest { outputs, .. } => State::ArgBest(None, vec![Value::Null; outputs.len()]),
        }
    }

    fn update(&mut self, agg: &Agg, row: &[Value]) {
        match (self, agg) {
            (State::Count(n), Agg::Count) => *n += 1,
            (State::Count(n), Agg::CountIf(p)) if eval_bool(p, row) == Some(true) => *n += 1,
            (State::Distinct(set), Agg::DCount(e)) => {
                let v = eval(e, row);
                if !v.is_null() {
                    set.insert(v);
                }
            }
            (State::Best(best, max), Agg::Min(e) | Agg::Max(e)) => {
                let v = eval(e, row);
                if v.is_null() {
                    return;
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = v.cmp_for_sort(b);
                        if *max {
                            o.is_gt()
                        } else {
                            o.is_lt()
                        }
                    }
                };
                if better {
                    *best = Some(v);
                }
            }
            (State::Avg(sum, n, span), Agg::Avg(e)) => match eval(e, row) {
                Value::Timespan(t) => {
                    *sum += t.0 as f64;
                    *n += 1;
                    *span = true;
                }
                v => {
                    if let Some(f) = v.as_f64() {
                        *sum += f;
                        *n += 1;
                    }
                }
            },
            (State::SumLong(s), Agg::Sum(e, _)) => {
                if let Value::Long(v) = eval(e, row) {
                    *s = Some(s.unwrap_or(0).wrapping_add(v));
                }
            }
            (State::SumReal(s), Agg::Sum(e, _)) => {
                if let Some(v) = eval(e, row).as_f64() {
                    *s = Some(s.unwrap_or(0.0) + v);
                }
            }
            (State::SumSpan(s), Agg::Sum(e, _)) => {
                if let Value::Timespan(v) = eval(e, row) {
                    *s = Some(s.unwrap_or(0).wrapping_add(v.0));
                }
            }
            (State::List(items), Agg::MakeList(e)) => {
                let v = eval(e, row);
                if !v.is_null() && items.len() < MAX_LIST {
                    items.push(v.to_json(ColumnType::String));
                }
            }
            (State::Set(items, seen), Agg::MakeSet(e)) => {
                let v = eval(e, row);
                if !v.is_null() && items.len() < MAX_LIST && seen.insert(v.clone()) {
                    items.push(v.to_json(ColumnType::String));
                }
            }
            (State::Any(slot), Agg::TakeAny(e)) if slot.is_none() => {
                let v = eval(e, row);
                if !v.is_empty() {
                    *slot = Some(v);
                }
            }
            (State::ArgBest(best, values), Agg::ArgBest { key, outputs, max }) => {
                let k = eval(key, row);
                if k.is_null() {
                    return;
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = k.cmp_for_sort(b);
                        if *max {
                            o.is_gt()
                        } else {
                            o.is_lt()
                        }
                    }
                };
                if better {
                    *values = outputs.iter().map(|o| eval(o, row)).collect();
                    *best = Some(k);
                }
            }
            _ => {}
        }
    }

    /// Appends the aggregate's value(s) to `row`.
    fn finish(self, row: &mut Row) {
        match self {
            State::Count(n) => row.push(Value::Long(n)),
            State::Distinct(set) => row.push(Value::Long(set.len() as i64)),
            State::Best(v, _) | State::Any(v) => row.push(v.unwrap_or(Value::Null)),
            State::Avg(_, 0, _) => row.push(Value::Null),
            State::Avg(sum, n, true) => row.push(Value::Timespan(crate::time::Timespan(
                (sum / n as f64).round() as i64,
            ))),
            State::Avg(sum, n, false) => row.push(Value::Real(sum / n as f64)),
            State::SumLong(s) => row.push(s.map_or(Value::Null, Value::Long)),
            State::SumReal(s) => row.push(s.map_or(Value::Null, Value::Real)),
            State::SumSpan(s) => {
                row.push(s.map_or(Value::Null, |t| Value::Timespan(crate::time::Timespan(t))))
            }
            State::List(items) | State::Set(items, _) => {
                row.push(Value::Dynamic(Arc::new(serde_json::Value::Array(items))))
            }
            State::ArgBest(key, values) => {
                row.push(key.unwrap_or(Value::Null));
                row.extend(values);
            }
        }
    }
}

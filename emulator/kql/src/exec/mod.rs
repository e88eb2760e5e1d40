//! Execution: a [`Plan`] runs as a push pipeline. The data source pushes rows into the first
//! stage; each stage filters, computes or buffers and pushes on; `take` answers
//! [`Flow::Stop`] once it has its rows, which stops the scan. Blocking stages (`sort`,
//! `summarize`, `count`) emit when their input finishes. Union operands each run their own
//! pipeline into the union's shared stages.
//!
//! The engine never trusts a source's hints: the query's `timespan` is re-checked on every
//! scanned row and every `where` runs here whatever the source did.

mod aggregate;
pub mod eval;
mod sort;

use crate::error::QueryError;
use crate::plan::{BExpr, Op, Plan, PlanSource};
use crate::source::{DataSource, Flow, Row, RowSink, ScanRequest};
use crate::time::TimeRange;
use crate::value::Value;
use eval::{eval, eval_bool};

/// One step of a running pipeline.
pub(crate) trait Stage {
    /// Takes a row; [`Flow::Stop`] when no more are wanted.
    fn push(&mut self, row: Row) -> Result<Flow, QueryError>;
    /// The input ended: emit anything buffered.
    fn finish(&mut self) -> Result<(), QueryError>;
}

/// Limits and context for one execution.
#[derive(Clone, Copy, Debug)]
pub struct ExecOptions {
    /// The query API's `timespan`, applied to every table with a `TimeGenerated` column.
    pub time_range: Option<TimeRange>,
    /// At most this many result rows are kept; more sets `truncated`.
    pub max_rows: usize,
}

/// Runs `plan`, returning the result rows and whether they were cut at `max_rows`.
pub fn execute(
    plan: &Plan,
    source: &dyn DataSource,
    opts: ExecOptions,
) -> Result<(Vec<Row>, bool), QueryError> {
    let mut out = Collector {
        rows: Vec::new(),
        max: opts.max_rows,
        truncated: false,
    };
    run_into(plan, source, opts, &mut out)?;
    Ok((out.rows, out.truncated))
}

/// Runs `plan` with its output pushed into `target` (which is not finished here).
fn run_into(
    plan: &Plan,
    source: &dyn DataSource,
    opts: ExecOptions,
    target: &mut dyn Stage,
) -> Result<(), QueryError> {
    let mut chain = build(&plan.ops, Box::new(Tail { target }));
    match &plan.source {
        PlanSource::Print(values) => {
            chain.push(values.clone())?;
        }
        PlanSource::Scan(scan) => {
            let request = ScanRequest {
                table: scan.table.clone(),
                columns: scan.columns.clone(),
                time_range: opts.time_range,
                predicates: scan.predicates.clone(),
                order: scan.order,
                limit: scan.limit,
            };
            let time_col = scan
                .table
                .time_column()
                .and_then(|t| scan.columns.iter().position(|c| *c == t));
            let time = opts.time_range.zip(time_col);
            let mut adapter = ScanAdapter {
                chain: chain.as_mut(),
                time,
                error: None,
            };
            source
                .scan(&request, &mut adapter)
                .map_err(|e| QueryError::source(e.to_string()))?;
            if let Some(e) = adapter.error {
                return Err(e);
            }
        }
        PlanSource::Union(legs) => {
            for leg in legs {
                let mut remap = Remap {
                    next: chain.as_mut(),
                    mapping: &leg.mapping,
                    constants: &leg.constants,
                    stopped: false,
                };
                run_into(&leg.plan, source, opts, &mut remap)?;
                if remap.stopped {
                    break;
                }
            }
        }
    }
    chain.finish()
}

fn build<'a>(ops: &'a [Op], tail: Box<dyn Stage + 'a>) -> Box<dyn Stage + 'a> {
    let mut next = tail;
    for op in ops.iter().rev() {
        next = match op {
            Op::Filter(p) => Box::new(Filter { pred: p, next }),
            Op::Extend(steps) => Box::new(Extend { steps, next }),
            Op::Project(exprs) => Box::new(Project { exprs, next }),
            Op::Take(n) => Box::new(Take {
                remaining: *n,
                next,
            }),
            Op::Sort { keys, limit } => Box::new(sort::Sort::new(keys, *limit, next)),
            Op::Summarize { by, aggs, outputs } => Box::new(aggregate::Summarize::new(
                by,
                aggs,
                outputs.as_deref(),
                next,
            )),
            Op::Count => Box::new(Count { n: 0, next }),
        };
    }
    next
}

struct ScanAdapter<'a, 'b> {
    chain: &'a mut (dyn Stage + 'b),
    time: Option<(TimeRange, usize)>,
    error: Option<QueryError>,
}

impl RowSink for ScanAdapter<'_, '_> {
    fn push(&mut self, row: Row) -> Flow {
        if let Some((range, col)) = self.time {
            match row.get(col) {
                Some(Value::DateTime(t)) if range.contains(*t) => {}
                _ => return Flow::Continue,
            }
        }
        match self.chain.push(row) {
            Ok(flow) => flow,
            Err(e) => {
                self.error = Some(e);
                Flow::Stop
            }
        }
    }
}

struct Tail<'a> {
    target: &'a mut dyn Stage,
}

impl Stage for Tail<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        self.target.push(row)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        Ok(())
    }
}

struct Remap<'a, 'b> {
    next: &'a mut (dyn Stage + 'b),
    mapping: &'a [Option<usize>],
    constants: &'a [(usize, Value)],
    stopped: bool,
}

impl Stage for Remap<'_, '_> {
    fn push(&mut self, mut row: Row) -> Result<Flow, QueryError> {
        let mut out: Row = self
            .mapping
            .iter()
            .map(|m| m.map_or(Value::Null, |i| std::mem::replace(&mut row[i], Value::Null)))
            .collect();
        for (i, v) in self.constants {
            out[*i] = v.clone();
        }
        let flow = self.next.push(out)?;
        self.stopped |= flow == Flow::Stop;
        Ok(flow)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        Ok(())
    }
}

struct Collector {
    rows: Vec<Row>,
    max: usize,
    truncated: bool,
}

impl Stage for Collector {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        if self.rows.len() >= self.max {
            self.truncated = true;
            return Ok(Flow::Stop);
        }
        self.rows.push(row);
        Ok(Flow::Continue)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        Ok(())
    }
}

struct Filter<'a> {
    pred: &'a BExpr,
    next: Box<dyn Stage + 'a>,
}

impl Stage for Filter<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        if eval_bool(self.pred, &row) == Some(true) {
            self.next.push(row)
        } else {
            Ok(Flow::Continue)
        }
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        self.next.finish()
    }
}

struct Extend<'a> {
    steps: &'a [(Option<usize>, BExpr)],
    next: Box<dyn Stage + 'a>,
}

impl Stage for Extend<'_> {
    fn push(&mut self, mut row: Row) -> Result<Flow, QueryError> {
        for (slot, e) in self.steps {
            let v = eval(e, &row);
            match slot {
                Some(i) => row[*i] = v,
                None => row.push(v),
            }
        }
        self.next.push(row)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        self.next.finish()
    }
}

struct Project<'a> {
    exprs: &'a [BExpr],
    next: Box<dyn Stage + 'a>,
}

impl Stage for Project<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        let out = self.exprs.iter().map(|e| eval(e, &row)).collect();
        self.next.push(out)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        self.next.finish()
    }
}

struct Take<'a> {
    remaining: usize,
    next: Box<dyn Stage + 'a>,
}

impl Stage for Take<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        if self.remaining == 0 {
            return Ok(Flow::Stop);
        }
        self.remaining -= 1;
        let flow = self.next.push(row)?;
        Ok(if self.remaining == 0 {
            Flow::Stop
        } else {
            flow
        })
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        self.next.finish()
    }
}

struct Count<'a> {
    n: i64,
    next: Box<dyn Stage + 'a>,
}

impl Stage for Count<'_> {
    fn push(&mut self, _row: Row) -> Result<Flow, QueryError> {
        self.n += 1;
        Ok(Flow::Continue)
    }
    fn finish(&mut self) -> Result<(), QueryError> {
        self.next.push(vec![Value::Long(self.n)])?;
        self.next.finish()
    }
}

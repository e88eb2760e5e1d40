//! `order by`/`sort by` and `top`: rows are buffered with their computed keys; with a limit
//! (`top n`, or a sort followed by `take` after pushdown) the buffer is cut back to the best
//! `n` whenever it doubles, so memory stays O(n) and time O(rows log n).

use std::cmp::Ordering;

use super::eval::eval;
use super::Stage;
use crate::error::QueryError;
use crate::plan::SortSpec;
use crate::source::{Flow, Row};
use crate::value::Value;

pub(super) struct Sort<'a> {
    keys: &'a [SortSpec],
    limit: Option<usize>,
    buf: Vec<(Vec<Value>, Row)>,
    next: Box<dyn Stage + 'a>,
}

impl<'a> Sort<'a> {
    pub(super) fn new(
        keys: &'a [SortSpec],
        limit: Option<usize>,
        next: Box<dyn Stage + 'a>,
    ) -> Self {
        Sort {
            keys,
            limit,
            buf: Vec::new(),
            next,
        }
    }

    fn order(&self, a: &[Value], b: &[Value]) -> Ordering {
        for (k, (x, y)) in self.keys.iter().zip(a.iter().zip(b)) {
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if k.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if k.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let o = x.cmp_for_sort(y);
                    if k.descending {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    fn sort_and_cut(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.sort_by(|a, b| self.order(&a.0, &b.0));
        if let Some(n) = self.limit {
            buf.truncate(n);
        }
        self.buf = buf;
    }
}

impl Stage for Sort<'_> {
    fn push(&mut self, row: Row) -> Result<Flow, QueryError> {
        if self.limit == Some(0) {
            return Ok(Flow::Stop);
        }
        let key = self.keys.iter().map(|k| eval(&k.expr, &row)).collect();
        self.buf.push((key, row));
        if let Some(n) = self.limit {
            if self.buf.len() >= 2 * n + 1024 {
                self.sort_and_cut();
            }
        }
        Ok(Flow::Continue)
    }

    fn finish(&mut self) -> Result<(), QueryError> {
        self.sort_and_cut();
        for (_, row) in std::mem::take(&mut self.buf) {
            if self.next.push(row)? == Flow::Stop {
                break;
            }
        }
        self.next.finish()
    }
}

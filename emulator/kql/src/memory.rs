//! [`MemorySource`]: tables held in memory column by column, for tests and benchmarks.
//!
//! Scans honour every hint (`time_range`, `predicates`, `columns`, and `limit` when no `order`
//! is asked). `search` predicates are evaluated a block of rows at a time, column by column:
//! rows that share one string allocation (a pool name, an image) reuse the answer, so a
//! search costs about one text test per distinct value instead of one per cell.

use std::collections::HashMap;
use std::sync::Arc;

use crate::schema::{Catalog, TableSchema};
use crate::source::{CompiledPredicate, DataSource, Flow, Row, RowSink, ScanRequest, SourceError};
use crate::text::TextMatcher;
use crate::value::Value;

/// What a predicate naming a column the table lacks sees.
static NULL: Value = Value::Null;

/// Rows per block of `search` evaluation.
const BLOCK: usize = 4096;
/// Remembered answers per column (direct-mapped by address).
const MEMO: usize = 256;

/// Tables held in memory, column by column. Rows are checked against the catalog's schemas on
/// insert; scans honour `time_range`, `predicates`, `columns` and (without `order`) `limit`.
#[derive(Debug, Default)]
pub struct MemorySource {
    schemas: HashMap<String, Arc<TableSchema>>,
    tables: HashMap<String, Vec<Vec<Value>>>,
}

impl MemorySource {
    /// An empty source that accepts rows for the catalog's tables.
    pub fn new(catalog: &Catalog) -> MemorySource {
        MemorySource {
            schemas: catalog
                .tables()
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
            tables: HashMap::new(),
        }
    }

    /// Appends a row given as `(column, value)` pairs; columns not named are null (`""` for
    /// strings). Values are converted to the column types; the error names the bad column.
    pub fn insert(&mut self, table: &str, cells: &[(&str, Value)]) -> Result<(), SourceError> {
        let err = |message: String| SourceError {
            table: table.to_string(),
            message,
        };
        let schema = self
            .schemas
            .get(table)
            .ok_or_else(|| err("no such table in the catalog".into()))?
            .clone();
        let mut row: Row = schema
            .columns
            .iter()
            .map(|c| Value::Null.coerce_to(c.ty).unwrap_or(Value::Null))
            .collect();
        for (name, value) in cells {
            let i = schema
                .index_of(name)
                .ok_or_else(|| err(format!("the table has no column '{name}'")))?;
            let ty = schema.columns[i].ty;
            row[i] = value.clone().coerce_to(ty).ok_or_else(|| {
                err(format!(
                    "column '{name}' is {ty}; {value:?} cannot be converted to it"
                ))
            })?;
        }
        self.push_row(table, row)
    }

    /// Appends a row already in schema order and types (fast path for bulk loads).
    pub fn push_row(&mut self, table: &str, row: Row) -> Result<(), SourceError> {
        let width = self.schemas.get(table).map(|s| s.columns.len());
        if width != Some(row.len()) {
            return Err(SourceError {
                table: table.to_string(),
                message: format!(
                    "a row needs {} values, got {}",
                    width.unwrap_or(0),
                    row.len()
                ),
            });
        }
        let cols = self
            .tables
            .entry(table.to_string())
            .or_insert_with(|| (0..row.len()).map(|_| Vec::new()).collect());
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
        Ok(())
    }

    /// Number of rows held for a table.
    pub fn len(&self, table: &str) -> usize {
        self.tables
            .get(table)
            .and_then(|c| c.first())
            .map_or(0, Vec::len)
    }

    /// True when no table holds rows.
    pub fn is_empty(&self) -> bool {
        self.tables
            .values()
            .all(|c| c.first().is_none_or(Vec::is_empty))
    }
}

impl DataSource for MemorySource {
    fn scan(&self, request: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let Some(cols) = self.tables.get(&request.table.name) else {
            return Ok(());
        };
        let rows = cols.first().map_or(0, Vec::len);
        let preds: Vec<CompiledPredicate> = request
            .predicates
            .iter()
            .map(|p| p.compile(&request.table))
            .collect();
        let (searches, others): (Vec<&CompiledPredicate>, Vec<&CompiledPredicate>) =
            preds.iter().partition(|p| p.any_text().is_some());
        let mut memos: Vec<ColumnMemo> = (0..cols.len()).map(|_| ColumnMemo::default()).collect();
        let time = request.time_range.zip(request.table.time_column());
        let limit = if request.order.is_some() {
            None
        } else {
            request.limit
        };
        let mut sent = 0usize;
        let mut pass = vec![false; BLOCK];
        let mut hit = vec![false; BLOCK];
        for block in (0..rows).step_by(BLOCK) {
            let end = (block + BLOCK).min(rows);
            let n = end - block;
            for (k, p) in pass[..n].iter_mut().enumerate() {
                *p = match time {
                    None => true,
                    Some((range, tc)) => {
                        matches!(&cols[tc][block + k], Value::DateTime(t) if range.contains(*t))
                    }
                };
            }
            for s in &searches {
                let Some((columns, matcher)) = s.any_text() else {
                    continue;
                };
                hit[..n].fill(false);
                for c in columns {
                    memos[*c].mark(&cols[*c][block..end], matcher, &pass[..n], &mut hit[..n]);
                }
                for (p, h) in pass[..n].iter_mut().zip(&hit[..n]) {
                    *p &= *h;
                }
            }
            for (k, _) in pass[..n].iter().enumerate().filter(|(_, p)| **p) {
                let r = block + k;
                if !others
                    .iter()
                    .all(|p| p.matches(|c| cols.get(c).map_or(&NULL, |col| &col[r])))
                {
                    continue;
                }
                if limit.is_some_and(|l| sent >= l) {
                    return Ok(());
                }
                let row: Row = request
                    .columns
                    .iter()
                    .map(|c| cols.get(*c).map_or(Value::Null, |col| col[r].clone()))
                    .collect();
                sent += 1;
                if sink.push(row) == Flow::Stop {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Answers of one column's text test, remembered by string address. Addresses are stable for
/// the whole scan because the table owns every value. A column whose values rarely repeat
/// (log lines) stops remembering after its first block.
struct ColumnMemo {
    slots: Vec<(usize, bool)>,
    lookups: usize,
    reuses: usize,
}

impl Default for ColumnMemo {
    fn default() -> Self {
        ColumnMemo {
            slots: vec![(0, false); MEMO],
            lookups: 0,
            reuses: 0,
        }
    }
}

impl ColumnMemo {
    /// Sets `hit[k]` for the rows still passing whose value passes the test.
    fn mark(&mut self, values: &[Value], m: &TextMatcher, pass: &[bool], hit: &mut [bool]) {
        let remember = self.lookups < BLOCK || self.reuses * 4 >= self.lookups;
        let mut last = (0usize, false);
        for (k, v) in values.iter().enumerate() {
            if !pass[k] || hit[k] {
                continue;
            }
            let Value::String(s) = v else { continue };
            let addr = s.as_ptr() as usize;
            let h = if addr == last.0 {
                last.1
            } else if remember {
                self.lookups += 1;
                let slot = &mut self.slots[(addr >> 3) % MEMO];
                if slot.0 == addr {
                    self.reuses += 1;
                    slot.1
                } else {
                    let h = m.matches(s);
                    *slot = (addr, h);
                    h
                }
            } else {
                m.matches(s)
            };
            last = (addr, h);
            hit[k] |= h;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{StrOp, StrOpKind};
    use crate::schema::TableSchema;
    use crate::source::{CompareOp, Flow, Predicate, RowSink};
    use crate::value::ColumnType;

    struct Collect(Vec<Row>);
    impl RowSink for Collect {
        fn push(&mut self, row: Row) -> Flow {
            self.0.push(row);
            Flow::Continue
        }
    }

    fn source() -> (MemorySource, Arc<TableSchema>) {
        let t = TableSchema::new("T", &[("A", ColumnType::String), ("N", ColumnType::Long)]);
        let cat = Catalog::new().with_table(t);
        let mut s = MemorySource::new(&cat);
        for (a, n) in [("x", 1), ("Error here", 2), ("y", 3)] {
            s.insert("T", &[("A", Value::str(a)), ("N", Value::Long(n))])
                .unwrap();
        }
        (s, cat.table("T").unwrap())
    }

    #[test]
    fn scans_apply_hints() {
        let (s, t) = source();
        let mut req = ScanRequest::full(t);
        req.predicates.push(Predicate::Compare {
            column: 1,
            op: CompareOp::Ge,
            value: Value::Long(2),
        });
        req.columns = vec![1];
        let mut out = Collect(Vec::new());
        s.scan(&req, &mut out).unwrap();
        assert_eq!(out.0, vec![vec![Value::Long(2)], vec![Value::Long(3)]]);
        req.predicates = vec![Predicate::AnyColumnText {
            op: StrOp {
                kind: StrOpKind::Has,
                negated: false,
                case_sensitive: false,
            },
            pattern: "error".into(),
        }];
        req.limit = Some(5);
        req.columns = vec![0, 1];
        let mut out = Collect(Vec::new());
        s.scan(&req, &mut out).unwrap();
        assert_eq!(out.0, vec![vec![Value::str("Error here"), Value::Long(2)]]);
    }

    #[test]
    fn inserts_are_checked_against_the_schema() {
        let (mut s, _) = source();
        let e = s.insert("T", &[("Nope", Value::Long(1))]).unwrap_err();
        assert!(e.to_string().contains("no column 'Nope'"));
        let e = s.insert("T", &[("N", Value::str("many"))]).unwrap_err();
        assert!(e.to_string().contains("column 'N' is long"));
        assert!(s.insert("U", &[]).is_err());
        assert_eq!(s.len("T"), 3);
    }
}

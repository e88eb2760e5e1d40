//! The in-memory copy of a log stream, column by column: a [`Segment`] holds up to
//! [`SEGMENT_ROWS`] consecutive rows (`seq` = `base_seq + index`) as plain vectors: times as
//! ticks, origin and route-set ids, the short strings (session id, identifier, stream or
//! operation, level) as codes into a per-segment dictionary, and the log lines in one byte
//! arena. Repeated values cost four bytes a row, a predicate on a dictionary column is tested
//! once per distinct value, and dropping old rows drops whole segments.

use std::collections::HashMap;
use std::sync::Arc;

use sessions_kql::Value;

use super::origin::OriginId;
use super::routes::RouteSetId;

/// Rows per segment.
pub const SEGMENT_ROWS: usize = 16_384;

/// One row as the writer appends it.
#[derive(Clone, Copy, Debug)]
pub struct RowRef<'a> {
    /// `TimeGenerated` (100-ns ticks since the Unix epoch).
    pub time: i64,
    /// Interned origin.
    pub origin: OriginId,
    /// Interned destinations.
    pub routes: RouteSetId,
    /// Session id (`PodName`); empty for pool-level events.
    pub pod: &'a str,
    /// Identifier bound at the time (`SessionId` of console rows); may be empty.
    pub identifier: &'a str,
    /// `Stream` of console rows, `OperationName` of events.
    pub tag: &'a str,
    /// `Level` of events (empty for console rows).
    pub level: &'a str,
    /// `Log`.
    pub log: &'a str,
}

/// A dictionary column: a code per row.
pub type Codes = Vec<u32>;

/// Up to [`SEGMENT_ROWS`] rows, column by column.
#[derive(Debug, Default)]
pub struct Segment {
    /// `seq` of the first row.
    pub base_seq: i64,
    /// Ticks per row.
    pub times: Vec<i64>,
    /// Origin id per row.
    pub origins: Vec<OriginId>,
    /// Route set per row.
    pub routes: Vec<RouteSetId>,
    /// Codes of the session id.
    pub pods: Codes,
    /// Codes of the identifier.
    pub identifiers: Codes,
    /// Codes of the stream / operation.
    pub tags: Codes,
    /// Codes of the level.
    pub levels: Codes,
    /// The log lines, back to back.
    pub log_bytes: String,
    /// End offset of each row's log line in `log_bytes`.
    pub log_ends: Vec<u32>,
    /// The dictionary shared by the four code columns (strings as query values).
    pub dict: Vec<Value>,
    /// Smallest time in the segment (`i64::MAX` when empty).
    pub min_time: i64,
    /// Largest time in the segment (`i64::MIN` when empty).
    pub max_time: i64,
    /// Code of each dictionary string (only while the segment is open).
    index: HashMap<Arc<str>, u32>,
}

impl Segment {
    /// An empty, open segment whose first row will be `base_seq`.
    pub fn new(base_seq: i64) -> Segment {
        Segment {
            base_seq,
            min_time: i64::MAX,
            max_time: i64::MIN,
            ..Segment::default()
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// True when no more rows fit.
    pub fn is_full(&self) -> bool {
        self.len() >= SEGMENT_ROWS
    }

    /// `seq` after the last row.
    pub fn end_seq(&self) -> i64 {
        self.base_seq + self.len() as i64
    }

    fn code(&mut self, s: &str) -> u32 {
        if let Some(c) = self.index.get(s) {
            return *c;
        }
        let arc: Arc<str> = Arc::from(s);
        let c = self.dict.len() as u32;
        self.dict.push(Value::String(arc.clone()));
        self.index.insert(arc, c);
        c
    }

    /// Appends a row (the caller keeps [`Segment::is_full`] in mind).
    pub fn push(&mut self, row: RowRef<'_>) {
        self.times.push(row.time);
        self.min_time = self.min_time.min(row.time);
        self.max_time = self.max_time.max(row.time);
        self.origins.push(row.origin);
        self.routes.push(row.routes);
        let (p, i, t, l) = (
            self.code(row.pod),
            self.code(row.identifier),
            self.code(row.tag),
            self.code(row.level),
        );
        self.pods.push(p);
        self.identifiers.push(i);
        self.tags.push(t);
        self.levels.push(l);
        self.log_bytes.push_str(row.log);
        self.log_ends.push(self.log_bytes.len() as u32);
    }

    /// Row `i`'s log line.
    pub fn log(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.log_ends[i - 1] as usize
        };
        &self.log_bytes[start..self.log_ends[i] as usize]
    }

    /// The dictionary string of `code`.
    pub fn text(&self, code: u32) -> &str {
        self.dict.get(code as usize).map_or("", Value::as_str)
    }

    /// Closes the segment: no more rows; the lookup index and spare capacity are freed.
    pub fn seal(&mut self) {
        self.index = HashMap::new();
        self.times.shrink_to_fit();
        self.origins.shrink_to_fit();
        self.routes.shrink_to_fit();
        self.pods.shrink_to_fit();
        self.identifiers.shrink_to_fit();
        self.tags.shrink_to_fit();
        self.levels.shrink_to_fit();
        self.log_bytes.shrink_to_fit();
        self.log_ends.shrink_to_fit();
        self.dict.shrink_to_fit();
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.times.capacity() * 8
            + (self.origins.capacity()
                + self.routes.capacity()
                + self.pods.capacity()
                + self.identifiers.capacity()
                + self.tags.capacity()
                + self.levels.capacity()
                + self.log_ends.capacity())
                * 4
            + self.log_bytes.capacity()
            + self
                .dict
                .iter()
                .map(|v| v.as_str().len() + 40)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let mut s = Segment::new(10);
        for (i, log) in ["a", "", "hello"].iter().enumerate() {
            s.push(RowRef {
                time: 100 - i as i64,
                origin: 1,
                routes: 0,
                pod: "p",
                identifier: if i == 2 { "id" } else { "" },
                tag: "stdout",
                level: "",
                log,
            });
        }
        s.seal();
        assert_eq!(s.len(), 3);
        assert_eq!(s.end_seq(), 13);
        assert_eq!((s.log(0), s.log(1), s.log(2)), ("a", "", "hello"));
        assert_eq!((s.min_time, s.max_time), (98, 100));
        assert_eq!(s.pods[0], s.pods[2]);
        assert_eq!(s.text(s.identifiers[2]), "id");
        assert_eq!(s.text(s.identifiers[0]), "");
        assert!(s.heap_bytes() > 0);
    }
}

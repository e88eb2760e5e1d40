//! One log stream in memory: sealed [`Segment`]s and the open tail, behind one read-write
//! lock. Queries hold the read lock while they scan (the writer's next append waits; rows keep
//! queueing in the writer's channel meanwhile); the writer appends a whole batch under one
//! write lock. Old rows leave a segment at a time ([`Stream::evict_to`],
//! [`Stream::evict_before`]).

use std::collections::VecDeque;

use parking_lot::{RwLock, RwLockReadGuard};

use super::segment::{RowRef, Segment};

/// The rows of one stream.
#[derive(Debug)]
pub struct StreamData {
    /// Full segments, oldest first.
    pub sealed: VecDeque<Segment>,
    /// The segment being filled.
    pub tail: Segment,
}

impl StreamData {
    /// Every segment, oldest first (the tail last).
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &Segment> {
        self.sealed.iter().chain(std::iter::once(&self.tail))
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.sealed.iter().map(Segment::len).sum::<usize>() + self.tail.len()
    }

    /// `seq` of the oldest row held (the next one when empty).
    pub fn first_seq(&self) -> i64 {
        self.sealed
            .front()
            .map_or(self.tail.base_seq, |s| s.base_seq)
    }

    /// `seq` the next row gets.
    pub fn next_seq(&self) -> i64 {
        self.tail.end_seq()
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.segments().map(Segment::heap_bytes).sum()
    }
}

/// A stream behind its lock.
#[derive(Debug)]
pub struct Stream {
    data: RwLock<StreamData>,
}

impl Stream {
    /// An empty stream whose first row will be `next_seq`.
    pub fn new(next_seq: i64) -> Stream {
        Stream {
            data: RwLock::new(StreamData {
                sealed: VecDeque::new(),
                tail: Segment::new(next_seq),
            }),
        }
    }

    /// Read access for a scan.
    pub fn read(&self) -> RwLockReadGuard<'_, StreamData> {
        self.data.read()
    }

    /// Appends rows in order; their `seq`s continue from [`StreamData::next_seq`].
    pub fn append<'a>(&self, rows: impl IntoIterator<Item = RowRef<'a>>) {
        let mut d = self.data.write();
        for row in rows {
            if d.tail.is_full() {
                let next = d.tail.end_seq();
                let mut full = std::mem::replace(&mut d.tail, Segment::new(next));
                full.seal();
                d.sealed.push_back(full);
            }
            d.tail.push(row);
        }
    }

    /// Appends one row with a known `seq` (start-up load): a `seq` that does not follow the
    /// previous row (rows deleted in between) starts a new segment.
    pub fn push_at(&self, seq: i64, row: RowRef<'_>) {
        let mut d = self.data.write();
        if d.tail.is_empty() {
            d.tail.base_seq = seq;
        } else if d.tail.is_full() || seq != d.tail.end_seq() {
            let mut full = std::mem::replace(&mut d.tail, Segment::new(seq));
            full.seal();
            d.sealed.push_back(full);
        }
        d.tail.push(row);
    }

    /// Drops the oldest sealed segments while more than `max_rows` rows are held. Returns the
    /// new first `seq` when something was dropped.
    pub fn evict_to(&self, max_rows: usize) -> Option<i64> {
        let mut d = self.data.write();
        let mut rows = d.rows();
        let mut dropped = false;
        while rows > max_rows {
            let Some(old) = d.sealed.pop_front() else {
                break;
            };
            rows -= old.len();
            dropped = true;
        }
        dropped.then(|| d.first_seq())
    }

    /// Drops the oldest sealed segments whose every row is older than `cutoff` (ticks).
    /// Returns the new first `seq` when something was dropped.
    pub fn evict_before(&self, cutoff: i64) -> Option<i64> {
        let mut d = self.data.write();
        let mut dropped = false;
        while d.sealed.front().is_some_and(|s| s.max_time < cutoff) {
            d.sealed.pop_front();
            dropped = true;
        }
        dropped.then(|| d.first_seq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logstore::segment::SEGMENT_ROWS;

    fn row(time: i64) -> RowRef<'static> {
        RowRef {
            time,
            origin: 0,
            routes: 0,
            pod: "p",
            identifier: "",
            tag: "stdout",
            level: "",
            log: "x",
        }
    }

    #[test]
    fn segments_seal_and_evict() {
        let s = Stream::new(1);
        let n = SEGMENT_ROWS * 2 + 5;
        s.append((0..n as i64).map(row));
        {
            let d = s.read();
            assert_eq!(d.rows(), n);
            assert_eq!(d.sealed.len(), 2);
            assert_eq!(d.first_seq(), 1);
            assert_eq!(d.next_seq(), 1 + n as i64);
        }
        assert_eq!(s.evict_to(n), None);
        assert_eq!(s.evict_to(SEGMENT_ROWS + 5), Some(1 + SEGMENT_ROWS as i64));
        assert_eq!(s.read().rows(), SEGMENT_ROWS + 5);
        assert_eq!(s.evict_before(0), None);
        assert_eq!(
            s.evict_before(i64::MAX),
            Some(1 + 2 * SEGMENT_ROWS as i64),
            "only sealed segments go"
        );
        assert_eq!(s.read().rows(), 5);
        assert_eq!(s.evict_to(0), None, "the tail stays");
    }
}

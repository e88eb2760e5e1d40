//! What the log store's parts share: time units, bounds, the row to store, counters, and the
//! state the writer thread, the scans and the senders hold in common ([`Shared`]).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use time::OffsetDateTime;

use crate::clock::SharedClock;
use crate::store::Store;

use super::origin::{Origin, Origins};
use super::routes::{RouteSets, RouteTable, StreamKind};
use super::stream::Stream;

/// 100-ns ticks per second (the unit of stored times, as KQL's `datetime`).
pub const TICKS_PER_SECOND: i64 = 10_000_000;
/// Ticks per day.
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;

/// Ticks since the Unix epoch of `t`.
pub fn ticks(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 100) as i64
}

/// Bounds of the store (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most rows per stream: console, lifecycle, pool events.
    pub max_rows: [usize; 3],
    /// Longest console line kept, in bytes.
    pub max_line_bytes: usize,
    /// Rows are kept at least this many days (when no workspace keeps them longer).
    pub min_retention_days: i64,
    /// Days metric samples are kept.
    pub sample_retention_days: i64,
    /// Most metric samples kept.
    pub max_samples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: [1_000_000, 250_000, 250_000],
            max_line_bytes: 16 * 1024,
            min_retention_days: 30,
            sample_retention_days: 30,
            max_samples: 2_000_000,
        }
    }
}

/// One log row to store.
#[derive(Clone, Debug)]
pub struct Record {
    /// Which stream.
    pub stream: StreamKind,
    /// When (the emulator's clock).
    pub time: OffsetDateTime,
    /// Who produced it.
    pub origin: Arc<Origin>,
    /// Session id (`PodName`); empty for pool-level events.
    pub pod: Arc<str>,
    /// Identifier bound to the session at the time, if any.
    pub identifier: Option<Arc<str>>,
    /// Console: `stdout`/`stderr`; events: the operation name.
    pub tag: Cow<'static, str>,
    /// Events: `Informational`, `Warning` or `Error`; console: empty.
    pub level: &'static str,
    /// The line or message.
    pub log: String,
}

/// Counters of the store (for `/metrics`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Rows written, per stream.
    pub written: [AtomicU64; 3],
    /// Rows dropped by the row cap or retention, per stream.
    pub dropped: [AtomicU64; 3],
    /// Console lines cut at the line cap.
    pub truncated: AtomicU64,
    /// Batches whose SQLite write failed (their rows are kept in memory only).
    pub write_failures: AtomicU64,
}

/// What the writer, the scans and the senders share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) clock: SharedClock,
    pub(crate) limits: Limits,
    pub(crate) origins: Origins,
    pub(crate) sets: RouteSets,
    pub(crate) routes: RwLock<Arc<RouteTable>>,
    pub(crate) streams: [Stream; 3],
    pub(crate) stats: Stats,
    /// The store's resource change counter the route table was built from (`u64::MAX`: none).
    pub(crate) routes_from: AtomicU64,
    /// Serialises route rebuilds (read the resources, then install).
    pub(crate) rebuild: tokio::sync::Mutex<()>,
}

impl Shared {
    pub(crate) fn stream(&self, kind: StreamKind) -> &Stream {
        &self.streams[kind.index()]
    }
}

/// Adds `n` to a counter.
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

//! The Log Analytics side of the runtime: every console line, lifecycle event, pool event and
//! metric sample the pools produce, where each one goes, and how queries read them.
//!
//! # Flow
//!
//! 1. A producer (the pool actor, a session supervisor, the metric sampler) calls
//!    [`LogStore::send`] / [`LogStore::send_sample`]. The [`routes::RouteTable`] in force at
//!    that instant decides the row's destinations (workspace tables), so a diagnostic setting
//!    receives exactly the rows produced while it is enabled. The call never blocks.
//! 2. One writer thread ([`writer`]) takes rows in batches, commits each batch to SQLite in
//!    one transaction ([`persist`]), then appends it to the in-memory copy ([`stream`],
//!    [`segment`]). [`LogStore::flush`] waits until everything sent before it is durable and
//!    visible.
//! 3. Queries read the in-memory copy through [`scan::WorkspaceSource`], a KQL
//!    [`sessions_kql::DataSource`] over one workspace: only rows routed to that workspace's
//!    table and younger than its retention are visible. `AzureMetrics` is read from the
//!    samples in SQLite.
//!
//! # Why an in-memory copy
//!
//! Measured on a million console rows, reading them back from SQLite alone costs more than the
//! 200 ms a query may take (`summarize count() by bin(TimeGenerated, 1m)` must see every row's
//! time; `search "text"` every string). The columnar copy answers those in tens of
//! milliseconds and holds about 40 bytes a row plus the text of the line; SQLite stays the
//! durable record, read once at start-up.
//!
//! # Bounds (what a chatty session can cost)
//!
//! - A console line longer than [`Limits::max_line_bytes`] (16 KiB) is cut there (at a
//!   character boundary) and marked with a trailing `…`.
//! - Each stream keeps at most [`Limits::max_rows`] rows (default 1,000,000 console lines and
//!   250,000 rows of each event stream). Past that, the oldest rows of the stream are dropped
//!   (16,384 at a time), across every pool and workspace, from memory and disk;
//!   [`Stats::dropped`] counts them and a warning is logged.
//! - Rows older than the longest `retentionInDays` of any workspace (at least
//!   [`Limits::min_retention_days`]) are deleted; a workspace never shows rows older than its
//!   own retention.
//! - Metric samples are kept [`Limits::sample_retention_days`] (30) days, at most
//!   [`Limits::max_samples`] of them.
//!
//! # Layout
//!
//! - [`routes`]: tables, destinations, route sets, the route table.
//! - [`origin`]: who produced a row (pool, environment, container), interned.
//! - [`segment`], [`stream`]: the in-memory copy.
//! - [`persist`]: SQLite tables, batch writes, start-up load, samples.
//! - [`shared`]: time units, bounds, the row type, counters, the shared state.
//! - [`writer`]: the writer thread (batches, caps, retention).
//! - [`project`]: which stored field each column of each table shows.
//! - [`scan`]: the KQL data source of one workspace.
//! - [`tail`]: console lines of a pool in order (`sessions-emulator logs`).

pub mod origin;
pub mod persist;
pub mod project;
pub mod routes;
pub mod scan;
pub mod segment;
pub mod shared;
pub mod stream;
pub mod tail;
pub mod writer;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::store::{Store, StoreError};

use self::persist::{Sample, SampleRow, SampleScope};
use self::routes::{RouteSetId, RouteTable, RouteTableBuilder, StreamKind};
use self::writer::Msg;

use self::shared::Shared;
pub use self::shared::{ticks, Limits, Record, Stats, TICKS_PER_DAY, TICKS_PER_SECOND};

/// Handle to the log store. Cheap to clone; the writer thread ends when the last handle is
/// dropped (after writing what was queued).
#[derive(Clone, Debug)]
pub struct LogStore {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Msg>,
}

impl LogStore {
    /// Loads the stored rows of `store` into memory and starts the writer thread.
    pub fn open(store: &Store, clock: SharedClock, limits: Limits) -> Result<LogStore, StoreError> {
        let shared = writer::load(store, clock, limits)?;
        let tx = writer::start(shared.clone())?;
        Ok(LogStore { shared, tx })
    }

    /// The bounds in force.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// The route table in force.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.shared.routes.read().clone()
    }

    /// Replaces the route table: rows produced from now on follow it. `built_from` is the
    /// store's [`Store::resource_changes`] read before the resources were read.
    pub fn install_routes(&self, builder: RouteTableBuilder, built_from: u64) {
        let table = builder.build(&self.shared.sets);
        *self.shared.routes.write() = Arc::new(table);
        self.shared.routes_from.store(built_from, Ordering::Release);
    }

    /// True when the resources changed since the route table was built.
    pub fn routes_stale(&self) -> bool {
        self.shared.routes_from.load(Ordering::Acquire) != self.shared.store.resource_changes()
    }

    /// Held while routes are rebuilt, so an older rebuild never installs over a newer one.
    pub async fn rebuild_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.shared.rebuild.lock().await
    }

    /// The route set of `stream` rows from pools of environment `env_key` (lower-case), now.
    pub fn route_for(&self, env_key: &str, stream: StreamKind) -> RouteSetId {
        self.shared.routes.read().for_environment(env_key, stream)
    }

    /// Queues a row; its destinations are decided now, by the route table in force.
    pub fn send(&self, record: Record) {
        let env = record.origin.environment_id.to_ascii_lowercase();
        let routes = self.route_for(&env, record.stream);
        self.send_routed(record, routes);
    }

    /// Queues a row whose route set the caller looked up (see [`LogStore::route_for`]).
    pub fn send_routed(&self, record: Record, routes: RouteSetId) {
        let _ = self.tx.send(Msg::Row(Box::new(record), routes));
    }

    /// Queues a metric sample of one pool; its destinations (the pool's `AllMetrics` settings)
    /// are decided now.
    pub fn send_sample(&self, mut sample: Sample) {
        sample.routes = self
            .shared
            .routes
            .read()
            .for_pool(&sample.pool_id.to_ascii_lowercase());
        let _ = self.tx.send(Msg::Sample(Box::new(sample)));
    }

    /// Waits until everything queued before this call is on disk and visible to queries.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Applies retention and caps now (the sampler asks every minute), then flushes.
    pub async fn sweep(&self) {
        let _ = self.tx.send(Msg::Sweep);
        self.flush().await;
    }

    /// A KQL data source over one workspace, as of `now`.
    pub fn workspace(&self, view: scan::WorkspaceView) -> scan::WorkspaceSource {
        scan::WorkspaceSource::new(self.shared.clone(), view)
    }

    /// Metric samples of `scope` with `from <= minute < to` (unix seconds).
    pub async fn samples(
        &self,
        scope: SampleScope,
        from: i64,
        to: i64,
    ) -> Result<Vec<SampleRow>, StoreError> {
        self.shared
            .store
            .call(move |c| persist::samples(c, &scope, from, to))
            .await
    }

    /// Console lines in `seq` order (see [`tail`]).
    pub fn console_lines(&self, filter: &tail::TailFilter) -> tail::TailPage {
        tail::read(&self.shared, filter)
    }

    /// The store's counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Rows held in memory per stream, and their approximate heap bytes.
    pub fn held(&self) -> [(usize, usize); 3] {
        StreamKind::ALL.map(|k| {
            let d = self.shared.stream(k).read();
            (d.rows(), d.heap_bytes())
        })
    }
}

//! The writer thread: the only code that adds or removes rows.
//!
//! It takes whatever is queued (up to [`BATCH`] messages), assigns `seq`s, interns origins,
//! writes the batch in one SQLite transaction, appends it to the in-memory streams, then
//! enforces the row caps. Retention runs on [`Msg::Sweep`] (the metric sampler sends one every
//! minute of the emulator's clock) and at least once a minute of real time. A plain thread, so
//! the store works with or without a tokio runtime; it ends when every sender is gone, after
//! writing what was queued.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::origin::{Origin, OriginId, Origins};
use super::persist::{self, Batch, Loader, Sample};
use super::routes::{decode, encode, RouteSetId, RouteSets, RouteTable, StreamKind};
use super::segment::RowRef;
use super::shared::{bump, ticks, Limits, Record, Shared, Stats, TICKS_PER_DAY};
use super::stream::Stream;
use crate::clock::SharedClock;
use crate::store::{Store, StoreError};

/// Most messages handled per batch.
pub const BATCH: usize = 8192;

/// How often retention runs without a [`Msg::Sweep`].
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What the writer receives.
pub(crate) enum Msg {
    /// A row and its destinations.
    Row(Box<Record>, RouteSetId),
    /// A metric sample.
    Sample(Box<Sample>),
    /// Answer once everything before is written.
    Flush(oneshot::Sender<()>),
    /// Apply retention now.
    Sweep,
}

/// Reads the persisted rows into a fresh [`Shared`].
pub(crate) fn load(
    store: &Store,
    clock: SharedClock,
    limits: Limits,
) -> Result<Arc<Shared>, StoreError> {
    let origins = Origins::new();
    let sets = RouteSets::new();
    let streams = [Stream::new(1), Stream::new(1), Stream::new(1)];
    store.call_blocking(|c| {
        persist::load(
            c,
            Loader {
                origin: &mut |id, o| origins.restore(id, o),
                route_set: &mut |id, d| sets.restore(id, decode(&d)),
                row: &mut |k, seq, r| streams[k.index()].push_at(seq, r),
            },
        )
    })?;
    let rows: usize = streams.iter().map(|s| s.read().rows()).sum();
    if rows > 0 {
        tracing::info!(rows, "loaded stored log rows");
    }
    Ok(Arc::new(Shared {
        store: store.clone(),
        clock,
        limits,
        origins,
        sets,
        routes: parking_lot::RwLock::new(Arc::new(RouteTable::default())),
        streams,
        stats: Stats::default(),
        routes_from: std::sync::atomic::AtomicU64::new(u64::MAX),
        rebuild: tokio::sync::Mutex::new(()),
    }))
}

/// Starts the writer thread of `shared`.
pub(crate) fn start(shared: Arc<Shared>) -> Result<mpsc::UnboundedSender<Msg>, StoreError> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || Writer::new(shared).run(rx))
        .map_err(|e| StoreError::Task(format!("could not start the log writer thread: {e}")))?;
    Ok(tx)
}

struct Writer {
    shared: Arc<Shared>,
    /// Origins `0..n` are on disk.
    persisted_origins: usize,
    /// Route sets `0..n` are on disk.
    persisted_sets: usize,
    last_sweep: Instant,
    last_origin: Option<(Arc<Origin>, OriginId)>,
}

impl Writer {
    fn new(shared: Arc<Shared>) -> Writer {
        Writer {
            persisted_origins: shared.origins.len(),
            persisted_sets: shared.sets.len(),
            shared,
            last_sweep: Instant::now(),
            last_origin: None,
        }
    }

    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        while let Some(first) = rx.blocking_recv() {
            let mut msgs = Vec::with_capacity(64);
            msgs.push(first);
            while msgs.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            self.batch(msgs);
        }
    }

    fn origin_id(&mut self, origin: &Arc<Origin>) -> OriginId {
        if let Some((o, id)) = &self.last_origin {
            if Arc::ptr_eq(o, origin) {
                return *id;
            }
        }
        let id = self.shared.origins.intern(origin);
        self.last_origin = Some((origin.clone(), id));
        id
    }

    fn batch(&mut self, msgs: Vec<Msg>) {
        let max_line = self.shared.limits.max_line_bytes;
        let mut rows: Vec<(Box<Record>, RouteSetId, OriginId)> = Vec::new();
        let mut samples: Vec<Box<Sample>> = Vec::new();
        let mut waiters = Vec::new();
        let mut sweep = false;
        for m in msgs {
            match m {
                Msg::Row(mut r, routes) => {
                    if truncate(&mut r.log, max_line) {
                        bump(&self.shared.stats.truncated, 1);
                    }
                    let origin = self.origin_id(&r.origin);
                    rows.push((r, routes, origin));
                }
                Msg::Sample(s) => samples.push(s),
                Msg::Flush(w) => waiters.push(w),
                Msg::Sweep => sweep = true,
            }
        }
        if !rows.is_empty() || !samples.is_empty() {
            self.write(&rows, &samples);
        }
        if sweep || self.last_sweep.elapsed() >= SWEEP_EVERY {
            self.sweep();
        }
        for w in waiters {
            let _ = w.send(());
        }
    }

    fn write(&mut self, rows: &[(Box<Record>, RouteSetId, OriginId)], samples: &[Box<Sample>]) {
        let shared = self.shared.clone();
        let mut next = StreamKind::ALL.map(|k| shared.stream(k).read().next_seq());
        let origins: Vec<_> = (self.persisted_origins..shared.origins.len())
            .filter_map(|id| shared.origins.get(id as OriginId))
            .collect();
        let sets: Vec<(RouteSetId, String)> = (self.persisted_sets..shared.sets.len())
            .map(|id| (id as RouteSetId, encode(&shared.sets.get(id as RouteSetId))))
            .collect();
        let mut batch = Batch {
            origins: origins
                .iter()
                .enumerate()
                .map(|(i, o)| ((self.persisted_origins + i) as OriginId, &*o.origin))
                .collect(),
            route_sets: sets,
            rows: Vec::with_capacity(rows.len()),
            samples: samples.iter().map(|s| &**s).collect(),
        };
        for (r, routes, origin) in rows {
            let seq = &mut next[r.stream.index()];
            batch
                .rows
                .push((r.stream, *seq, row_ref(r, *routes, *origin)));
            *seq += 1;
        }
        match shared.store.call_blocking(|c| persist::write(c, &batch)) {
            Ok(()) => {
                self.persisted_origins += batch.origins.len();
                self.persisted_sets += batch.route_sets.len();
            }
            Err(e) => {
                bump(&shared.stats.write_failures, 1);
                tracing::error!(error = %e, rows = batch.rows.len(), "could not persist log rows; they stay visible until the emulator stops");
            }
        }
        for kind in StreamKind::ALL {
            let mine: Vec<RowRef<'_>> = batch
                .rows
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, _, r)| *r)
                .collect();
            if mine.is_empty() {
                continue;
            }
            bump(&shared.stats.written[kind.index()], mine.len() as u64);
            let stream = shared.stream(kind);
            stream.append(mine);
            let max = shared.limits.max_rows[kind.index()];
            let before = stream.read().rows();
            if before > max {
                if let Some(first) = stream.evict_to(max) {
                    let dropped = before - stream.read().rows();
                    self.dropped(kind, first, dropped, "the row cap");
                }
            }
        }
    }

    fn dropped(&self, kind: StreamKind, first: i64, rows: usize, why: &str) {
        bump(&self.shared.stats.dropped[kind.index()], rows as u64);
        tracing::warn!(stream = ?kind, rows, "dropped the oldest log rows ({why})");
        if let Err(e) = self
            .shared
            .store
            .call_blocking(|c| persist::delete_before(c, kind, first))
        {
            tracing::error!(error = %e, "could not delete dropped log rows from the database");
        }
    }

    fn sweep(&mut self) {
        self.last_sweep = Instant::now();
        let shared = self.shared.clone();
        let now = shared.clock.now();
        let days = shared
            .routes
            .read()
            .longest_retention_days()
            .max(shared.limits.min_retention_days);
        let cutoff = ticks(now).saturating_sub(days.saturating_mul(TICKS_PER_DAY));
        for kind in StreamKind::ALL {
            let stream = shared.stream(kind);
            let before = stream.read().rows();
            if let Some(first) = stream.evict_before(cutoff) {
                let dropped = before - stream.read().rows();
                self.dropped(kind, first, dropped, "retention");
            }
        }
        let oldest = now.unix_timestamp() - shared.limits.sample_retention_days * 86_400;
        if let Err(e) = shared
            .store
            .call_blocking(|c| persist::trim_samples(c, oldest, shared.limits.max_samples))
        {
            tracing::error!(error = %e, "could not trim metric samples");
        }
    }
}

fn row_ref(r: &Record, routes: RouteSetId, origin: OriginId) -> RowRef<'_> {
    RowRef {
        time: ticks(r.time),
        origin,
        routes,
        pod: &r.pod,
        identifier: r.identifier.as_deref().unwrap_or(""),
        tag: &r.tag,
        level: r.level,
        log: &r.log,
    }
}

/// Cuts `line` to at most `max` bytes (at a character boundary, ending in `…`). True if cut.
pub fn truncate(line: &mut String, max: usize) -> bool {
    if line.len() <= max {
        return false;
    }
    let mark = '…';
    let mut end = max.saturating_sub(mark.len_utf8());
    while end > 0 && !line.is_char_boundary(end) {
        end -= 1;
    }
    line.truncate(end);
    line.push(mark);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_at_a_char_boundary() {
        let mut s = "é".repeat(10);
        assert!(truncate(&mut s, 8));
        assert!(s.len() <= 8, "{s}");
        assert!(s.ends_with('…'));
        let mut short = "ok".to_string();
        assert!(!truncate(&mut short, 8));
        assert_eq!(short, "ok");
    }
}

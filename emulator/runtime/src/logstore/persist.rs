//! The log store on disk (tables created by the store's migration 3):
//!
//! - `log_console`, `log_lifecycle`, `log_pool_events`: one row per log row. `seq` (INTEGER
//!   PRIMARY KEY, assigned by the writer, contiguous), `time` (100-ns ticks since the Unix
//!   epoch, from the emulator's clock), `origin` (id in `log_origins`), `routes` (id in
//!   `log_route_sets`; 0 = no workspace), `pod` (session id), `identifier`, `tag` (console:
//!   `stdout`/`stderr`; events: the operation), `level` (events), `log`.
//! - `log_origins` (`id`, `body`: the [`Origin`] as JSON), `log_route_sets` (`id`,
//!   `destinations`: see [`super::routes::encode`]).
//! - `metric_samples`: one sample per pool and minute (`time` = the minute's start, unix
//!   seconds) of the three pool gauges, with the route set of the pool's `AllMetrics` setting.
//!
//! No secondary index on the row tables: they are written in batches and read back in full at
//! start-up (queries read the in-memory copy); old rows are deleted by `seq` prefix.

use rusqlite::{params, Connection};

use super::origin::{Origin, OriginId};
use super::routes::{RouteSetId, StreamKind};
use super::segment::RowRef;
use crate::store::StoreError;

/// The table of a stream.
pub fn table_of(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::Console => "log_console",
        StreamKind::Lifecycle => "log_lifecycle",
        StreamKind::PoolEvents => "log_pool_events",
    }
}

/// One sample of a pool's three gauges for one minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Start of the minute (unix seconds).
    pub minute: i64,
    /// ARM id of the pool.
    pub pool_id: String,
    /// ARM id of the pool's environment.
    pub environment_id: String,
    /// `PoolExecutingPodCount`: sessions allocated to an identifier.
    pub executing: u32,
    /// `PoolPendingPodCount`: sessions being created.
    pub pending: u32,
    /// `PoolReadyPodCount`: sessions ready to be allocated.
    pub ready: u32,
    /// Destinations (`AzureMetrics` of workspaces).
    pub routes: RouteSetId,
}

/// One batch to commit.
#[derive(Default)]
pub struct Batch<'a> {
    /// Origins interned since the last batch.
    pub origins: Vec<(OriginId, &'a Origin)>,
    /// Route sets interned since the last batch (id, encoded destinations).
    pub route_sets: Vec<(RouteSetId, String)>,
    /// Rows with their `seq`.
    pub rows: Vec<(StreamKind, i64, RowRef<'a>)>,
    /// Metric samples.
    pub samples: Vec<&'a Sample>,
}

/// Writes a batch in one transaction.
pub fn write(conn: &mut Connection, batch: &Batch<'_>) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut st =
            tx.prepare_cached("INSERT OR REPLACE INTO log_origins (id, body) VALUES (?1, ?2)")?;
        for (id, o) in &batch.origins {
            st.execute(params![id, serde_json::to_string(o)?])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO log_route_sets (id, destinations) VALUES (?1, ?2)",
        )?;
        for (id, d) in &batch.route_sets {
            st.execute(params![id, d])?;
        }
        let mut stmts = [
            tx.prepare_cached("INSERT INTO log_console VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
            tx.prepare_cached("INSERT INTO log_lifecycle VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
            tx.prepare_cached("INSERT INTO log_pool_events VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
        ];
        for (stream, seq, r) in &batch.rows {
            stmts[stream.index()].execute(params![
                seq,
                r.time,
                r.origin,
                r.routes,
                r.pod,
                r.identifier,
                r.tag,
                r.level,
                r.log
            ])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO metric_samples (pool_key, time, environment_key, pool_id, executing, pending, ready, routes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
        )?;
        for s in &batch.samples {
            st.execute(params![
                s.pool_id.to_ascii_lowercase(),
                s.minute,
                s.environment_id.to_ascii_lowercase(),
                s.pool_id,
                s.executing,
                s.pending,
                s.ready,
                s.routes
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Deletes the rows of `stream` before `seq`.
pub fn delete_before(conn: &Connection, stream: StreamKind, seq: i64) -> Result<usize, StoreError> {
    Ok(conn.execute(
        &format!("DELETE FROM {} WHERE seq < ?1", table_of(stream)),
        [seq],
    )?)
}

/// Deletes samples older than `minute` (unix seconds), then the oldest ones beyond `max`.
pub fn trim_samples(conn: &Connection, minute: i64, max: usize) -> Result<usize, StoreError> {
    let mut n = conn.execute("DELETE FROM metric_samples WHERE time < ?1", [minute])?;
    let count: i64 = conn.query_row("SELECT count(*) FROM metric_samples", [], |r| r.get(0))?;
    let excess = count - max as i64;
    if excess > 0 {
        n += conn.execute(
            "DELETE FROM metric_samples WHERE (pool_key, time) IN (SELECT pool_key, time FROM metric_samples ORDER BY time LIMIT ?1)",
            [excess],
        )?;
    }
    Ok(n)
}

/// Everything persisted, handed to callbacks in order (start-up).
pub struct Loader<'a> {
    /// Each origin.
    pub origin: &'a mut dyn FnMut(OriginId, Origin),
    /// Each route set.
    pub route_set: &'a mut dyn FnMut(RouteSetId, String),
    /// Each row, per stream, in `seq` order.
    pub row: &'a mut dyn FnMut(StreamKind, i64, RowRef<'_>),
}

/// Reads every origin, route set and row.
pub fn load(conn: &Connection, to: Loader<'_>) -> Result<(), StoreError> {
    let mut st = conn.prepare("SELECT id, body FROM log_origins ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let body: String = r.get(1)?;
        match serde_json::from_str::<Origin>(&body) {
            Ok(o) => (to.origin)(r.get(0)?, o),
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable log origin"),
        }
    }
    let mut st = conn.prepare("SELECT id, destinations FROM log_route_sets ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        (to.route_set)(r.get(0)?, r.get(1)?);
    }
    for stream in StreamKind::ALL {
        let mut st = conn.prepare(&format!(
            "SELECT seq, time, origin, routes, pod, identifier, tag, level, log FROM {} ORDER BY seq",
            table_of(stream)
        ))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str, StoreError> {
                r.get_ref(i)?
                    .as_str()
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", table_of(stream))))
            };
            let (pod, identifier, tag, level, log) =
                (text(4)?, text(5)?, text(6)?, text(7)?, text(8)?);
            (to.row)(
                stream,
                r.get(0)?,
                RowRef {
                    time: r.get(1)?,
                    origin: r.get(2)?,
                    routes: r.get(3)?,
                    pod,
                    identifier,
                    tag,
                    level,
                    log,
                },
            );
        }
    }
    Ok(())
}

/// A stored sample, as queries read it.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRow {
    /// Start of the minute (unix seconds).
    pub minute: i64,
    /// ARM id of the pool.
    pub pool_id: String,
    /// `[executing, pending, ready]`.
    pub values: [u32; 3],
    /// Destinations.
    pub routes: RouteSetId,
}

/// Which samples to read.
#[derive(Clone, Debug)]
pub enum SampleScope {
    /// One pool (lower-cased id).
    Pool(String),
    /// Every pool of an environment (lower-cased id).
    Environment(String),
    /// Samples whose route set is one of these ids.
    Routed(Vec<RouteSetId>),
}

/// Samples of `scope` with `from <= minute < to` (unix seconds), oldest first.
pub fn samples(
    conn: &Connection,
    scope: &SampleScope,
    from: i64,
    to: i64,
) -> Result<Vec<SampleRow>, StoreError> {
    let cols = "time, pool_id, executing, pending, ready, routes";
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<SampleRow> {
        Ok(SampleRow {
            minute: r.get(0)?,
            pool_id: r.get(1)?,
            values: [r.get(2)?, r.get(3)?, r.get(4)?],
            routes: r.get(5)?,
        })
    };
    let out = match scope {
        SampleScope::Pool(key) => {
            let mut st = conn.prepare_cached(&format!(
                "SELECT {cols} FROM metric_samples WHERE pool_key = ?1 AND time >= ?2 AND time < ?3 ORDER BY time"
            ))?;
            let rows = st.query_map(params![key, from, to], map)?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        SampleScope::Environment(key) => {
            let mut st = conn.prepare_cached(&format!(
                "SELECT {cols} FROM metric_samples WHERE environment_key = ?1 AND time >= ?2 AND time < ?3 ORDER BY time, pool_key"
            ))?;
            let rows = st.query_map(params![key, from, to], map)?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        SampleScope::Routed(ids) => {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let mut st = conn.prepare(&format!(
                "SELECT {cols} FROM metric_samples WHERE routes IN ({list}) AND time >= ?1 AND time < ?2 ORDER BY time, pool_key"
            ))?;
            let rows = st.query_map(params![from, to], map)?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(out)
}

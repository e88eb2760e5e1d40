//! The pool's event stream, as rows: lifecycle events (`AppEnvSessionLifecycleLogs`), pool
//! events (`AppEnvSessionPoolEventLogs`) and console lines (`AppEnvSessionConsoleLogs`) go to
//! the [`LogStore`] (which routes them to workspaces by diagnostic settings and keeps them);
//! the live-session table used to reconcile after a restart is written here.
//!
//! Sending never blocks the pool actor: rows go over unbounded channels to the log store's
//! writer thread and to this module's live-session writer thread, each writing in batches (one
//! transaction per batch). [`LogSink::flush`] waits until everything sent so far is on disk.
//!
//! # Guarantee (what an allocation waits for)
//!
//! Binding an identifier waits for no disk write: the pool actor binds in memory and answers
//! the data plane at once; the `SessionAllocated` rows (lifecycle and pool event) and the
//! session's `pool_live_sessions` row are queued in that same actor step, in order, and the
//! writers commit them in their next batch, usually within milliseconds. Every queued row is
//! written before the writers end, and emulator shutdown ([`crate::pool::PoolManager::shutdown`])
//! flushes before it returns, so nothing is lost on a normal stop (SIGINT/SIGTERM). Only a hard
//! kill can lose the rows still queued at that instant (the batch being committed is atomic);
//! the sessions themselves die with the emulator either way.
//!
//! # Tables
//!
//! Log rows: see [`crate::logstore::persist`]. `pool_live_sessions` (created by the store's
//! migrations): `session_id` (PK), `pool_resource_id`, `state`, `identifier`, `created_at`,
//! `updated_at`: sessions not yet ended; rows left at start-up were running when the emulator
//! stopped.

use std::borrow::Cow;
use std::sync::Arc;

use rusqlite::params;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::id::ResourceId;
use crate::logstore::origin::Origin;
use crate::logstore::routes::StreamKind;
use crate::logstore::{LogStore, Record};
use crate::store::{Store, StoreError};

/// Name reported in the `NodeName` column.
pub const NODE_NAME: &str = crate::logstore::project::NODE_NAME;

/// Who a pool is, for the common log columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolContext {
    /// Resource id of the pool (the registry key; stored lower-case in log rows).
    pub resource_id: ResourceId,
    /// Location.
    pub location: String,
    /// Resource id of the environment the pool belongs to (`_ResourceId` of the log tables).
    pub environment_id: String,
    /// Tenant id.
    pub tenant_id: String,
}

impl PoolContext {
    /// A context for `resource_id` with empty location, environment and tenant (tests).
    pub fn new(resource_id: ResourceId) -> Self {
        Self {
            resource_id,
            location: String::new(),
            environment_id: String::new(),
            tenant_id: String::new(),
        }
    }

    /// The lower-cased pool id used as key everywhere.
    pub fn key(&self) -> &str {
        self.resource_id.key()
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        self.resource_id.name()
    }

    /// The pool's subscription id.
    pub fn subscription_id(&self) -> &str {
        self.resource_id.subscription_id()
    }

    /// The pool's resource group name.
    pub fn resource_group(&self) -> &str {
        self.resource_id.resource_group_name().unwrap_or_default()
    }

    /// The log rows' origin for this pool and a container (empty for pool-level events).
    pub fn origin(&self, container_name: &str, container_image: &str) -> Arc<Origin> {
        Arc::new(Origin {
            pool_id: self.resource_id.as_str().to_string(),
            environment_id: self.environment_id.clone(),
            location: self.location.clone(),
            tenant_id: self.tenant_id.clone(),
            container_name: container_name.to_string(),
            container_image: container_image.to_string(),
        })
    }
}

/// Severity column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something went wrong with one session.
    Warning,
    /// The pool cannot do its job.
    Error,
}

impl Level {
    /// The `Level` column's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "Informational",
            Level::Warning => "Warning",
            Level::Error => "Error",
        }
    }
}

/// Which event table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTable {
    /// `AppEnvSessionLifecycleLogs`.
    Lifecycle,
    /// `AppEnvSessionPoolEventLogs`.
    PoolEvent,
}

/// One row to persist.
#[derive(Debug, Clone)]
pub enum LogRow {
    /// A lifecycle or pool event.
    Event {
        /// Table.
        table: EventTable,
        /// Pool.
        pool: Arc<PoolContext>,
        /// When.
        time: OffsetDateTime,
        /// `OperationName`.
        operation: String,
        /// `Log`.
        log: String,
        /// `Level`.
        level: Level,
        /// Session, if the event is about one.
        session_id: Option<String>,
        /// Identifier, if bound.
        identifier: Option<String>,
    },
    /// One console line.
    Console {
        /// Pool and container ([`PoolContext::origin`]).
        origin: Arc<Origin>,
        /// When.
        time: OffsetDateTime,
        /// Session.
        session_id: Arc<str>,
        /// Identifier bound at the time, if any.
        identifier: Option<Arc<str>>,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The line.
        log: String,
    },
    /// A session is live (upsert) with this state/identifier.
    Live {
        /// Pool.
        pool: Arc<PoolContext>,
        /// Session.
        session_id: String,
        /// State name.
        state: &'static str,
        /// Identifier.
        identifier: Option<String>,
        /// When.
        time: OffsetDateTime,
    },
    /// A session ended (row removed).
    Gone {
        /// Session.
        session_id: String,
    },
}

enum Msg {
    Row(LogRow),
    Flush(oneshot::Sender<()>),
}

/// Sends rows to the log store and the live-session writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LogSink {
    tx: mpsc::UnboundedSender<Msg>,
    logs: LogStore,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// A session that was live when the emulator last stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftoverSession {
    /// Session id.
    pub session_id: String,
    /// Lower-cased pool id.
    pub pool_resource_id: String,
    /// State it was in.
    pub state: String,
    /// Identifier it was bound to.
    pub identifier: Option<String>,
}

impl LogSink {
    /// Starts the live-session writer thread of `store`; log rows go to `logs`.
    pub fn start(store: Store, logs: LogStore) -> Result<Self, StoreError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        // A plain thread, so the sink works with or without a tokio runtime.
        std::thread::Builder::new()
            .name("pool-live-writer".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < 512 {
                        match rx.try_recv() {
                            Ok(m) => batch.push(m),
                            Err(_) => break,
                        }
                    }
                    let mut waiters = Vec::new();
                    let mut rows = Vec::new();
                    for m in batch {
                        match m {
                            Msg::Row(r) => rows.push(r),
                            Msg::Flush(w) => waiters.push(w),
                        }
                    }
                    if !rows.is_empty() {
                        if let Err(e) = store.call_blocking(|c| write_live(c, &rows)) {
                            tracing::error!(error = %e, "could not persist live sessions");
                        }
                    }
                    for w in waiters {
                        let _ = w.send(());
                    }
                }
            })
            .map_err(|e| {
                StoreError::Task(format!(
                    "could not start the live-session writer thread: {e}"
                ))
            })?;
        Ok(Self { tx, logs })
    }

    /// The log store rows go to.
    pub fn logs(&self) -> &LogStore {
        &self.logs
    }

    /// Queues a row.
    pub fn send(&self, row: LogRow) {
        match row {
            LogRow::Event {
                table,
                pool,
                time,
                operation,
                log,
                level,
                session_id,
                identifier,
            } => self.logs.send(Record {
                stream: match table {
                    EventTable::Lifecycle => StreamKind::Lifecycle,
                    EventTable::PoolEvent => StreamKind::PoolEvents,
                },
                time,
                origin: pool.origin("", ""),
                pod: Arc::from(session_id.unwrap_or_default()),
                identifier: identifier.map(Arc::from),
                tag: Cow::Owned(operation),
                level: level.as_str(),
                log,
            }),
            LogRow::Console {
                origin,
                time,
                session_id,
                identifier,
                stream,
                log,
            } => self.logs.send(Record {
                stream: StreamKind::Console,
                time,
                origin,
                pod: session_id,
                identifier,
                tag: Cow::Borrowed(stream),
                level: "",
                log,
            }),
            live @ (LogRow::Live { .. } | LogRow::Gone { .. }) => {
                let _ = self.tx.send(Msg::Row(live));
            }
        }
    }

    /// Waits until every row queued before this call is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
        self.logs.flush().await;
    }
}

/// Reads and clears the live-session table (start-up reconciliation).
pub fn take_leftovers(store: &Store) -> Result<Vec<LeftoverSession>, StoreError> {
    store.call_blocking(|c| {
        let tx = c.transaction()?;
        let rows = {
            let mut stmt = tx.prepare(
                "SELECT session_id, pool_resource_id, state, identifier FROM pool_live_sessions ORDER BY created_at",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(LeftoverSession {
                        session_id: r.get(0)?,
                        pool_resource_id: r.get(1)?,
                        state: r.get(2)?,
                        identifier: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        tx.execute("DELETE FROM pool_live_sessions", [])?;
        tx.commit()?;
        Ok(rows)
    })
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn write_live(c: &mut rusqlite::Connection, rows: &[LogRow]) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    for row in rows {
        match row {
            LogRow::Live {
                pool,
                session_id,
                state,
                identifier,
                time,
            } => {
                tx.execute(
                    "INSERT INTO pool_live_sessions (session_id, pool_resource_id, state, identifier, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?5) ON CONFLICT(session_id) DO UPDATE SET state=excluded.state, identifier=excluded.identifier, updated_at=excluded.updated_at",
                    params![session_id, pool.key(), state, identifier, ts(*time)],
                )?;
            }
            LogRow::Gone { session_id } => {
                tx.execute(
                    "DELETE FROM pool_live_sessions WHERE session_id = ?1",
                    params![session_id],
                )?;
            }
            LogRow::Event { .. } | LogRow::Console { .. } => {}
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::logstore::tail::TailFilter;
    use crate::logstore::Limits;

    fn ctx() -> Arc<PoolContext> {
        Arc::new(PoolContext {
            resource_id: ResourceId::parse(
                "/subscriptions/S/resourceGroups/RG/providers/Microsoft.App/sessionPools/P",
            )
            .expect("id"),
            location: "eastus".into(),
            environment_id: "/env".into(),
            tenant_id: "t".into(),
        })
    }

    #[tokio::test]
    async fn rows_are_written_and_leftovers_taken() {
        let store = Store::in_memory().expect("store");
        let logs = LogStore::open(&store, Arc::new(SystemClock), Limits::default()).expect("logs");
        let sink = LogSink::start(store.clone(), logs.clone()).expect("sink");
        let now = OffsetDateTime::now_utc();
        sink.send(LogRow::Event {
            table: EventTable::Lifecycle,
            pool: ctx(),
            time: now,
            operation: "SessionAllocated".into(),
            log: "x".into(),
            level: Level::Info,
            session_id: Some("s1".into()),
            identifier: Some("abcd".into()),
        });
        sink.send(LogRow::Console {
            origin: ctx().origin("main", "img"),
            time: now,
            session_id: Arc::from("s1"),
            identifier: None,
            stream: "stderr",
            log: "hello".into(),
        });
        for id in ["s1", "s2"] {
            sink.send(LogRow::Live {
                pool: ctx(),
                session_id: id.into(),
                state: "Ready",
                identifier: None,
                time: now,
            });
        }
        sink.send(LogRow::Gone {
            session_id: "s2".into(),
        });
        sink.flush().await;
        let counts = store
            .call_blocking(|c| {
                let n = |t: &str| -> Result<i64, StoreError> {
                    Ok(c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?)
                };
                Ok((n("log_lifecycle")?, n("log_console")?))
            })
            .expect("count");
        assert_eq!(counts, (1, 1));
        let page = logs.console_lines(&TailFilter {
            pool_key: ctx().key().to_string(),
            limit: 10,
            ..TailFilter::default()
        });
        assert_eq!(page.lines.len(), 1);
        assert_eq!(page.lines[0].log, "hello");
        assert_eq!(page.lines[0].stream, "stderr");
        let left = take_leftovers(&store).expect("leftovers");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].session_id, "s1");
        assert_eq!(left[0].pool_resource_id, ctx().key());
        assert!(take_leftovers(&store).expect("again").is_empty());
    }
}

//! SQLite persistence of everything the control plane acknowledges.
//!
//! One database file `{data_dir}/emulator.db` (or an in-memory database for `--in-memory`),
//! opened in WAL mode with `synchronous=FULL`: a write has reached the disk before the HTTP
//! answer leaves, so SIGKILL at any moment loses nothing acknowledged.
//!
//! - [`schema`]: the schema, its version table and the migration list (append-only); every
//!   table of the emulator, the log sink's included, is created there.
//! - [`resources`]: the generic resource table (keyed by the lower-cased
//!   [`crate::id::ResourceId`]); [`Store::list_resources`] is the one way to read resources of a
//!   type.
//! - [`operations`]: long-running operation records.
//!
//! All SQLite calls run on tokio's blocking pool ([`Store::call`]); the connection sits
//! behind a mutex held only for the duration of one call, never across an `.await`.

pub mod operations;
pub mod resources;
pub mod schema;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::Connection;

pub use operations::{OperationRecord, OperationStatus};
pub use resources::{ListFilter, ResourceRecord};

/// Errors of the store. Every one is an emulator-side failure, never a client mistake.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON document could not be (de)serialised.
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// The database file could not be opened.
    #[error("cannot open the database {path}: {source}. Check the --data-dir permissions or use --in-memory")]
    Open {
        /// The database path.
        path: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer emulator.
    #[error("the database has schema version {found}, newer than this emulator's {supported}; upgrade the emulator or use another --data-dir")]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A stored row does not read back (e.g. an id that does not parse).
    #[error("the database holds an unreadable row: {0}")]
    Corrupt(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Bumped by every resource write or delete ([`Store::resource_changes`]).
    changes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) `{dir}/emulator.db` and applies pending migrations.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("emulator.db");
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A fresh in-memory database (for `--in-memory` and tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            changes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `f` with the connection on the blocking pool. Use this for your own tables (add
    /// them as a migration in [`schema::MIGRATIONS`]; never create tables outside it).
    pub async fn call<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock();
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with the connection on the current thread (start-up, tests, sync code).
    pub fn call_blocking<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<R, StoreError>,
    {
        let mut guard = self.conn.lock();
        f(&mut guard)
    }

    /// A counter that moves on every resource put or delete through this handle's async
    /// methods (derived state, such as log routes, compares it to know when to rebuild).
    pub fn resource_changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads a value of the `meta` key/value table.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.call_blocking(|c| schema::meta_get(c, key))
    }

    /// Writes a value of the `meta` key/value table.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.call_blocking(|c| schema::meta_set(c, key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_uses_wal_and_full_sync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (mode, sync): (String, i64) = store
            .call_blocking(|c| {
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let sync = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
                Ok((mode, sync))
            })
            .expect("pragmas");
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2);
    }

    #[test]
    fn meta_round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.meta_set("seeded", "1").expect("set");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.meta_get("seeded").expect("get").as_deref(), Some("1"));
        assert_eq!(store.meta_get("nope").expect("get"), None);
    }
}

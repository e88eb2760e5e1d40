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
//! - [`seal`]: secret values encrypted at rest (key in `{data_dir}/secrets.key`).
//!
//! Opening a data dir checks it first: a 0-byte `emulator.db` (truncated) and a file SQLite's
//! integrity check (`PRAGMA quick_check`) finds damaged are refused with what to do, never
//! opened as an empty or half-readable database. The database, its WAL and the key are
//! created 0600. A write that finds the disk full fails with [`StoreError::Full`]; reads go on.
//!
//! All SQLite calls run on tokio's blocking pool ([`Store::call`]); the connection sits
//! behind a mutex held only for the duration of one call, never across an `.await`.

pub mod operations;
pub mod resources;
pub mod schema;
pub mod seal;

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
    /// The database file could not be created.
    #[error("cannot create the database {path}: {source}. Check the --data-dir permissions or use --in-memory")]
    Create {
        /// The database path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
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
    /// The database file exists but is empty (truncated, or never written).
    #[error("the database {0} is empty (0 bytes): it was truncated or never written. Restore it from a backup, or delete it to start with an empty database (every resource it held is lost)")]
    Empty(String),
    /// The database file is not a database or fails SQLite's integrity check.
    #[error("the database {path} is damaged ({detail}). Restore it from a backup, or delete it (and its -wal and -shm files) to start with an empty database (every resource it held is lost)")]
    Damaged {
        /// The database path.
        path: String,
        /// What SQLite found.
        detail: String,
    },
    /// The secrets key is missing, unreadable or does not match the database.
    #[error("the secrets key does not fit this data dir: {0}")]
    Key(String),
    /// The disk (or the database's size limit) is full: nothing was written.
    #[error("the emulator's data directory is full: {0}. Free disk space (reads still work); the write was not done")]
    Full(String),
}

impl StoreError {
    /// `e`, as [`StoreError::Full`] when SQLite says the disk or database is full.
    fn classify(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }
}

/// `e`, with SQLite's "disk full" as [`StoreError::Full`].
fn full(e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(e) => StoreError::classify(e),
        other => other,
    }
}

/// Checks the 100-byte header of an existing database file of `len` bytes before SQLite
/// opens it: SQLite reads a file cut short as a smaller (even empty) database without a word,
/// so a truncation is caught here. The file must start with SQLite's magic string, be a whole
/// number of pages, and (when no WAL could still complete it) hold every page its header
/// counts. `Err` says what is wrong.
fn check_header(path: &Path, len: u64, has_wal: bool) -> Result<(), String> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    if len < 100 || f.read_exact(&mut header).is_err() {
        return Err(format!("{len} bytes is shorter than an SQLite header"));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err("it is not an SQLite database".into());
    }
    let page = match u32::from(u16::from_be_bytes([header[16], header[17]])) {
        1 => 65_536,
        p if p >= 512 && p.is_power_of_two() => p,
        p => return Err(format!("its header names an impossible page size {p}")),
    };
    let page = u64::from(page);
    if len % page != 0 {
        return Err(format!(
            "{len} bytes is not a whole number of {page}-byte pages: the file was cut short"
        ));
    }
    let counted = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    // The header's page count is valid when its change counter matches "version-valid-for".
    let valid = header[24..28] == header[92..96] && counted > 0;
    if valid && !has_wal && len < counted * page {
        return Err(format!(
            "its header counts {counted} pages but the file holds {}: the file was cut short",
            len / page
        ));
    }
    Ok(())
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    sealer: Arc<seal::Sealer>,
    /// Bumped by every resource write or delete ([`Store::resource_changes`]).
    changes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) `{dir}/emulator.db` and applies pending migrations. Refuses
    /// an empty or damaged file, or a secrets key that does not fit (see the module docs).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = dir.join("emulator.db");
        let shown = path.display().to_string();
        let existed = match std::fs::metadata(&path) {
            Ok(m) if m.len() == 0 => return Err(StoreError::Empty(shown)),
            Ok(m) => {
                let wal = std::fs::metadata(dir.join("emulator.db-wal")).map_or(0, |w| w.len());
                check_header(&path, m.len(), wal > 0).map_err(|detail| StoreError::Damaged {
                    path: shown.clone(),
                    detail,
                })?;
                true
            }
            Err(_) => false,
        };
        if !existed {
            // Created 0600 here: SQLite gives its -wal and -shm files the database's mode.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|source| StoreError::Create {
                    path: shown.clone(),
                    source,
                })?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = dir.join(format!("emulator.db{suffix}"));
            if p.exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
        let damaged = |e: rusqlite::Error| StoreError::Damaged {
            path: shown.clone(),
            detail: e.to_string(),
        };
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: shown.clone(),
            source,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(damaged)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Deleted and overwritten content is zeroed, in the file and its WAL.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(damaged)?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                path: shown,
                detail: format!("integrity check: {check}"),
            });
        }
        // The key: the data dir's; a new one only where no secret was sealed yet.
        let recorded: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'secrets_key'",
                [],
                |r| r.get(0),
            )
            .ok();
        let sealer = match (seal::Sealer::load(dir, false)?, &recorded) {
            (Some(s), _) => s,
            (None, Some(_)) => {
                return Err(StoreError::Key(format!(
                    "{} is missing but the database holds secrets sealed with it; restore the key file (or delete the data dir to start afresh)",
                    dir.join(seal::KEY_FILE).display()
                )))
            }
            (None, None) => seal::Sealer::load(dir, true)?.ok_or_else(|| {
                StoreError::Key(format!("{} could not be created", seal::KEY_FILE))
            })?,
        };
        let store = Self::init(conn, sealer)?;
        store.check_key(existed)?;
        Ok(store)
    }

    /// A fresh in-memory database (for `--in-memory` and tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, seal::Sealer::ephemeral())
    }

    fn init(conn: Connection, sealer: seal::Sealer) -> Result<Self, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            sealer: Arc::new(sealer),
            changes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Records the key's fingerprint in a new database, refuses a key that is not the one the
    /// database was sealed with, and seals secrets an earlier build stored in plain text.
    fn check_key(&self, existed: bool) -> Result<(), StoreError> {
        const META: &str = "secrets_key";
        let fp = self.sealer.fingerprint().to_string();
        match self.meta_get(META)? {
            Some(recorded) if recorded != fp => {
                Err(StoreError::Key(format!(
                    "{} is not the key this database was written with (fingerprint {fp}, expected {recorded}); restore the original key file",
                    seal::KEY_FILE
                )))
            }
            Some(_) => Ok(()),
            None => {
                if existed {
                    self.seal_plain_secrets()?;
                }
                self.meta_set(META, &fp)
            }
        }
    }

    /// Seals every plain secret value of every resource (databases of earlier builds), then
    /// rewrites the file and empties the WAL so no plain copy remains.
    fn seal_plain_secrets(&self) -> Result<(), StoreError> {
        let sealer = self.sealer.clone();
        let sealed = self.call_blocking(|c| {
            let rows: Vec<(String, String)> = c
                .prepare("SELECT key, body FROM resources")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut n = 0;
            for (key, body) in rows {
                let mut v: serde_json::Value = serde_json::from_str(&body)?;
                if seal::has_plain_secret(&mut v) {
                    sealer.seal_body(&mut v);
                    c.execute(
                        "UPDATE resources SET body = ?1 WHERE key = ?2",
                        rusqlite::params![serde_json::to_string(&v)?, key],
                    )?;
                    n += 1;
                }
            }
            Ok(n)
        })?;
        if sealed > 0 {
            self.call_blocking(|c| {
                c.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
                Ok(())
            })?;
            tracing::info!(
                resources = sealed,
                "sealed secrets stored in plain text by an earlier emulator"
            );
        }
        Ok(())
    }

    /// The sealer of this database's secret values.
    pub fn sealer(&self) -> &seal::Sealer {
        &self.sealer
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
            f(&mut guard).map_err(full)
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
        f(&mut guard).map_err(full)
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

    fn db_bytes(dir: &Path) -> Vec<u8> {
        let mut all = Vec::new();
        for f in ["emulator.db", "emulator.db-wal"] {
            all.extend(std::fs::read(dir.join(f)).unwrap_or_default());
        }
        all
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[tokio::test]
    async fn secrets_are_sealed_on_disk_and_plain_to_callers() {
        use crate::id::ResourceId;
        let dir = tempfile::tempdir().expect("tempdir");
        let id = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p",
        )
        .expect("id");
        let body = serde_json::json!({"pool": {"properties": {"secrets": [{"name": "pw", "value": "hunter2-at-rest"}]}}});
        {
            let store = Store::open(dir.path()).expect("open");
            let rec = ResourceRecord::new(
                id.clone(),
                "Microsoft.App/sessionPools",
                body.clone(),
                time::OffsetDateTime::now_utc(),
            );
            store.put_resource(rec).await.expect("put");
            assert_eq!(
                store
                    .get_resource(&id)
                    .await
                    .expect("get")
                    .expect("row")
                    .body,
                body
            );
        }
        assert!(!contains(&db_bytes(dir.path()), "hunter2-at-rest"));
        for f in ["emulator.db", seal::KEY_FILE] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(f))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        // Reopened with its key: plain again. With another key: refused, naming the key file.
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(
            store
                .get_resource(&id)
                .await
                .expect("get")
                .expect("row")
                .body,
            body
        );
        drop(store);
        std::fs::remove_file(dir.path().join(seal::KEY_FILE)).expect("rm key");
        let err = Store::open(dir.path()).expect_err("a new key does not fit");
        assert!(matches!(err, StoreError::Key(_)), "{err}");
        assert!(err.to_string().contains(seal::KEY_FILE), "{err}");
    }

    #[test]
    fn plain_secrets_of_an_earlier_build_are_sealed_and_scrubbed() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .call_blocking(|c| {
                    c.execute(
                        "INSERT INTO resources (key, id, type, subscription, resource_group, parent_key, body, created_at, modified_at)
                         VALUES ('k', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p', 'microsoft.app/sessionpools', 's', 'rg', NULL, ?1, 't', 't')",
                        [r#"{"pool":{"properties":{"secrets":[{"name":"pw","value":"plain-old-secret"}]}},"mcpApiKey":"plain-old-key"}"#],
                    )?;
                    c.execute("DELETE FROM meta WHERE key = 'secrets_key'", [])?;
                    Ok(())
                })
                .expect("legacy row");
        }
        std::fs::remove_file(dir.path().join(seal::KEY_FILE)).expect("an old data dir has no key");
        let bytes = db_bytes(dir.path());
        assert!(
            contains(&bytes, "plain-old-secret"),
            "the legacy row is in plain text first"
        );
        let store = Store::open(dir.path()).expect("open seals");
        drop(store);
        let bytes = db_bytes(dir.path());
        assert!(!contains(&bytes, "plain-old-secret") && !contains(&bytes, "plain-old-key"));
    }

    #[test]
    fn empty_and_damaged_databases_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("emulator.db"), b"").expect("empty");
        let err = Store::open(dir.path()).expect_err("0 bytes");
        assert!(matches!(err, StoreError::Empty(_)), "{err}");
        assert!(err.to_string().contains("0 bytes"), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("emulator.db"), vec![0x5a; 8192]).expect("garbage");
        let err = Store::open(dir.path()).expect_err("garbage");
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");

        // A real database cut in half, and one with a page scribbled over.
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .call_blocking(|c| {
                    for i in 0..400 {
                        schema::meta_set(c, &format!("k{i}"), &"v".repeat(200))?;
                    }
                    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
                    Ok(())
                })
                .expect("fill");
        }
        let path = dir.path().join("emulator.db");
        let full = std::fs::read(&path).expect("read");
        assert!(full.len() > 16 * 4096);
        let mut scribbled = full.clone();
        for b in &mut scribbled[4096 * 3..4096 * 3 + 2048] {
            *b = 0xa5;
        }
        let cases = [
            ("half", full[..full.len() / 2].to_vec()),
            ("half a page", full[..2048].to_vec()),
            ("the last page off", full[..full.len() - 4096].to_vec()),
            ("the header only", full[..100].to_vec()),
            ("scribbled", scribbled),
        ];
        for (name, bytes) in cases {
            std::fs::write(&path, &bytes).expect("write");
            let _ = std::fs::remove_file(dir.path().join("emulator.db-wal"));
            let _ = std::fs::remove_file(dir.path().join("emulator.db-shm"));
            match Store::open(dir.path()) {
                Err(StoreError::Damaged { .. }) => {}
                other => panic!("{name}: {other:?}"),
            }
        }
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

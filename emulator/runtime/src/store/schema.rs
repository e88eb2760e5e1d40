//! The database schema and its migrations.
//!
//! `schema_version(version)` holds one row: the number of migrations applied. [`MIGRATIONS`]
//! is append-only: to add a table, push a new SQL string at the end (never edit an old one).
//!
//! Tables (migration 1: control plane; migration 2: the pool log sink's live-session table;
//! migration 3: the log store, whose columns are documented in `crate::logstore::persist`):
//!
//! | table | columns | purpose |
//! |---|---|---|
//! | `meta` | `key` PK, `value` | small settings (`seeded`, ...) |
//! | `resources` | `key` PK (lower-cased ARM id), `id` (canonical casing), `type` (lower-cased `Namespace/type[/child]`), `subscription`, `resource_group` (lower-cased, NULL for subscription-level), `parent_key`, `body` (JSON), `created_at`, `modified_at` (RFC 3339) | every ARM resource |
//! | `operations` | `id` PK (GUID), `resource_key`, `resource_id`, `kind`, `status`, `subscription`, `location`, `start_time`, `end_time`, `error` (JSON) | long-running operations |
//! | `log_console`, `log_lifecycle`, `log_pool_events` | `seq` PK, `time` (ticks), `origin`, `routes`, `pod`, `identifier`, `tag`, `level`, `log` | console lines, lifecycle and pool events (migration 2's `session_*_logs` tables are dropped by migration 3) |
//! | `log_origins`, `log_route_sets` | `id` PK, `body` / `destinations` | interned row origins and destination sets |
//! | `metric_samples` | (`pool_key`, `time`) PK, `environment_key`, `pool_id`, `executing`, `pending`, `ready`, `routes` | one sample of the three pool metrics per pool and minute |
//! | `pool_live_sessions` | `session_id` PK, `pool_resource_id`, `state`, `identifier`, `created_at`, `updated_at` | sessions not yet ended (restart reconciliation) |

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// Every migration, in order. Index + 1 is the schema version it produces.
pub const MIGRATIONS: &[&str] = &[
    // 1: control-plane resources and operations.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE resources (
        key TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        subscription TEXT NOT NULL,
        resource_group TEXT,
        parent_key TEXT,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        modified_at TEXT NOT NULL
     );
     CREATE INDEX resources_by_scope ON resources (type, subscription, resource_group, key);
     CREATE INDEX resources_by_parent ON resources (parent_key);
     CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        resource_key TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        subscription TEXT NOT NULL,
        location TEXT NOT NULL,
        start_time TEXT NOT NULL,
        end_time TEXT,
        error TEXT
     );",
    // 2: the pool log sink's tables (see `crate::pool::logs`). `IF NOT EXISTS`: databases of
    // earlier builds, where the sink created them itself, already have them.
    "CREATE TABLE IF NOT EXISTS session_lifecycle_logs (
       seq INTEGER PRIMARY KEY AUTOINCREMENT, time_generated TEXT NOT NULL, subscription_id TEXT NOT NULL,
       resource_group TEXT NOT NULL, session_pool_name TEXT NOT NULL, pool_resource_id TEXT NOT NULL,
       environment_id TEXT NOT NULL, location TEXT NOT NULL, tenant_id TEXT NOT NULL,
       operation_name TEXT NOT NULL, log TEXT NOT NULL, level TEXT NOT NULL, node_name TEXT NOT NULL,
       pod_name TEXT, session_id TEXT, identifier TEXT);
     CREATE TABLE IF NOT EXISTS session_pool_event_logs (
       seq INTEGER PRIMARY KEY AUTOINCREMENT, time_generated TEXT NOT NULL, subscription_id TEXT NOT NULL,
       resource_group TEXT NOT NULL, session_pool_name TEXT NOT NULL, pool_resource_id TEXT NOT NULL,
       environment_id TEXT NOT NULL, location TEXT NOT NULL, tenant_id TEXT NOT NULL,
       operation_name TEXT NOT NULL, log TEXT NOT NULL, level TEXT NOT NULL, node_name TEXT NOT NULL,
       pod_name TEXT, session_id TEXT, identifier TEXT);
     CREATE TABLE IF NOT EXISTS session_console_logs (
       seq INTEGER PRIMARY KEY AUTOINCREMENT, time_generated TEXT NOT NULL, subscription_id TEXT NOT NULL,
       resource_group TEXT NOT NULL, session_pool_name TEXT NOT NULL, pool_resource_id TEXT NOT NULL,
       environment_id TEXT NOT NULL, location TEXT NOT NULL, tenant_id TEXT NOT NULL,
       session_id TEXT NOT NULL, identifier TEXT, container_name TEXT NOT NULL,
       container_image TEXT NOT NULL, stream TEXT NOT NULL, log TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS pool_live_sessions (
       session_id TEXT PRIMARY KEY, pool_resource_id TEXT NOT NULL, state TEXT NOT NULL,
       identifier TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS session_lifecycle_logs_pool ON session_lifecycle_logs(pool_resource_id);
     CREATE INDEX IF NOT EXISTS session_pool_event_logs_pool ON session_pool_event_logs(pool_resource_id);
     CREATE INDEX IF NOT EXISTS session_console_logs_pool ON session_console_logs(pool_resource_id);",
    // 3: the Log Analytics log store (see `crate::logstore`). Replaces migration 2's three row
    // tables: their rows predate routing (no diagnostic setting ever received them, and nothing
    // is back-filled), so they are dropped rather than converted.
    "DROP TABLE IF EXISTS session_lifecycle_logs;
     DROP TABLE IF EXISTS session_pool_event_logs;
     DROP TABLE IF EXISTS session_console_logs;
     CREATE TABLE log_origins (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE log_route_sets (id INTEGER PRIMARY KEY, destinations TEXT NOT NULL);
     CREATE TABLE log_console (
       seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, origin INTEGER NOT NULL,
       routes INTEGER NOT NULL, pod TEXT NOT NULL, identifier TEXT NOT NULL, tag TEXT NOT NULL,
       level TEXT NOT NULL, log TEXT NOT NULL);
     CREATE TABLE log_lifecycle (
       seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, origin INTEGER NOT NULL,
       routes INTEGER NOT NULL, pod TEXT NOT NULL, identifier TEXT NOT NULL, tag TEXT NOT NULL,
       level TEXT NOT NULL, log TEXT NOT NULL);
     CREATE TABLE log_pool_events (
       seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, origin INTEGER NOT NULL,
       routes INTEGER NOT NULL, pod TEXT NOT NULL, identifier TEXT NOT NULL, tag TEXT NOT NULL,
       level TEXT NOT NULL, log TEXT NOT NULL);
     CREATE TABLE metric_samples (
       pool_key TEXT NOT NULL, time INTEGER NOT NULL, environment_key TEXT NOT NULL,
       pool_id TEXT NOT NULL, executing INTEGER NOT NULL, pending INTEGER NOT NULL,
       ready INTEGER NOT NULL, routes INTEGER NOT NULL, PRIMARY KEY (pool_key, time)) WITHOUT ROWID;
     CREATE INDEX metric_samples_environment ON metric_samples (environment_key, time);
     CREATE INDEX metric_samples_time ON metric_samples (time);",
];

/// Applies every migration newer than the file's version, each in its own transaction.
pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);")?;
    let current: Option<i64> = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()?;
    let current = match current {
        Some(v) => v,
        None => {
            conn.execute("INSERT INTO schema_version (version) VALUES (0)", [])?;
            0
        }
    };
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}\nUPDATE schema_version SET version = {version}; COMMIT;"
        ))?;
        tracing::debug!(version, "applied database migration");
    }
    Ok(())
}

/// Reads `meta.value` for `key`.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Upserts `meta.value` for `key`.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_is_idempotent() {
        let conn = Connection::open_in_memory().expect("open");
        migrate(&conn).expect("first");
        migrate(&conn).expect("second");
        let v: i64 = conn
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn newer_database_is_refused() {
        let conn = Connection::open_in_memory().expect("open");
        migrate(&conn).expect("migrate");
        conn.execute("UPDATE schema_version SET version = 999", [])
            .expect("bump");
        assert!(matches!(migrate(&conn), Err(StoreError::TooNew { .. })));
    }
}

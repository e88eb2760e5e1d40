//! Fixture rows for the session tables, at a fixed "now" (2024-05-01T12:00:00Z).

use sessions_kql::{
    tables, Catalog, DateTime, Engine, MemorySource, QueryError, QueryOptions, QueryResult, Value,
};

pub const NOW: &str = "2024-05-01T12:00:00Z";
pub const ENV_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/microsoft.app/managedenvironments/env";

pub fn now() -> DateTime {
    DateTime::parse(NOW).unwrap()
}

pub fn t(s: &str) -> Value {
    Value::from(DateTime::parse(&format!("2024-05-01T{s}Z")).unwrap())
}

pub struct Fixture {
    pub catalog: Catalog,
    pub source: MemorySource,
}

impl Fixture {
    pub fn new() -> Fixture {
        let catalog = tables::catalog();
        let mut source = MemorySource::new(&catalog);
        let console = [
            (
                "10:30:00",
                "pool-a",
                "user-3",
                "stderr",
                "warning: low memory",
            ),
            (
                "11:50:00",
                "pool-a",
                "user-1",
                "stdout",
                "server listening on :8080",
            ),
            (
                "11:55:00",
                "pool-a",
                "user-1",
                "stderr",
                "Error: connection refused",
            ),
            ("11:58:00", "pool-b", "user-2", "stdout", "GET /health 200"),
            (
                "11:59:30",
                "pool-b",
                "user-2",
                "stderr",
                "Traceback: ValueError: bad input",
            ),
        ];
        for (time, pool, id, stream, log) in console {
            source
                .insert(
                    tables::CONSOLE_LOGS,
                    &[
                        (
                            "TenantId",
                            Value::from("11111111-2222-3333-4444-555555555555"),
                        ),
                        ("TimeGenerated", t(time)),
                        ("SessionPoolName", Value::from(pool)),
                        ("SessionId", Value::from(id)),
                        ("PodName", Value::from(format!("{pool}-{id}-vm"))),
                        ("ContainerName", Value::from("main")),
                        (
                            "ContainerImage",
                            Value::from("localhost/sample-session:latest"),
                        ),
                        ("Stream", Value::from(stream)),
                        ("Log", Value::from(log)),
                        ("Location", Value::from("eastus")),
                        ("Type", Value::from(tables::CONSOLE_LOGS)),
                        ("_ResourceId", Value::from(ENV_ID)),
                        ("_BilledSize", Value::Real(log.len() as f64)),
                    ],
                )
                .unwrap();
        }
        let lifecycle = [
            (
                "09:00:00",
                "pool-a",
                "SessionCreating",
                "Informational",
                "session pool-a-1 booting",
            ),
            (
                "11:40:00",
                "pool-a",
                "SessionAllocated",
                "Informational",
                "session allocated to user-1",
            ),
            (
                "11:56:00",
                "pool-b",
                "SessionAllocated",
                "Informational",
                "session allocated to user-2",
            ),
            (
                "11:57:00",
                "pool-a",
                "SessionUnhealthy",
                "Error",
                "liveness probe failed 3 times",
            ),
        ];
        for (time, pool, op, level, log) in lifecycle {
            source
                .insert(tables::LIFECYCLE_LOGS, &event(time, pool, op, level, log))
                .unwrap();
        }
        let pool_events = [
            (
                "08:00:00",
                "pool-a",
                "PoolCreated",
                "Informational",
                "pool created",
            ),
            (
                "11:30:00",
                "pool-b",
                "PoolCreated",
                "Informational",
                "pool created",
            ),
            (
                "11:45:00",
                "pool-a",
                "PoolUpdated",
                "Warning",
                "scale changed",
            ),
        ];
        for (time, pool, op, level, log) in pool_events {
            source
                .insert(tables::POOL_EVENT_LOGS, &event(time, pool, op, level, log))
                .unwrap();
        }
        Fixture { catalog, source }
    }

    pub fn query(&self, q: &str) -> Result<QueryResult, QueryError> {
        Engine::new(&self.catalog, &self.source).query(q, &QueryOptions::at(now()))
    }

    /// Runs a query that must succeed and returns one column as strings.
    pub fn column(&self, q: &str, col: &str) -> Vec<String> {
        let r = self.query(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let i = r
            .columns
            .iter()
            .position(|c| c.name == col)
            .unwrap_or_else(|| panic!("no {col} in {q}"));
        r.rows.iter().map(|row| row[i].to_kql_string()).collect()
    }
}

fn event(time: &str, pool: &str, op: &str, level: &str, log: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("TimeGenerated", t(time)),
        ("SessionPoolName", Value::from(pool)),
        ("OperationName", Value::from(op)),
        ("Level", Value::from(level)),
        ("Log", Value::from(log)),
        ("Location", Value::from("eastus")),
        ("NodeName", Value::from("sessions-emulator-node-0")),
        ("PodName", Value::from(format!("{pool}-pod"))),
        ("_ResourceId", Value::from(ENV_ID)),
    ]
}

//! The queries Microsoft documents for session pools, run as written over the fixture.
//!
//! Sources: the "View logs for custom container session pools" examples (three queries; the
//! third names the table `AppEnvSessionPoolEvents`, which does not exist), the Logs blade's
//! example query for the sibling console tables (`| where Stream == "stderr" | order by
//! TimeGenerated desc | top 100 by TimeGenerated`; Azure lists no example queries for the
//! three session tables themselves), and the `search *` inventory query field notes use.

use super::fixture::Fixture;
use sessions_kql::ErrorKind;

#[test]
fn recent_console_logs_newest_first() {
    let f = Fixture::new();
    let q = "AppEnvSessionConsoleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc\n| take 100";
    assert_eq!(
        f.column(q, "TimeGenerated"),
        [
            "2024-05-01T11:59:30Z",
            "2024-05-01T11:58:00Z",
            "2024-05-01T11:55:00Z",
            "2024-05-01T11:50:00Z"
        ]
    );
    assert_eq!(
        f.column(q, "SessionId"),
        ["user-2", "user-2", "user-1", "user-1"]
    );
}

#[test]
fn recent_lifecycle_events_newest_first() {
    let f = Fixture::new();
    let q = "AppEnvSessionLifecycleLogs\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc";
    assert_eq!(
        f.column(q, "OperationName"),
        ["SessionUnhealthy", "SessionAllocated", "SessionAllocated"]
    );
    assert_eq!(
        f.column(q, "Level"),
        ["Error", "Informational", "Informational"]
    );
}

#[test]
fn pool_events_under_the_documented_wrong_name_name_the_real_table() {
    let f = Fixture::new();
    let q =
        "AppEnvSessionPoolEvents\n| where TimeGenerated > ago(1h)\n| order by TimeGenerated desc";
    let e = f.query(q).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Semantic);
    assert_eq!(e.code, "SEM0100");
    assert!(e.message.starts_with(
        "'where' operator: Failed to resolve table or column expression named 'AppEnvSessionPoolEvents'"
    ));
    assert!(
        e.message.contains("'AppEnvSessionPoolEventLogs'"),
        "{}",
        e.message
    );
    assert_eq!((e.position.unwrap().line, e.position.unwrap().pos), (1, 0));
    let fixed = q.replace("AppEnvSessionPoolEvents", "AppEnvSessionPoolEventLogs");
    assert_eq!(
        f.column(&fixed, "OperationName"),
        ["PoolUpdated", "PoolCreated"]
    );
}

#[test]
fn latest_errors_like_the_logs_blade_suggests() {
    let f = Fixture::new();
    let q = "AppEnvSessionConsoleLogs\n| where Stream == \"stderr\"\n| order by TimeGenerated desc\n| top 100 by TimeGenerated";
    assert_eq!(
        f.column(q, "Log"),
        [
            "Traceback: ValueError: bad input",
            "Error: connection refused",
            "warning: low memory"
        ]
    );
}

#[test]
fn search_star_counts_records_per_table() {
    let f = Fixture::new();
    let q = "search * | where TimeGenerated > ago(1h) | summarize Records=count() by $table";
    let r = f.query(q).unwrap();
    assert_eq!(r.columns[0].name, "$table");
    assert_eq!(
        f.column(q, "$table"),
        [
            "AppEnvSessionConsoleLogs",
            "AppEnvSessionLifecycleLogs",
            "AppEnvSessionPoolEventLogs"
        ]
    );
    assert_eq!(f.column(q, "Records"), ["4", "3", "2"]);
}

#[test]
fn underscore_cl_tables() {
    let f = Fixture::new();
    let q = "AppEnvSessionConsoleLogs_CL | where TimeGenerated > ago(1h) | project TimeGenerated, Log_s | order by TimeGenerated asc";
    let r = f.query(q).unwrap();
    assert_eq!(r.rows.len(), 0);
    assert_eq!(
        r.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["TimeGenerated", "Log_s"]
    );
    let e = f
        .query("AppEnvSessionLifecycleLogs_CL | take 1")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Semantic);
    assert!(
        e.message
            .contains("the table is named 'AppEnvSessionLifecycleLogs'"),
        "{}",
        e.message
    );
}

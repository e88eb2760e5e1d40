//! The Log Analytics tables the emulator writes, as data: names, columns and types as Azure
//! documents them, and which diagnostic-setting category feeds which table.
//!
//! - `AppEnvSessionLifecycleLogs` and `AppEnvSessionPoolEventLogs`: the columns of Azure Monitor's
//!   table reference (`TimeGenerated`, `SessionPoolName`, `OperationName`, `Log`, `Level`,
//!   `Location`, `NodeName`, `PodName` and the standard `TenantId`, `SourceSystem`, `Type`,
//!   `_ResourceId`, `_SubscriptionId`, `_BilledSize`, `_IsBillable`).
//! - `AppEnvSessionConsoleLogs`: Azure does not document its columns. **Known deviation**: the
//!   emulator follows its sibling `ContainerAppConsoleLogs` (`ContainerName`, `ContainerImage`,
//!   `Stream`, `Log`, `Location`, `OperationName`, `EnvironmentName`) and adds the session's
//!   pool (`SessionPoolName`), identifier (`SessionId`) and sandbox (`PodName`).
//! - `AppEnvSessionConsoleLogs_CL`: what the environment's own `log-analytics` destination
//!   writes; a classic custom-log table whose fields carry type suffixes (`Log_s`, `Stream_s`,
//!   `_timestamp_d`, ...) beside the custom-log standard columns (`Computer`, `RawData`, ...).
//! - `AzureMetrics`: where a pool's `AllMetrics` diagnostic setting sends metric samples; every
//!   documented column, deprecated ones included.
//!
//! All columns are returned by `T | take n` (the service hides `_BilledSize` and `_IsBillable`
//! unless projected; the emulator does not).

use crate::schema::{Catalog, TableSchema};
use crate::value::ColumnType::{self, DateTime, Int, Long, Real, String as Str};

/// Session console output (stdout/stderr of the session's containers).
pub const CONSOLE_LOGS: &str = "AppEnvSessionConsoleLogs";
/// Session allocation events (category `AppEnvSessionLifeCycleLogs`, capital C).
pub const LIFECYCLE_LOGS: &str = "AppEnvSessionLifecycleLogs";
/// Pool events (pod creation, deletion, ...).
pub const POOL_EVENT_LOGS: &str = "AppEnvSessionPoolEventLogs";
/// Console lines sent by the environment's `appLogsConfiguration` (`log-analytics`).
pub const CONSOLE_LOGS_CL: &str = "AppEnvSessionConsoleLogs_CL";
/// Metric samples routed by an `AllMetrics` diagnostic setting.
pub const AZURE_METRICS: &str = "AzureMetrics";

/// Diagnostic-setting log categories of `Microsoft.App/managedEnvironments` and the table each
/// feeds in the emulator (`None`: accepted in settings, but the emulator writes no rows).
pub const ENVIRONMENT_LOG_CATEGORIES: [(&str, Option<&str>); 7] = [
    ("AppEnvSessionConsoleLogs", Some(CONSOLE_LOGS)),
    ("AppEnvSessionLifeCycleLogs", Some(LIFECYCLE_LOGS)),
    ("AppEnvSessionPoolEventLogs", Some(POOL_EVENT_LOGS)),
    ("ContainerAppConsoleLogs", None),
    ("ContainerAppSystemLogs", None),
    ("AppEnvSpringAppConsoleLogs", None),
    ("ContainerAppHTTPLogs", None),
];

/// The table a diagnostic-setting category feeds (categories match case-insensitively, as ARM
/// does); `AllMetrics` feeds `AzureMetrics`.
pub fn table_for_category(category: &str) -> Option<&'static str> {
    if category.eq_ignore_ascii_case("AllMetrics") {
        return Some(AZURE_METRICS);
    }
    ENVIRONMENT_LOG_CATEGORIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(category))
        .and_then(|(_, t)| *t)
}

const STANDARD_TAIL: [(&str, ColumnType); 6] = [
    ("SourceSystem", Str),
    ("Type", Str),
    ("_ResourceId", Str),
    ("_SubscriptionId", Str),
    ("_BilledSize", Real),
    ("_IsBillable", Str),
];

fn resource_table(name: &str, specific: &[(&str, ColumnType)]) -> TableSchema {
    let mut cols = vec![("TenantId", Str), ("TimeGenerated", DateTime)];
    cols.extend_from_slice(specific);
    cols.extend_from_slice(&STANDARD_TAIL);
    TableSchema::new(name, &cols)
}

const SESSION_EVENT_COLUMNS: [(&str, ColumnType); 7] = [
    ("SessionPoolName", Str),
    ("OperationName", Str),
    ("Log", Str),
    ("Level", Str),
    ("Location", Str),
    ("NodeName", Str),
    ("PodName", Str),
];

/// `AppEnvSessionLifecycleLogs`.
pub fn lifecycle_logs() -> TableSchema {
    resource_table(LIFECYCLE_LOGS, &SESSION_EVENT_COLUMNS)
}

/// `AppEnvSessionPoolEventLogs`.
pub fn pool_event_logs() -> TableSchema {
    resource_table(POOL_EVENT_LOGS, &SESSION_EVENT_COLUMNS)
}

/// `AppEnvSessionConsoleLogs` (columns are the emulator's choice; see the module docs).
pub fn console_logs() -> TableSchema {
    resource_table(
        CONSOLE_LOGS,
        &[
            ("SessionPoolName", Str),
            ("SessionId", Str),
            ("PodName", Str),
            ("ContainerName", Str),
            ("ContainerImage", Str),
            ("Stream", Str),
            ("Log", Str),
            ("OperationName", Str),
            ("Location", Str),
            ("EnvironmentName", Str),
        ],
    )
}

/// `AppEnvSessionConsoleLogs_CL`.
pub fn console_logs_cl() -> TableSchema {
    TableSchema::new(
        CONSOLE_LOGS_CL,
        &[
            ("TenantId", Str),
            ("SourceSystem", Str),
            ("MG", Str),
            ("ManagementGroupName", Str),
            ("TimeGenerated", DateTime),
            ("Computer", Str),
            ("RawData", Str),
            ("SessionPoolName_s", Str),
            ("SessionId_s", Str),
            ("PodName_s", Str),
            ("ContainerName_s", Str),
            ("ContainerImage_s", Str),
            ("Stream_s", Str),
            ("Log_s", Str),
            ("EnvironmentName_s", Str),
            ("time_t", DateTime),
            ("_timestamp_d", Real),
            ("Type", Str),
            ("_ResourceId", Str),
        ],
    )
}

/// `AzureMetrics`, every documented column.
pub fn azure_metrics() -> TableSchema {
    TableSchema::new(
        AZURE_METRICS,
        &[
            ("TimeGenerated", DateTime),
            ("SourceSystem", Str),
            ("ResourceId", Str),
            ("OperationName", Str),
            ("OperationVersion", Str),
            ("Category", Str),
            ("ResultType", Str),
            ("ResultSignature", Str),
            ("ResultDescription", Str),
            ("DurationMs", Long),
            ("CallerIpAddress", Str),
            ("CorrelationId", Str),
            ("Resource", Str),
            ("ResourceGroup", Str),
            ("ResourceProvider", Str),
            ("SubscriptionId", Str),
            ("MetricName", Str),
            ("Total", Real),
            ("Count", Real),
            ("Maximum", Real),
            ("Minimum", Real),
            ("Average", Real),
            ("TimeGrain", Str),
            ("UnitName", Str),
            ("Description", Str),
            ("IsActive", Str),
            ("Confidence", Str),
            ("Severity", Int),
            ("TLPLevel", Str),
            ("FirstReportedDateTime", Str),
            ("LastReportedDateTime", Str),
            ("IndicatorThreatType", Str),
            ("MaliciousIP", Str),
            ("RemoteIPCountry", Str),
            ("RemoteIPLatitude", Real),
            ("RemoteIPLongitude", Real),
            ("Type", Str),
            ("_ResourceId", Str),
            ("_SubscriptionId", Str),
        ],
    )
}

/// Every table above.
pub fn catalog() -> Catalog {
    Catalog::new()
        .with_table(console_logs())
        .with_table(lifecycle_logs())
        .with_table(pool_event_logs())
        .with_table(console_logs_cl())
        .with_table(azure_metrics())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_columns_and_types() {
        let t = lifecycle_logs();
        let names: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        for n in [
            "TimeGenerated",
            "_ResourceId",
            "SessionPoolName",
            "OperationName",
            "Log",
            "Level",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        assert_eq!(t.columns[t.index_of("_BilledSize").unwrap()].ty, Real);
        assert_eq!(t.time_column(), Some(1));
        assert_eq!(pool_event_logs().columns, t.columns);
        assert!(console_logs_cl().columns.iter().any(|c| c.name == "Log_s"));
        assert_eq!(catalog().tables().count(), 5);
    }

    #[test]
    fn categories_map_to_tables() {
        assert_eq!(
            table_for_category("AppEnvSessionLifeCycleLogs"),
            Some(LIFECYCLE_LOGS)
        );
        assert_eq!(
            table_for_category("appenvsessionpooleventlogs"),
            Some(POOL_EVENT_LOGS)
        );
        assert_eq!(table_for_category("AllMetrics"), Some(AZURE_METRICS));
        assert_eq!(table_for_category("ContainerAppSystemLogs"), None);
    }
}

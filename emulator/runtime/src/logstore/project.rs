//! Which stored field each column of each workspace table shows ([`Field`]), by column name
//! (the schemas are `sessions_kql::tables`'):
//!
//! | column | console | `_CL` | lifecycle / pool events |
//! |---|---|---|---|
//! | `TenantId` | workspace id | workspace id | workspace id |
//! | `TimeGenerated` | time | time (also `time_t`; `_timestamp_d` in seconds) | time |
//! | `SessionPoolName` | pool name | `SessionPoolName_s` | pool name |
//! | `SessionId` | identifier | `SessionId_s` | – |
//! | `PodName` | session id | `PodName_s` | session id |
//! | `ContainerName`, `ContainerImage` | the container | `_s` | – |
//! | `Stream` | `stdout`/`stderr` | `Stream_s` | – |
//! | `OperationName` | `ContainerConsoleLog` | – | the event |
//! | `Level` | – | – | `Informational`/`Warning`/`Error` |
//! | `Log` | the line | `Log_s` | the message |
//! | `Location`, `EnvironmentName` | from the pool | `EnvironmentName_s` | `Location` |
//! | `NodeName` | – | – | the emulator's one node |
//! | `_ResourceId` | environment id (lower-case) | same | same |
//! | `_SubscriptionId` | pool's subscription | – | same |
//! | `_BilledSize` | bytes of the line | – | bytes of the message |
//! | `SourceSystem`, `Type`, `_IsBillable` | `Azure`, the table, `True` | `RestAPI`, the table | `Azure`, the table, `True` |
//!
//! Columns with nothing to show (`MG`, `Computer`, `RawData`, ...) are empty strings.

use sessions_kql::{TableSchema, Value};

use super::routes::Table;

/// The emulator's one node (`NodeName`).
pub const NODE_NAME: &str = "sessions-emulator-node-0";

/// `OperationName` of console rows.
pub const CONSOLE_OPERATION: &str = "ContainerConsoleLog";

/// A value of the row's origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginField {
    /// `SessionPoolName`.
    PoolName,
    /// `_ResourceId`.
    ResourceId,
    /// `EnvironmentName`.
    EnvironmentName,
    /// `Location`.
    Location,
    /// `_SubscriptionId`.
    Subscription,
    /// `ContainerName`.
    Container,
    /// `ContainerImage`.
    Image,
}

/// Where a column's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `TimeGenerated` (datetime).
    Time,
    /// Seconds since the epoch as a real (`_timestamp_d`).
    UnixSeconds,
    /// The queried workspace's id (`TenantId`).
    Workspace,
    /// The same value on every row.
    Const(Value),
    /// A value of the row's origin.
    Origin(OriginField),
    /// The session id.
    Pod,
    /// The identifier.
    Identifier,
    /// Stream (console) or operation (events).
    Tag,
    /// Level.
    Level,
    /// The line or message.
    Log,
    /// Its length in bytes, as a real (`_BilledSize`).
    LogBytes,
}

impl Field {
    /// True for fields stored as dictionary codes.
    pub fn is_coded(&self) -> bool {
        matches!(
            self,
            Field::Pod | Field::Identifier | Field::Tag | Field::Level
        )
    }
}

fn s(v: &str) -> Field {
    Field::Const(Value::str(v))
}

/// The field behind `column` of `table`.
pub fn field(table: Table, column: &str) -> Field {
    use OriginField as O;
    let custom = table == Table::ConsoleCustom;
    match (table, column) {
        (_, "TimeGenerated" | "time_t") => Field::Time,
        (_, "_timestamp_d") => Field::UnixSeconds,
        (_, "TenantId") => Field::Workspace,
        (_, "Type") => s(table.name()),
        (_, "SourceSystem") => s(if custom { "RestAPI" } else { "Azure" }),
        (_, "_IsBillable") => s("True"),
        (_, "_ResourceId") => Field::Origin(O::ResourceId),
        (_, "_SubscriptionId") => Field::Origin(O::Subscription),
        (_, "_BilledSize") => Field::LogBytes,
        (_, "SessionPoolName" | "SessionPoolName_s") => Field::Origin(O::PoolName),
        (_, "EnvironmentName" | "EnvironmentName_s") => Field::Origin(O::EnvironmentName),
        (_, "Location") => Field::Origin(O::Location),
        (_, "ContainerName" | "ContainerName_s") => Field::Origin(O::Container),
        (_, "ContainerImage" | "ContainerImage_s") => Field::Origin(O::Image),
        (_, "PodName" | "PodName_s") => Field::Pod,
        (_, "SessionId" | "SessionId_s") => Field::Identifier,
        (_, "Stream" | "Stream_s") => Field::Tag,
        (_, "Log" | "Log_s") => Field::Log,
        (Table::Console, "OperationName") => s(CONSOLE_OPERATION),
        (_, "OperationName") => Field::Tag,
        (_, "Level") => Field::Level,
        (_, "NodeName") => s(NODE_NAME),
        _ => s(""),
    }
}

/// The field of every column of `schema`, in order.
pub fn fields(table: Table, schema: &TableSchema) -> Vec<Field> {
    schema
        .columns
        .iter()
        .map(|c| field(table, &c.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_kql::tables;

    #[test]
    fn every_column_of_the_log_tables_has_a_field() {
        let cases = [
            (Table::Console, tables::console_logs()),
            (Table::ConsoleCustom, tables::console_logs_cl()),
            (Table::Lifecycle, tables::lifecycle_logs()),
            (Table::PoolEvents, tables::pool_event_logs()),
        ];
        for (t, schema) in cases {
            assert_eq!(schema.name, t.name());
            let f = fields(t, &schema);
            let time = schema.time_column().expect("time column");
            assert_eq!(f[time], Field::Time);
            assert!(f.contains(&Field::Log), "{}", schema.name);
        }
        assert_eq!(field(Table::Lifecycle, "OperationName"), Field::Tag);
        assert_eq!(field(Table::Console, "Stream"), Field::Tag);
        assert_eq!(field(Table::ConsoleCustom, "MG"), s(""));
    }
}

//! Long-running operation records (the rows behind `operationStatuses/{id}` and
//! `operationResults/{id}`).

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreError};
use crate::id::ResourceId;

/// Status of an operation, spelled as ARM spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationStatus {
    /// Still running.
    InProgress,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled (e.g. superseded by a delete).
    Canceled,
}

impl OperationStatus {
    /// The ARM spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::InProgress => "InProgress",
            OperationStatus::Succeeded => "Succeeded",
            OperationStatus::Failed => "Failed",
            OperationStatus::Canceled => "Canceled",
        }
    }

    /// Parses the ARM spelling (unknown values read as `Failed`).
    pub fn parse(s: &str) -> Self {
        match s {
            "InProgress" => OperationStatus::InProgress,
            "Succeeded" => OperationStatus::Succeeded,
            "Canceled" => OperationStatus::Canceled,
            _ => OperationStatus::Failed,
        }
    }

    /// True for Succeeded, Failed and Canceled.
    pub fn is_terminal(self) -> bool {
        self != OperationStatus::InProgress
    }
}

/// One long-running operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRecord {
    /// Operation id (a GUID).
    pub id: String,
    /// Id of the resource the operation acts on (casing of its creation).
    pub resource_id: ResourceId,
    /// What it does: `Create`, `Update`, `Delete` (free text for other engineers' kinds).
    pub kind: String,
    /// Current status.
    pub status: OperationStatus,
    /// Subscription the status URL lives under.
    pub subscription: String,
    /// Normalised location (`eastus`) the status URL lives under.
    pub location: String,
    /// When it started.
    pub start_time: OffsetDateTime,
    /// When it ended (terminal states only).
    pub end_time: Option<OffsetDateTime>,
    /// `{code, message, target?}` when Failed.
    pub error: Option<Value>,
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Inserts or replaces an operation.
pub fn put(conn: &Connection, op: &OperationRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO operations
           (id, resource_key, resource_id, kind, status, subscription, location, start_time, end_time, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            op.id.to_ascii_lowercase(),
            op.resource_id.key(),
            op.resource_id.as_str(),
            op.kind,
            op.status.as_str(),
            op.subscription,
            op.location,
            fmt_time(op.start_time),
            op.end_time.map(fmt_time),
            op.error.as_ref().map(|e| e.to_string()),
        ],
    )?;
    Ok(())
}

/// The operation with this id (case-insensitive).
pub fn get(conn: &Connection, id: &str) -> Result<Option<OperationRecord>, StoreError> {
    let row = conn
        .query_row(
            "SELECT id, resource_id, kind, status, subscription, location, start_time, end_time, error
             FROM operations WHERE id = ?1",
            [id.to_ascii_lowercase()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((id, resource_id, kind, status, subscription, location, start, end, error)) = row
    else {
        return Ok(None);
    };
    Ok(Some(OperationRecord {
        id,
        resource_id: ResourceId::parse(&resource_id)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind,
        status: OperationStatus::parse(&status),
        subscription,
        location,
        start_time: parse_time(&start),
        end_time: end.as_deref().map(parse_time),
        error: error.as_deref().map(serde_json::from_str).transpose()?,
    }))
}

/// Operations on this resource that are still `InProgress`.
pub fn running_for(conn: &Connection, resource_id: &ResourceId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM operations WHERE resource_key = ?1 AND status = 'InProgress' ORDER BY start_time",
    )?;
    let ids = stmt
        .query_map([resource_id.key()], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Ids of every `InProgress` operation of `kind` (any resource), oldest first.
pub fn running_of_kind(conn: &Connection, kind: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM operations WHERE kind = ?1 AND status = 'InProgress' ORDER BY start_time",
    )?;
    let ids = stmt
        .query_map([kind], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

impl Store {
    /// Every `InProgress` operation of `kind` (e.g. deletes a previous run did not finish),
    /// oldest first.
    pub async fn running_operations_of_kind(
        &self,
        kind: &str,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let kind = kind.to_string();
        self.call(move |c| {
            running_of_kind(c, &kind)?
                .iter()
                .filter_map(|id| get(c, id).transpose())
                .collect()
        })
        .await
    }

    /// Inserts or replaces an operation. Durable when this returns.
    pub async fn put_operation(&self, op: OperationRecord) -> Result<(), StoreError> {
        self.call(move |c| put(c, &op)).await
    }

    /// The operation with this id.
    pub async fn get_operation(&self, id: &str) -> Result<Option<OperationRecord>, StoreError> {
        let id = id.to_string();
        self.call(move |c| get(c, &id)).await
    }

    /// Ids of operations on `resource_id` still `InProgress`, oldest first.
    pub async fn running_operations(
        &self,
        resource_id: &ResourceId,
    ) -> Result<Vec<String>, StoreError> {
        let id = resource_id.clone();
        self.call(move |c| running_for(c, &id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_round_trips() {
        let store = Store::in_memory().expect("store");
        let op = OperationRecord {
            id: "ABC".into(),
            resource_id: ResourceId::parse(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p",
            )
            .expect("id"),
            kind: "Create".into(),
            status: OperationStatus::Failed,
            subscription: "s".into(),
            location: "eastus".into(),
            start_time: OffsetDateTime::UNIX_EPOCH,
            end_time: Some(OffsetDateTime::UNIX_EPOCH),
            error: Some(json!({"code": "X", "message": "y"})),
        };
        store.call_blocking(|c| put(c, &op)).expect("put");
        let got = store
            .call_blocking(|c| get(c, "abc"))
            .expect("get")
            .expect("found");
        assert_eq!(got.error, op.error);
        assert_eq!(got.status, OperationStatus::Failed);
        assert_eq!(got.resource_id, op.resource_id);
        let mut running = op.clone();
        running.id = "def".into();
        running.kind = "Delete".into();
        running.status = OperationStatus::InProgress;
        store.call_blocking(|c| put(c, &running)).expect("put");
        let ids = store
            .call_blocking(|c| running_of_kind(c, "Delete"))
            .expect("running");
        assert_eq!(ids, vec!["def".to_string()]);
        assert!(store
            .call_blocking(|c| running_of_kind(c, "Create"))
            .expect("running")
            .is_empty());
    }
}

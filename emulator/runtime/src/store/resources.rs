//! The generic ARM resource table: one row per resource, keyed by the lower-cased ARM id so
//! lookups are case-insensitive while the stored `id` keeps the casing of its creation.
//!
//! `body` is the resource's JSON as its route module wants to keep it (for most types the
//! canonical ARM representation; session pools keep their internal model).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Store, StoreError};
use crate::id::ResourceId;

/// One stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    /// The resource id in the casing of its creation, e.g.
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{n}`.
    pub id: ResourceId,
    /// Resource type, e.g. `Microsoft.App/managedEnvironments` (matched case-insensitively).
    pub resource_type: String,
    /// The stored JSON body.
    pub body: Value,
    /// Id of the parent (resource group for top-level resources, the resource for extension
    /// and child resources); `None` for subscriptions and resource groups.
    pub parent_id: Option<ResourceId>,
    /// When the resource was first created.
    pub created_at: OffsetDateTime,
    /// When the resource was last written.
    pub modified_at: OffsetDateTime,
}

impl ResourceRecord {
    /// A record for `id` with the parent derived from the id (see [`parent_of`]).
    pub fn new(
        id: ResourceId,
        resource_type: impl Into<String>,
        body: Value,
        now: OffsetDateTime,
    ) -> Self {
        ResourceRecord {
            parent_id: parent_of(&id),
            id,
            resource_type: resource_type.into(),
            body,
            created_at: now,
            modified_at: now,
        }
    }

    /// The lower-cased id used as primary key.
    pub fn key(&self) -> &str {
        self.id.key()
    }
}

/// The parent a record of `id` is filed under: [`ResourceId::parent`], except that
/// subscriptions and resource groups are filed under nothing.
pub fn parent_of(id: &ResourceId) -> Option<ResourceId> {
    if id.is_subscription() || id.is_resource_group() {
        return None;
    }
    id.parent()
}

/// Which resources [`Store::list_resources`] returns: every resource of one type, optionally
/// restricted to a subscription, a resource group and/or a parent. Build it with
/// [`ListFilter::of_type`] and the `in_*`/`under` methods.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Resource type (case-insensitive).
    pub resource_type: String,
    /// Restrict to one subscription (case-insensitive).
    pub subscription: Option<String>,
    /// Restrict to one resource group (case-insensitive).
    pub resource_group: Option<String>,
    /// Restrict to children of this id.
    pub parent_id: Option<ResourceId>,
}

impl ListFilter {
    /// Every resource of `resource_type`, in every subscription.
    pub fn of_type(resource_type: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            ..Self::default()
        }
    }

    /// Only those in `subscription`.
    pub fn in_subscription(mut self, subscription: impl Into<String>) -> Self {
        self.subscription = Some(subscription.into());
        self
    }

    /// Only those in `resource_group` (of the subscription), when given.
    pub fn in_resource_group(mut self, resource_group: Option<String>) -> Self {
        self.resource_group = resource_group;
        self
    }

    /// Only the children of `parent`.
    pub fn under(mut self, parent: ResourceId) -> Self {
        self.parent_id = Some(parent);
        self
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

const COLUMNS: &str = "id, type, body, parent_key, created_at, modified_at";

fn from_row(
    row: &Row<'_>,
) -> rusqlite::Result<(String, String, String, Option<String>, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

type RawRow = (String, String, String, Option<String>, String, String);

fn to_record(conn: &Connection, raw: RawRow) -> Result<ResourceRecord, StoreError> {
    let (id, resource_type, body, parent_key, created, modified) = raw;
    let id = ResourceId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // The parent's id as created: look it up, fall back to the id-derived parent.
    let parent_id = match parent_key {
        Some(k) => conn
            .query_row("SELECT id FROM resources WHERE key = ?1", [&k], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|p| ResourceId::parse(&p).ok())
            .or_else(|| parent_of(&id)),
        None => None,
    };
    Ok(ResourceRecord {
        id,
        resource_type,
        body: serde_json::from_str(&body)?,
        parent_id,
        created_at: parse_time(&created),
        modified_at: parse_time(&modified),
    })
}

/// Upserts `rec`; keeps the original `created_at` on update. Returns true when created.
pub fn put(conn: &Connection, rec: &ResourceRecord) -> Result<bool, StoreError> {
    let key = rec.key();
    let existing: Option<String> = conn
        .query_row(
            "SELECT created_at FROM resources WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()?;
    let sub = rec.id.subscription_id().to_ascii_lowercase();
    let rg = rec.id.resource_group_name().map(str::to_ascii_lowercase);
    let body = serde_json::to_string(&rec.body)?;
    let created = existing.clone().unwrap_or_else(|| fmt_time(rec.created_at));
    conn.execute(
        "INSERT INTO resources (key, id, type, subscription, resource_group, parent_key, body, created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(key) DO UPDATE SET body = excluded.body, modified_at = excluded.modified_at,
            type = excluded.type",
        params![
            key,
            rec.id.as_str(),
            rec.resource_type.to_ascii_lowercase(),
            sub,
            rg,
            rec.parent_id.as_ref().map(ResourceId::key),
            body,
            created,
            fmt_time(rec.modified_at),
        ],
    )?;
    Ok(existing.is_none())
}

/// The resource with this id.
pub fn get(conn: &Connection, id: &ResourceId) -> Result<Option<ResourceRecord>, StoreError> {
    let raw = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM resources WHERE key = ?1"),
            [id.key()],
            from_row,
        )
        .optional()?;
    raw.map(|r| to_record(conn, r)).transpose()
}

/// Deletes exactly this resource. Returns true when it existed.
pub fn delete(conn: &Connection, id: &ResourceId) -> Result<bool, StoreError> {
    let n = conn.execute("DELETE FROM resources WHERE key = ?1", [id.key()])?;
    Ok(n > 0)
}

/// Deletes this resource and everything below it (ids starting with `{id}/`), in one
/// transaction. Returns how many rows went.
pub fn delete_tree(conn: &mut Connection, id: &ResourceId) -> Result<usize, StoreError> {
    let key = id.key();
    let prefix = format!("{key}/");
    let tx = conn.transaction()?;
    let n = tx.execute(
        "DELETE FROM resources WHERE key = ?1 OR substr(key, 1, length(?2)) = ?2",
        params![key, prefix],
    )?;
    tx.commit()?;
    Ok(n)
}

/// Resources matching `filter`, ordered by key, starting after `after_key`, at most `limit`
/// (`None`: all of them).
pub fn list(
    conn: &Connection,
    filter: &ListFilter,
    after_key: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<ResourceRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM resources
         WHERE type = ?1 AND (?2 IS NULL OR subscription = ?2)
           AND (?3 IS NULL OR resource_group = ?3)
           AND (?4 IS NULL OR parent_key = ?4)
           AND (?5 IS NULL OR key > ?5)
         ORDER BY key LIMIT ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![
                filter.resource_type.to_ascii_lowercase(),
                filter.subscription.as_ref().map(|s| s.to_ascii_lowercase()),
                filter
                    .resource_group
                    .as_ref()
                    .map(|s| s.to_ascii_lowercase()),
                filter.parent_id.as_ref().map(ResourceId::key),
                after_key,
                limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)),
            ],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|r| to_record(conn, r)).collect()
}

/// Every resource below `id` (not `id` itself), any type, ordered by key.
pub fn descendants(conn: &Connection, id: &ResourceId) -> Result<Vec<ResourceRecord>, StoreError> {
    let prefix = format!("{}/", id.key());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM resources WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key"
    ))?;
    let rows = stmt
        .query_map([prefix], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|r| to_record(conn, r)).collect()
}

/// Async wrappers running on the blocking pool. They seal secret values on the way in and
/// open them on the way out ([`super::seal`]): callers only ever see plain values, the
/// database only sealed ones.
impl Store {
    /// Upserts a resource; true when it was created. Durable when this returns.
    pub async fn put_resource(&self, rec: ResourceRecord) -> Result<bool, StoreError> {
        let mut rec = rec;
        self.sealer().seal_body(&mut rec.body);
        let r = self.call(move |c| put(c, &rec)).await;
        self.changed();
        r
    }

    /// `recs` with their secret values opened.
    fn opened(&self, mut recs: Vec<ResourceRecord>) -> Result<Vec<ResourceRecord>, StoreError> {
        for r in &mut recs {
            self.sealer().open_body(&mut r.body)?;
        }
        Ok(recs)
    }

    /// The resource with this id.
    pub async fn get_resource(
        &self,
        id: &ResourceId,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let id = id.clone();
        let rec = self.call(move |c| get(c, &id)).await?;
        Ok(self.opened(rec.into_iter().collect())?.pop())
    }

    /// The resource with this id when it has type `resource_type` (case-insensitive).
    pub async fn get_typed(
        &self,
        id: &ResourceId,
        resource_type: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        Ok(self
            .get_resource(id)
            .await?
            .filter(|r| r.resource_type.eq_ignore_ascii_case(resource_type)))
    }

    /// Deletes exactly this resource; true when it existed.
    pub async fn delete_resource(&self, id: &ResourceId) -> Result<bool, StoreError> {
        let id = id.clone();
        let r = self.call(move |c| delete(c, &id)).await;
        self.changed();
        r
    }

    /// Deletes this resource and all its descendants; returns how many rows went.
    pub async fn delete_tree(&self, id: &ResourceId) -> Result<usize, StoreError> {
        let id = id.clone();
        let r = self.call(move |c| delete_tree(c, &id)).await;
        self.changed();
        r
    }

    /// The one way to read resources of a type: those matching `filter`, ordered by key,
    /// after `after_key`, at most `limit` (`None`: all). See [`list`].
    pub async fn list_resources(
        &self,
        filter: ListFilter,
        after_key: Option<String>,
        limit: Option<usize>,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let recs = self
            .call(move |c| list(c, &filter, after_key.as_deref(), limit))
            .await?;
        self.opened(recs)
    }

    /// Every resource below `id`.
    pub async fn descendants(&self, id: &ResourceId) -> Result<Vec<ResourceRecord>, StoreError> {
        let id = id.clone();
        let recs = self.call(move |c| descendants(c, &id)).await?;
        self.opened(recs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RG: &str = "/subscriptions/S1/resourceGroups/MyRG";

    fn id(s: &str) -> ResourceId {
        ResourceId::parse(s).expect("id")
    }

    fn env(name: &str) -> ResourceRecord {
        ResourceRecord::new(
            id(&format!(
                "{RG}/providers/Microsoft.App/managedEnvironments/{name}"
            )),
            "Microsoft.App/managedEnvironments",
            json!({"name": name}),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn parent_is_derived_from_id() {
        assert_eq!(parent_of(&id(RG)), None);
        assert_eq!(parent_of(&id("/subscriptions/s")), None);
        assert_eq!(parent_of(&env("e").id), Some(id(RG)));
        let diag = env("e")
            .id
            .provider("Microsoft.Insights/diagnosticSettings", "d");
        assert_eq!(parent_of(&diag), Some(env("e").id));
    }

    #[test]
    fn put_get_is_case_insensitive_and_keeps_casing() {
        let store = Store::in_memory().expect("store");
        let rec = env("Env1");
        assert!(store.call_blocking(|c| put(c, &rec)).expect("put"));
        assert!(!store.call_blocking(|c| put(c, &rec)).expect("put again"));
        let got = store
            .call_blocking(|c| get(c, &id(&rec.id.as_str().to_uppercase())))
            .expect("get")
            .expect("found");
        assert_eq!(got.id.as_str(), rec.id.as_str());
        assert_eq!(got.body, json!({"name": "Env1"}));
    }

    #[test]
    fn list_pages_by_key_and_filters_scope() {
        let store = Store::in_memory().expect("store");
        for n in ["a", "b", "c"] {
            let rec = env(n);
            store.call_blocking(|c| put(c, &rec)).expect("put");
        }
        let filter = ListFilter::of_type("microsoft.app/MANAGEDENVIRONMENTS")
            .in_subscription("s1")
            .in_resource_group(Some("myrg".into()));
        let first = store
            .call_blocking(|c| list(c, &filter, None, Some(2)))
            .expect("list");
        assert_eq!(first.len(), 2);
        let after = first[1].key().to_string();
        let rest = store
            .call_blocking(|c| list(c, &filter, Some(&after), Some(2)))
            .expect("list");
        assert_eq!(rest.len(), 1);
        assert!(rest[0].id.as_str().ends_with("/c"));
        let everywhere = ListFilter::of_type("Microsoft.App/managedEnvironments");
        let all = store
            .call_blocking(|c| list(c, &everywhere, None, None))
            .expect("list");
        assert_eq!(all.len(), 3);
        let other_sub =
            ListFilter::of_type("Microsoft.App/managedEnvironments").in_subscription("s2");
        assert!(store
            .call_blocking(|c| list(c, &other_sub, None, None))
            .expect("list")
            .is_empty());
    }

    #[test]
    fn delete_tree_removes_children_only_under_prefix() {
        let store = Store::in_memory().expect("store");
        let rg = ResourceRecord::new(
            id(RG),
            "Microsoft.Resources/resourceGroups",
            json!({}),
            OffsetDateTime::UNIX_EPOCH,
        );
        let other = ResourceRecord::new(
            id(&format!("{RG}2")),
            "Microsoft.Resources/resourceGroups",
            json!({}),
            OffsetDateTime::UNIX_EPOCH,
        );
        let child = env("e");
        for r in [&rg, &other, &child] {
            store.call_blocking(|c| put(c, r)).expect("put");
        }
        let n = store
            .call_blocking(|c| delete_tree(c, &id(RG)))
            .expect("delete");
        assert_eq!(n, 2);
        assert!(store
            .call_blocking(|c| get(c, &other.id))
            .expect("get")
            .is_some());
    }
}

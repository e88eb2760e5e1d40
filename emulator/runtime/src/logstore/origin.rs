//! Who produced a row: an [`Origin`] (the pool, its environment, location, tenant, and for
//! console lines the container and image). Rows store a small origin id instead of these
//! strings; [`Origins`] interns them (persisted in `log_origins`) and keeps each one's column
//! values ready for queries.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sessions_kql::Value;

use crate::id::ResourceId;

/// The producer of a row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// ARM id of the pool (casing of creation).
    pub pool_id: String,
    /// ARM id of the pool's environment (may be empty).
    pub environment_id: String,
    /// Normalised location (`eastus`).
    pub location: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Container name (console lines; empty for events).
    #[serde(default)]
    pub container_name: String,
    /// Container image (console lines; empty for events).
    #[serde(default)]
    pub container_image: String,
}

/// Id of an interned origin.
pub type OriginId = u32;

/// An origin's values as query columns.
#[derive(Clone, Debug)]
pub struct OriginValues {
    /// The origin.
    pub origin: Arc<Origin>,
    /// Lower-cased pool id (the key the runtime uses).
    pub pool_key: String,
    /// Lower-cased environment id (the key of routes).
    pub environment_key: String,
    /// `SessionPoolName`.
    pub pool_name: Value,
    /// `_ResourceId` (lower-cased environment id).
    pub resource_id: Value,
    /// `EnvironmentName`.
    pub environment_name: Value,
    /// `Location`.
    pub location: Value,
    /// `_SubscriptionId`.
    pub subscription_id: Value,
    /// `ContainerName`.
    pub container_name: Value,
    /// `ContainerImage`.
    pub container_image: Value,
}

impl OriginValues {
    fn new(origin: Arc<Origin>) -> OriginValues {
        let pool = ResourceId::parse(&origin.pool_id).ok();
        let pool_name = pool
            .as_ref()
            .map(|p| p.name().to_string())
            .unwrap_or_default();
        let subscription = pool
            .as_ref()
            .map(|p| p.subscription_id().to_string())
            .unwrap_or_default();
        let env_name = origin
            .environment_id
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        OriginValues {
            pool_key: origin.pool_id.to_ascii_lowercase(),
            environment_key: origin.environment_id.to_ascii_lowercase(),
            pool_name: Value::str(&pool_name),
            resource_id: Value::str(&origin.environment_id.to_ascii_lowercase()),
            environment_name: Value::str(&env_name),
            location: Value::str(&origin.location),
            subscription_id: Value::str(&subscription),
            container_name: Value::str(&origin.container_name),
            container_image: Value::str(&origin.container_image),
            origin,
        }
    }
}

/// The interned origins (append-only).
#[derive(Debug, Default)]
pub struct Origins {
    inner: RwLock<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    list: Vec<Arc<OriginValues>>,
    index: HashMap<Arc<Origin>, OriginId>,
}

impl Origins {
    /// An empty registry.
    pub fn new() -> Origins {
        Origins::default()
    }

    /// The id of `origin`, interning it if new.
    pub fn intern(&self, origin: &Arc<Origin>) -> OriginId {
        if let Some(id) = self.inner.read().index.get(origin) {
            return *id;
        }
        let mut g = self.inner.write();
        if let Some(id) = g.index.get(origin) {
            return *id;
        }
        let id = g.list.len() as OriginId;
        g.list.push(Arc::new(OriginValues::new(origin.clone())));
        g.index.insert(origin.clone(), id);
        id
    }

    /// Restores a persisted origin under its id (start-up; ids arrive in order).
    pub fn restore(&self, id: OriginId, origin: Origin) {
        let origin = Arc::new(origin);
        let mut g = self.inner.write();
        while (g.list.len() as OriginId) < id {
            let blank = Arc::new(Origin {
                pool_id: String::new(),
                environment_id: String::new(),
                location: String::new(),
                tenant_id: String::new(),
                container_name: String::new(),
                container_image: String::new(),
            });
            g.list.push(Arc::new(OriginValues::new(blank)));
        }
        if (g.list.len() as OriginId) == id {
            g.list.push(Arc::new(OriginValues::new(origin.clone())));
            g.index.entry(origin).or_insert(id);
        }
    }

    /// Every origin, by id (a snapshot).
    pub fn snapshot(&self) -> Vec<Arc<OriginValues>> {
        self.inner.read().list.clone()
    }

    /// The origin with this id.
    pub fn get(&self, id: OriginId) -> Option<Arc<OriginValues>> {
        self.inner.read().list.get(id as usize).cloned()
    }

    /// Number of origins.
    pub fn len(&self) -> usize {
        self.inner.read().list.len()
    }

    /// True when none was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(container: &str) -> Arc<Origin> {
        Arc::new(Origin {
            pool_id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.App/sessionPools/Pool1"
                .into(),
            environment_id:
                "/subscriptions/S/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/Env1"
                    .into(),
            location: "eastus".into(),
            tenant_id: "t".into(),
            container_name: container.into(),
            container_image: "img".into(),
        })
    }

    #[test]
    fn interning_and_values() {
        let o = Origins::new();
        let a = o.intern(&origin("main"));
        let b = o.intern(&origin("side"));
        assert_ne!(a, b);
        assert_eq!(o.intern(&origin("main")), a);
        let v = o.get(a).expect("origin");
        assert_eq!(v.pool_name, Value::str("Pool1"));
        assert_eq!(v.environment_name, Value::str("Env1"));
        assert_eq!(v.subscription_id, Value::str("S"));
        assert!(v.resource_id.as_str().starts_with("/subscriptions/s/"));
        o.restore(2, (*origin("x")).clone());
        assert_eq!(o.len(), 3);
    }
}

//! The stored form of a session pool: the body of its row in the generic resource table.
//!
//! `{"name", "pool": <model::SessionPool>, "status": <model::PoolStatus>, "operation"}`. This is
//! internal (it holds secret values) and never sent on the wire; [`super::render`] builds
//! responses from it. Other modules (the pool manager at start-up, for instance) read pools with
//! [`StoredPool::from_body`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{PoolStatus, SessionPool};

/// One stored session pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPool {
    /// The pool name as first created (ARM names are case-insensitive; responses keep this).
    pub name: String,
    /// Everything the caller set (with secret values and generated identity ids).
    pub pool: SessionPool,
    /// Read-only state.
    pub status: PoolStatus,
    /// Id of the latest create/update operation; provisioning only completes for that one.
    pub operation: Option<String>,
}

/// Why a stored body could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the stored session pool is unreadable ({0}); delete and re-create the pool")]
pub struct StoredPoolError(#[from] serde_json::Error);

impl StoredPool {
    /// Reads a stored row body.
    pub fn from_body(body: &Value) -> Result<Self, StoredPoolError> {
        Ok(StoredPool::deserialize(body)?)
    }

    /// The row body to store.
    pub fn to_body(&self) -> Result<Value, StoredPoolError> {
        Ok(serde_json::to_value(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::ProvisioningState;
    use super::*;

    #[test]
    fn body_round_trips() {
        let s = StoredPool {
            name: "pool".into(),
            pool: SessionPool {
                location: "eastus".into(),
                ..SessionPool::default()
            },
            status: PoolStatus {
                provisioning_state: ProvisioningState::Succeeded,
                node_count: 0,
                pool_management_endpoint: "https://e/pools/s/rg/pool".into(),
                system_data: serde_json::json!({}),
            },
            operation: Some("op".into()),
        };
        let body = s.to_body().unwrap();
        assert_eq!(StoredPool::from_body(&body).unwrap(), s);
        assert!(StoredPool::from_body(&serde_json::json!({"name": 1})).is_err());
    }
}

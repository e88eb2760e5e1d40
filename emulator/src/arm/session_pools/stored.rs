//! The stored form of a session pool: the body of its row in the generic resource table.
//!
//! `{"name", "pool": <model::SessionPool>, "status": <model::PoolStatus>, "operation"}`. This is
//! internal (it holds secret values) and never sent on the wire; [`super::render`] builds
//! responses from it. Other modules (the pool manager at start-up, for instance) read pools with
//! [`StoredPool::from_body`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Container, CustomContainerTemplate, Ingress, PoolStatus, SessionPool};

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
    /// The API key of the pool's MCP endpoint (`fetchMcpServerCredentials`); generated at
    /// create, replaced by `rotateMcpServerCredentials`.
    #[serde(default)]
    pub mcp_api_key: Option<String>,
    /// The template the pool runs and the one it rolls out to (`templateUpdateStatus`).
    #[serde(default)]
    pub templates: TemplateRecords,
}

/// The templates behind `templateUpdateStatus`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRecords {
    /// The template the pool's sessions run (after the first provisioning succeeded).
    pub active: Option<TemplateRecord>,
    /// A template being rolled out (created or changed, provisioning not finished or failed).
    pub desired: Option<TemplateRecord>,
}

/// One template of a pool: its containers and ingress, and when it was set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRecord {
    /// `containers`.
    pub containers: Vec<Container>,
    /// `ingress`.
    pub ingress: Option<Ingress>,
    /// When the template was set (RFC 3339).
    pub created_time: String,
}

impl TemplateRecord {
    /// The record of `template`, set at `created_time`.
    pub fn of(template: &CustomContainerTemplate, created_time: String) -> Self {
        Self {
            containers: template.containers.clone().unwrap_or_default(),
            ingress: template.ingress.clone(),
            created_time,
        }
    }

    /// Whether `template` has the same containers and ingress.
    pub fn same_as(&self, template: &CustomContainerTemplate) -> bool {
        self.containers == template.containers.clone().unwrap_or_default()
            && self.ingress == template.ingress
    }
}

impl TemplateRecords {
    /// Records `template` as set at `now`: a new desired template unless it equals the active
    /// one (or the desired one already being rolled out).
    pub fn set(&mut self, template: Option<&CustomContainerTemplate>, now: String) {
        let Some(t) = template else { return };
        if self.desired.as_ref().is_some_and(|d| d.same_as(t)) {
            return;
        }
        if self.active.as_ref().is_some_and(|a| a.same_as(t)) {
            self.desired = None;
            return;
        }
        self.desired = Some(TemplateRecord::of(t, now));
    }

    /// The roll-out finished: the desired template is now the active one.
    pub fn promote(&mut self) {
        if let Some(d) = self.desired.take() {
            self.active = Some(d);
        }
    }
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
                origin_port: Some(4242),
                system_data: serde_json::json!({}),
            },
            operation: Some("op".into()),
            mcp_api_key: Some("key".into()),
            templates: TemplateRecords::default(),
        };
        let body = s.to_body().unwrap();
        assert_eq!(StoredPool::from_body(&body).unwrap(), s);
        assert!(StoredPool::from_body(&serde_json::json!({"name": 1})).is_err());
        // Rows written before the MCP key and template records existed still read.
        let mut old = body.clone();
        old.as_object_mut().unwrap().remove("mcpApiKey");
        old.as_object_mut().unwrap().remove("templates");
        let read = StoredPool::from_body(&old).unwrap();
        assert_eq!(read.mcp_api_key, None);
        assert_eq!(read.templates, TemplateRecords::default());
    }

    #[test]
    fn template_records_follow_a_roll_out() {
        let t = |image: &str| CustomContainerTemplate {
            containers: Some(vec![Container {
                image: Some(image.into()),
                name: Some("main".into()),
                ..Container::default()
            }]),
            ..CustomContainerTemplate::default()
        };
        let mut r = TemplateRecords::default();
        r.set(Some(&t("a:1")), "t1".into());
        assert_eq!(r.desired.as_ref().unwrap().created_time, "t1");
        r.promote();
        assert!(r.desired.is_none());
        r.set(Some(&t("a:1")), "t2".into());
        assert!(r.desired.is_none(), "same template: no roll-out");
        r.set(Some(&t("a:2")), "t3".into());
        r.set(Some(&t("a:2")), "t4".into());
        assert_eq!(r.desired.as_ref().unwrap().created_time, "t3");
        r.set(Some(&t("a:1")), "t5".into());
        assert!(r.desired.is_none(), "back to the active template");
    }
}

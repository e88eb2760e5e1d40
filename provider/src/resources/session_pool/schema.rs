//! Schema of `azuresessions_session_pool`: derived from the model ([`super::model`]), which
//! declares every attribute with azurerm's names plus probes, write-only secrets,
//! `provisioning_state` and timeouts.

use super::model::SessionPool;
use crate::plugin::model::Model;
use crate::plugin::schema::Schema;

/// Schema version of the stored state.
pub const VERSION: i64 = 0;

/// The resource schema.
pub fn schema() -> Schema {
    Schema::new(VERSION, SessionPool::block())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_valid() {
        schema().validate().unwrap();
    }

    #[test]
    fn create_only_attributes_replace() {
        let paths: Vec<String> = schema()
            .force_new_paths()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            paths,
            vec![
                "name",
                "resource_group_name",
                "location",
                "container_app_environment_id",
                "container_type",
                "pool_management_type",
                "managed_identity_setting"
            ]
        );
    }
}

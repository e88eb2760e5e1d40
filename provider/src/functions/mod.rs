//! Provider functions (Terraform 1.8+), one file per function:
//!
//! - [`parse_session_pool_id`]: `provider::azuresessions::parse_session_pool_id(id)` ->
//!   `{subscription_id, resource_group_name, name}`.
//! - [`session_pool_id`]: `provider::azuresessions::session_pool_id(subscription_id,
//!   resource_group_name, name)` -> the ARM id.

pub mod parse_session_pool_id;
pub mod session_pool_id;

use crate::plugin::model::Model;
use crate::plugin::Type;
use crate::resources::session_pool::model::SessionPoolIdentity;

/// The object type of a parsed session pool id: the pool's resource identity
/// (`subscription_id`, `resource_group_name`, `name`).
pub fn parts_type() -> Type {
    SessionPoolIdentity::block().implied_type()
}

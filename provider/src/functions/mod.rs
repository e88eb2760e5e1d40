//! Provider functions (Terraform 1.8+), one file per function:
//!
//! - [`parse_session_pool_id`]: `provider::azuresessions::parse_session_pool_id(id)` ->
//!   `{subscription_id, resource_group_name, name}`.
//! - [`session_pool_id`]: `provider::azuresessions::session_pool_id(subscription_id,
//!   resource_group_name, name)` -> the ARM id.

pub mod parse_session_pool_id;
pub mod session_pool_id;

use crate::plugin::Type;

/// The object type of a parsed session pool id.
pub fn parts_type() -> Type {
    Type::object([
        ("subscription_id", Type::String),
        ("resource_group_name", Type::String),
        ("name", Type::String),
    ])
}

//! Terraform actions, one file per type.
//!
//! - [`stop_session`] — `azuresessions_stop_session`.

pub mod stop_session;

//! The suites: one module per suite, each with `pub fn cases()` (see [`crate::case`]), and
//! [`pool`], the session-pool helpers they share.

pub mod arm;
pub mod dataplane;
pub mod identity;
pub mod isolation;
pub mod lifecycle;
pub mod observability;
pub mod pool;
pub mod probes;
pub mod terraform;

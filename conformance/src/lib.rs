//! `sessions-conformance`: CI suites that prove behaviour against the emulator or real Azure.
//!
//! # Layout
//!
//! - [`emulator`]: find, start, read and stop a `sessions-emulator` (ready line, tokens).
//! - [`image`]: `sessions-conformance image`, does a container image work in a pool?
//! - [`terraform`]: the `terraform` suite (real `terraform`, our provider, the stop_session
//!   action over gRPC).
//!
//! Filled by the conformance issue: suites, targets (emulator | azure), the terraform driver
//! and reports.

pub mod emulator;
pub mod image;
pub mod terraform;

//! `sessions-conformance`: CI suites that prove behaviour against the emulator or real Azure.
//!
//! # Layout
//!
//! Filled by the conformance issue: suites, targets (emulator | azure), the terraform driver
//! and reports. Today the crate only reserves its place in the workspace.

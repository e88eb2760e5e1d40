//! `sessions-conformance`: CI suites that prove behaviour against the emulator or real Azure.
//!
//! # Layout
//!
//! - [`emulator`]: find, start, read and stop a `sessions-emulator` (ready line, tokens).
//!
//! Filled by the conformance issue: suites, targets (emulator | azure), the terraform driver
//! and reports.

pub mod emulator;

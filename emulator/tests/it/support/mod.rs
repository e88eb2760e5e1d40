//! The one support module of the emulator's integration tests.
//!
//! - [`acr`]: a registry that logs clients in with an access token, as Azure Container Registry.
//! - [`arm`]: ARM requests against an in-process emulator and snapshot redaction.
//! - [`monitor`]: pools that print lines, diagnostic settings, Log Analytics queries.
//! - [`pools`]: a valid session pool, pool paths, bounded polling, pool snapshot normalisation.
//! - [`process`]: the built binary as a child process (ready line, token, requests).
//! - [`host`]: what a process holds (descriptors, memory, QEMU processes, run dirs).
//! - [`figures`]: counts from the environment and the figure line reliability tests print.

#![allow(dead_code)]

pub mod acr;
pub mod arm;
pub mod figures;
pub mod host;
pub mod monitor;
pub mod pools;
pub mod process;

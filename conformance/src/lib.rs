//! `sessions-conformance`: CI suites that prove behaviour against the emulator or real Azure.
//!
//! # Layout
//!
//! - [`http`]: requests and answers kept as [`http::Exchange`]s (a failing case prints the
//!   request and response that failed; secrets masked).
//! - [`normalise`]: ids, times, GUIDs, hosts and ports to placeholders.
//! - [`snapshot`]: recorded snapshots (`conformance/snapshots`, built in), `--record`.
//! - [`emulator`]: find, start, read and stop a `sessions-emulator` (ready line, tokens).
//! - [`target`]: what cases run against: endpoints, credentials and tokens
//!   ([`target::auth`]), the emulator ([`target::local`]) or Azure ([`target::azure`]), and
//!   cleanup of what a run creates ([`target::cleanup`]).
//! - [`deviations`]: the ids of `conformance/DEVIATIONS.md`.
//! - [`case`]: the case framework (`Case`, `Ctx`, the registry; how a suite registers).
//! - [`suites`]: `arm`, `identity`, `dataplane`, `lifecycle`, `probes`, `isolation`,
//!   `observability`.
//! - [`terraform`]: the `terraform` suite (real `terraform`, our provider, the stop_session
//!   action over gRPC).
//! - [`image`]: `sessions-conformance image`, does a container image work in a pool?
//! - [`report`]: progress lines, the summary, JUnit XML and JSON.
//! - [`runner`]: runs the selected cases, skips what a target cannot do, cleans up.
//! - [`cli`]: the command line.

pub mod case;
pub mod cli;
pub mod deviations;
pub mod emulator;
pub mod http;
pub mod image;
pub mod normalise;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod suites;
pub mod target;
pub mod terraform;

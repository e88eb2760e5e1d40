//! The one integration-test binary of `sessions-emulator`: the emulator in-process on
//! `127.0.0.1:0` (fake backend) and the built binary as a child process. Tests whose names
//! start with `real_` run the binary, the Python SDK or VMs and run one at a time (see
//! `.config/nextest.toml`).
//!
//! - [`support`]: the helpers every module shares.
//! - ARM and identity: [`foundation_arm`], [`foundation_auth`], [`foundation_diagnostics`],
//!   [`foundation_props`], [`session_pools`], [`session_pools_props`],
//!   [`session_pools_versions`], [`pool_arm`], [`deletes`].
//! - data plane: [`dataplane_proxy`], [`origins`], [`mcp`].
//! - real sessions through ARM (QEMU): [`sessions_real`] (two containers, managed identity,
//!   MCP commands).
//! - observability: [`monitor_logs`], [`monitor_query`], [`monitor_metrics`].
//! - the binary: [`foundation_process`], [`session_pools_restart`], [`sdk_python`], [`sdk_js`],
//!   [`image_pack`].
//! - limits at the edge: [`edge`]; hostile input on every route and forged tokens:
//!   [`attack_props`]; churn and crashes: [`leaks`], [`crash`]; secrets at rest
//!   and in logs, a full disk: [`secrets`].
//! - per-instance state: [`isolation`]; microVM sessions isolated from the host and each
//!   other: [`isolation_vm`]; module layering: [`layers`].

mod support;

mod attack_props;
mod crash;
mod dataplane_proxy;
mod deletes;
mod edge;
mod foundation_arm;
mod foundation_auth;
mod foundation_diagnostics;
mod foundation_process;
mod foundation_props;
mod image_pack;
mod isolation;
mod isolation_vm;
mod layers;
mod leaks;
mod mcp;
mod monitor_cli;
mod monitor_console;
mod monitor_logs;
mod monitor_metrics;
mod monitor_query;
mod origins;
mod pool_arm;
mod sdk_js;
mod sdk_python;
mod secrets;
mod session_pools;
mod session_pools_props;
mod session_pools_restart;
mod session_pools_versions;
mod sessions_real;

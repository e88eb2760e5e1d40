//! Session backends: [`Backend`] (the contract the pool manager uses), the in-process
//! [`fake`] backend, and the [`qemu`] microVM backend.
//!
//! # Layout
//!
//! - [`backend`]: `trait Backend`, [`SessionSpec`], [`Session`], [`LogLine`], [`ExitStatus`].
//! - [`resources`]: cpu/memory parsing and their mapping to vCPUs and MiB.
//! - [`error`]: the one error type of this layer, [`BackendError`].
//! - [`sample`]: the sample session image built by hand (VM tests, benchmarks).
//! - [`qemu`]: QEMU microVM sessions (boot media, accelerator, templates, agent protocol).
//! - [`fake`]: each session is a tokio HTTP server on 127.0.0.1:0 behaving like the sample image.

pub mod backend;
pub mod error;
pub mod fake;
pub mod qemu;
pub mod resources;
pub mod sample;

pub use backend::{
    Backend, ContainerSpec, ExecOutput, ExitStatus, IdentityAnswer, IdentityBinding, IdentityQuery,
    LogLine, LogStream, RunState, Session, SessionControl, SessionInfo, SessionSpec, SidecarSpec,
    TokenSource,
};
pub use error::{BackendError, Result};
pub use resources::Resources;

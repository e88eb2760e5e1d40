//! The one integration-test binary of `sessions-runtime`: the runtime driven through its own
//! API (no HTTP edge). Tests whose names start with `real_` use QEMU, a registry or the sample
//! image and run one at a time (see `.config/nextest.toml`).
//!
//! - [`support`]: the helpers every module shares.
//! - image store: [`image_load`], [`image_unpack_prop`], [`image_archive_props`] (changed
//!   image sources never panic or hang), [`image_registry`],
//!   [`image_registry_bearer`].
//! - session backends: [`vm_fake`], [`vm_qemu`].
//! - log store: [`logstore`] (routing, pushdown equivalence, caps, reopen).
//! - pool manager: [`pool_manager`] (fake backend, manual clock), [`pool_real`] (qemu).

mod support;

mod image_archive_props;
mod image_load;
mod image_registry;
mod image_registry_bearer;
mod image_unpack_prop;
mod logstore;
mod pool_manager;
mod pool_real;
mod vm_fake;
mod vm_qemu;

//! Image store: OCI layout, docker-save and OCI archive tars, registry pulls, all into a
//! content-addressed cache; hands the VM layer a [`PreparedImage`].
//!
//! Entry point: [`ImageStore::open`]`(data_dir)` then [`ImageStore::lookup`] (cache only) or
//! [`ImageStore::resolve`] (cache, else pull).
//!
//! - [`reference`]: parsing `registry/repo:tag@digest`.
//! - [`digest`]: `sha256:` digests and hashing streams.
//! - [`spec`]: the JSON documents (index, manifest, config, docker `manifest.json`).
//! - [`store`]: blobs, the reference index, unpacked rootfs directories.
//! - [`load`]: docker-save tars, OCI layouts and OCI archives from disk.
//! - [`platform`]: picking linux/amd64 from a multi-platform index.
//! - [`unpack`]: applying layers safely (whiteouts, escapes refused).
//! - [`write`]: building images and writing layouts/tars (sample image, tests).
//! - [`sample`]: the sample session image carried by this build, seeded into fresh stores.
//! - [`auth`]: registry credentials and `WWW-Authenticate` challenges.
//! - [`registry`]: OCI distribution client: pull and push.
//! - [`progress`]: terminal progress for loads and pulls.
//! - `resolve`: [`ImageStore::resolve`] with its [`PullPolicy`].
//! - `prepared`: the [`PreparedImage`] hand-off type.
//!
//! Safety: every blob is verified against its digest (and each layer's uncompressed tar against
//! the config's `diff_id`); layers never write outside the rootfs (see [`unpack`]); the store
//! is written by temp-file-then-rename so readers and crashes never see half a file.

pub mod auth;
pub mod digest;
pub mod error;
pub mod load;
pub mod platform;
mod prepared;
pub mod progress;
pub mod reference;
pub mod registry;
mod resolve;
pub mod sample;
pub mod spec;
pub mod store;
pub mod unpack;
pub mod write;

pub use auth::RegistryCredentials;
pub use digest::Digest;
pub use error::ImageError;
pub use load::LoadedImage;
pub use prepared::{ImageConfig, PreparedImage};
pub use reference::Reference;
pub use registry::RegistryOptions;
pub use resolve::PullPolicy;
pub use store::{ImageStore, ImageSummary};

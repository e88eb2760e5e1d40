//! The backend and image source pairs a [`super::PoolManager`] runs on: in-process fake
//! sessions with placeholder images, or QEMU microVMs (started on first use) fed by the image
//! store in a directory.

use std::path::PathBuf;
use std::sync::Arc;

use super::images::{ImageSource, PlaceholderImages, StoreImages};
use super::lazy_qemu::LazyQemu;
use crate::image::{ImageError, ImageStore, RegistryOptions};
use crate::vm::fake::{FakeBackend, FakeOptions};
use crate::vm::Backend;

/// A backend and the image source that feeds it.
#[derive(Clone)]
pub struct BackendParts {
    /// Runs sessions.
    pub backend: Arc<dyn Backend>,
    /// Resolves the images sessions boot from.
    pub images: Arc<dyn ImageSource>,
}

impl std::fmt::Debug for BackendParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendParts")
            .field("backend", &self.backend.kind())
            .field("images", &self.images)
            .finish()
    }
}

/// The fake backend with placeholder images (no VMs, no image store).
pub fn fake() -> BackendParts {
    BackendParts {
        backend: FakeBackend::arc(FakeOptions::default()),
        images: Arc::new(PlaceholderImages),
    }
}

/// The qemu backend (started on first use, keeping its VM state under `dir/vm`) with the image
/// store of `dir`: cache first, then registry pulls.
pub fn qemu(dir: PathBuf) -> Result<BackendParts, ImageError> {
    let store = ImageStore::open(&dir)?;
    Ok(BackendParts {
        backend: Arc::new(LazyQemu::new(dir)),
        images: Arc::new(StoreImages::new(store, RegistryOptions::default())),
    })
}

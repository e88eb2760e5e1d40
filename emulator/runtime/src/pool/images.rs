//! How the pool manager turns a pool's image reference into a [`PreparedImage`].
//!
//! - [`PlaceholderImages`] (fake backend): no image store; every reference "resolves" to a
//!   descriptor without a rootfs, because fake sessions run in-process.
//! - [`StoreImages`] (qemu backend): the image store's cache first, then a registry pull with the
//!   pool's `registryCredentials` (password from the pool's secrets).

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};

use super::spec::RegistryAuth;
use crate::image::{ImageStore, PreparedImage, PullPolicy, RegistryCredentials, RegistryOptions};

/// Resolves image references for session boots.
#[async_trait]
pub trait ImageSource: Send + Sync + std::fmt::Debug {
    /// The prepared image for `reference`. `Err` is a one-line message for the pool's
    /// provisioning error and pool events (e.g. "image ... not found in the registry").
    async fn resolve(
        &self,
        reference: &str,
        registry: Option<&RegistryAuth>,
    ) -> Result<PreparedImage, String>;
}

/// Image descriptors without content, for the fake backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlaceholderImages;

#[async_trait]
impl ImageSource for PlaceholderImages {
    async fn resolve(
        &self,
        reference: &str,
        _registry: Option<&RegistryAuth>,
    ) -> Result<PreparedImage, String> {
        if reference.trim().is_empty() {
            return Err("the container image reference is empty".into());
        }
        let digest = hex::encode(Sha256::digest(reference.as_bytes()));
        Ok(PreparedImage {
            reference: reference.to_string(),
            digest: format!("sha256:{digest}"),
            rootfs: PathBuf::new(),
            rootfs_bytes: 0,
            config: Default::default(),
        })
    }
}

/// The image store: cache first, then a registry pull.
#[derive(Debug, Clone)]
pub struct StoreImages {
    store: ImageStore,
    options: RegistryOptions,
}

impl StoreImages {
    /// Resolves through `store`, pulling with `options` when an image is missing.
    pub fn new(store: ImageStore, options: RegistryOptions) -> Self {
        Self { store, options }
    }
}

#[async_trait]
impl ImageSource for StoreImages {
    async fn resolve(
        &self,
        reference: &str,
        registry: Option<&RegistryAuth>,
    ) -> Result<PreparedImage, String> {
        let creds = registry.map(|r| RegistryCredentials {
            server: r.server.clone(),
            username: r.username.clone(),
            password: r.password.clone(),
        });
        self.store
            .resolve(
                reference,
                creds.as_ref(),
                PullPolicy::IfMissing,
                &self.options,
            )
            .await
            .map_err(|e| format!("image {reference} could not be resolved: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn placeholder_is_stable_and_rejects_empty() {
        let a = PlaceholderImages.resolve("x/y:1", None).await.expect("ok");
        let b = PlaceholderImages.resolve("x/y:1", None).await.expect("ok");
        assert_eq!(a.digest, b.digest);
        assert!(PlaceholderImages.resolve(" ", None).await.is_err());
    }
}

//! Resolving a pool's image reference to a [`PreparedImage`]: the local store first, then
//! (when allowed) a pull from the registry.

use super::auth::RegistryCredentials;
use super::error::{ImageError, Result};
use super::prepared::PreparedImage;
use super::progress::Progress;
use super::reference::Reference;
use super::registry::{self, RegistryOptions};
use super::store::ImageStore;

/// Whether [`ImageStore::resolve`] may go to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    /// Only the local store.
    Never,
    /// Pull when the reference is not in the store.
    IfMissing,
}

impl ImageStore {
    /// The image for `reference`, from the store or pulled with `creds` (used only when their
    /// server matches the reference's registry). Unpacking runs on a blocking thread.
    pub async fn resolve(
        &self,
        reference: &str,
        creds: Option<&RegistryCredentials>,
        policy: PullPolicy,
        opts: &RegistryOptions,
    ) -> Result<PreparedImage> {
        let r = Reference::parse(reference)?;
        let store = self.clone();
        let key = r.to_string();
        let rr = r.clone();
        let found = tokio::task::spawn_blocking(move || -> Result<Option<PreparedImage>> {
            let Some(d) = store.lookup_digest(&rr)? else {
                return Ok(None);
            };
            match store.prepare(&key, &d) {
                Ok(p) => Ok(Some(p)),
                // The reference was re-pointed (and the old image deleted) meanwhile: retry once.
                Err(e) => match store.lookup_digest(&rr)? {
                    Some(now) if now != d => Ok(Some(store.prepare(&key, &now)?)),
                    _ => Err(e),
                },
            }
        })
        .await
        .map_err(|e| {
            ImageError::invalid(reference, format!("image preparation task failed: {e}"))
        })??;
        if let Some(p) = found {
            return Ok(p);
        }
        if policy == PullPolicy::Never {
            return Err(ImageError::NotFound(r.to_string()));
        }
        let mut progress = Progress::auto(format!("pulling {r}"));
        let digest = registry::pull(self, &r, creds, opts, &mut progress).await?;
        progress.done("pulled");
        let store = self.clone();
        let key = r.to_string();
        tokio::task::spawn_blocking(move || store.prepare(&key, &digest))
            .await
            .map_err(|e| {
                ImageError::invalid(reference, format!("image preparation task failed: {e}"))
            })?
    }
}

//! How the pool manager turns a pool's image reference into a [`PreparedImage`].
//!
//! - [`PlaceholderImages`] (fake backend): no image store; every reference "resolves" to a
//!   descriptor without a rootfs, because fake sessions run in-process.
//! - [`StoreImages`] (qemu backend): the image store's cache first, then a registry pull with the
//!   pool's `registryCredentials`: the password from the pool's secrets, or, with a managed
//!   identity, a fresh token of that identity as the password of [`TOKEN_USERNAME`] (how a
//!   client logs in to Azure Container Registry with an Entra token).

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};

use super::spec::{RegistryAuth, REGISTRY_TOKEN_RESOURCE, TOKEN_USERNAME};
use crate::image::{ImageStore, PreparedImage, PullPolicy, RegistryCredentials, RegistryOptions};
use crate::vm::IdentityQuery;

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
        let creds = match registry {
            Some(r) => Some(credentials(r).await?),
            None => None,
        };
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

/// The credentials of one pull: the pool's user and password, or a fresh token of its
/// registry identity.
pub async fn credentials(r: &RegistryAuth) -> Result<RegistryCredentials, String> {
    let Some(identity) = &r.identity else {
        return Ok(RegistryCredentials {
            server: r.server.clone(),
            username: r.username.clone(),
            password: r.password.clone(),
        });
    };
    let answer = identity
        .source
        .token(IdentityQuery {
            resource: REGISTRY_TOKEN_RESOURCE.into(),
            ..IdentityQuery::default()
        })
        .await;
    match answer.body.get("access_token").and_then(|t| t.as_str()) {
        Some(token) if answer.status == 200 => Ok(RegistryCredentials {
            server: r.server.clone(),
            username: TOKEN_USERNAME.into(),
            password: token.to_string(),
        }),
        _ => Err(format!(
            "registryCredentials.identity could not get a token for registry {}: {}",
            r.server, answer.body
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Tokens(u16);

    #[async_trait]
    impl crate::vm::TokenSource for Tokens {
        async fn token(&self, q: IdentityQuery) -> crate::vm::IdentityAnswer {
            crate::vm::IdentityAnswer {
                status: self.0,
                body: if self.0 == 200 {
                    serde_json::json!({"access_token": format!("tok-for-{}", q.resource)})
                } else {
                    serde_json::json!({"error": "invalid_request"})
                },
            }
        }
    }

    fn auth(identity: Option<u16>) -> RegistryAuth {
        RegistryAuth {
            server: "r.example".into(),
            username: "u".into(),
            password: "p".into(),
            identity: identity.map(|status| super::super::spec::SessionIdentity {
                fingerprint: "f".into(),
                source: std::sync::Arc::new(Tokens(status)),
            }),
        }
    }

    #[tokio::test]
    async fn pulls_log_in_with_the_password_or_the_identity_token() {
        let c = credentials(&auth(None)).await.expect("password");
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        let c = credentials(&auth(Some(200))).await.expect("token");
        assert_eq!(c.username, TOKEN_USERNAME);
        assert_eq!(c.password, format!("tok-for-{REGISTRY_TOKEN_RESOURCE}"));
        let e = credentials(&auth(Some(400))).await.unwrap_err();
        assert!(e.contains("registryCredentials.identity"), "{e}");
    }

    #[tokio::test]
    async fn placeholder_is_stable_and_rejects_empty() {
        let a = PlaceholderImages.resolve("x/y:1", None).await.expect("ok");
        let b = PlaceholderImages.resolve("x/y:1", None).await.expect("ok");
        assert_eq!(a.digest, b.digest);
        assert!(PlaceholderImages.resolve(" ", None).await.is_err());
    }
}

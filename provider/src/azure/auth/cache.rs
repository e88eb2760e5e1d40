//! Token caching: one token per scope, reused until shortly before it expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{AccessToken, AuthError, TokenSource};

/// Tokens are refreshed when they have less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Wraps a [`TokenSource`] and caches its tokens per scope.
///
/// Concurrent callers for the same scope wait for one refresh instead of each fetching a token.
pub struct CachedTokenSource {
    inner: Arc<dyn TokenSource>,
    margin: Duration,
    cache: Mutex<HashMap<String, AccessToken>>,
}

impl CachedTokenSource {
    /// Caches `inner`'s tokens with the default [`REFRESH_MARGIN`].
    pub fn new(inner: Arc<dyn TokenSource>) -> Self {
        Self::with_margin(inner, REFRESH_MARGIN)
    }

    /// Caches `inner`'s tokens, refreshing when less than `margin` is left.
    pub fn with_margin(inner: Arc<dyn TokenSource>, margin: Duration) -> Self {
        CachedTokenSource {
            inner,
            margin,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl TokenSource for CachedTokenSource {
    async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.get(scope) {
            if t.expires_at > SystemTime::now() + self.margin {
                return Ok(t.clone());
            }
        }
        let fresh = self.inner.token(scope).await?;
        cache.insert(scope.to_string(), fresh.clone());
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn token(&self, scope: &str) -> Result<AccessToken, AuthError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::valid_for(
                format!("{scope}-{n}"),
                self.lifetime,
            ))
        }
    }

    #[tokio::test]
    async fn reuses_token_until_near_expiry() {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: Duration::from_secs(3600),
        });
        let cache = CachedTokenSource::new(inner.clone());
        let a = cache.token("s1").await.unwrap();
        let b = cache.token("s1").await.unwrap();
        assert_eq!(a.secret, b.secret);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        let c = cache.token("s2").await.unwrap();
        assert_ne!(a.secret, c.secret);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refreshes_token_inside_margin() {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: Duration::from_secs(60),
        });
        let cache = CachedTokenSource::new(inner.clone());
        cache.token("s").await.unwrap();
        cache.token("s").await.unwrap();
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            2,
            "60 s tokens are inside the 300 s margin"
        );
    }
}

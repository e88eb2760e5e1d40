//! Pool origins: every session pool's `poolManagementEndpoint` is an origin of its own, as in
//! Azure (where each pool has its own host): a port of its own on the emulator's listen
//! address, `{scheme}://{host}:{port}`, whose every path belongs to the pool. A client that
//! resolves an absolute path (`/api/run`) against the endpoint stays inside the pool. The
//! path-prefixed form `{endpoint}/pools/{subscriptionId}/{resourceGroup}/{pool}` on the main
//! listener stays an alias.
//!
//! [`Origins`] keeps one listener per pool. The server installs a [`Spawner`] when it starts
//! ([`crate::server::run`]); each opened listener is served by the same serve loop as the main
//! listener (plain HTTP or TLS, same edge rules) until the pool is deleted or the emulator
//! stops. A pool's port is kept with the pool and asked for again after a restart; when it is
//! taken by then, the pool gets a new port (its endpoint changes, as it would when a pool is
//! re-created in Azure). Without a spawner (a router used without [`crate::server::run`]) no
//! listener is opened and endpoints stay in the alias form.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use sessions_runtime::id::ResourceId;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Resolves when the listener must stop serving (pool deleted or emulator stopping).
pub type Stop = watch::Receiver<bool>;

/// Serves `listener` as the origin of pool `pool` until `stop` turns true.
pub type Spawner = Arc<dyn Fn(TcpListener, ResourceId, Stop) + Send + Sync>;

struct Open {
    port: u16,
    stop: watch::Sender<bool>,
}

/// The origins of one emulator's pools.
pub struct Origins {
    ip: Mutex<IpAddr>,
    url_host: String,
    scheme: &'static str,
    spawner: Mutex<Option<Spawner>>,
    open: Mutex<HashMap<String, Open>>,
}

impl std::fmt::Debug for Origins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origins")
            .field("ip", &*self.ip.lock())
            .field("open", &self.open.lock().len())
            .finish()
    }
}

/// The host part of an endpoint URL (`https://127.0.0.1:7443` -> `127.0.0.1`, `[::1]` kept
/// in brackets).
fn endpoint_host(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority.to_string(), |(h, _)| format!("{h}]"));
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_string()
}

impl Origins {
    /// Origins with URLs on the endpoint's host and scheme, listening on the endpoint's host
    /// (loopback when that is a name) until [`Self::install`] names the listen address.
    pub fn new(endpoint: &str) -> Self {
        let url_host = endpoint_host(endpoint);
        let ip = url_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Self {
            ip: Mutex::new(ip),
            url_host,
            scheme: if endpoint.starts_with("https://") {
                "https"
            } else {
                "http"
            },
            spawner: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Installs the server's spawner and the main listener's address (pool listeners bind the
    /// same address); pools opened from now on get listeners.
    pub fn install(&self, spawner: Spawner, listen_ip: IpAddr) {
        *self.ip.lock() = listen_ip;
        *self.spawner.lock() = Some(spawner);
    }

    /// The origin URL of `pool`, when it has a listener.
    pub fn url(&self, pool: &ResourceId) -> Option<String> {
        let open = self.open.lock();
        let o = open.get(pool.key())?;
        Some(format!("{}://{}:{}", self.scheme, self.url_host, o.port))
    }

    /// The port of `pool`'s origin, when it has a listener.
    pub fn port(&self, pool: &ResourceId) -> Option<u16> {
        self.open.lock().get(pool.key()).map(|o| o.port)
    }

    /// Opens (or keeps) the listener of `pool`, on `preferred` when that port is free, and
    /// returns its port. `None` when no server is installed or no port could be bound (the
    /// endpoint then stays in the alias form).
    pub fn open(&self, pool: &ResourceId, preferred: Option<u16>) -> Option<u16> {
        if let Some(port) = self.port(pool) {
            return Some(port);
        }
        let spawner = self.spawner.lock().clone()?;
        let ip = *self.ip.lock();
        let bind = |port: u16| -> std::io::Result<TcpListener> {
            let l = std::net::TcpListener::bind(SocketAddr::new(ip, port))?;
            l.set_nonblocking(true)?;
            TcpListener::from_std(l)
        };
        let listener = match preferred.filter(|p| *p != 0).map(bind) {
            Some(Ok(l)) => l,
            other => {
                if let (Some(Err(e)), Some(p)) = (other, preferred) {
                    tracing::info!(pool = %pool, port = p, error = %e, "the pool's former port is taken; it gets a new one");
                }
                match bind(0) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(pool = %pool, error = %e, "cannot open a listener for the pool; its endpoint stays in the path form");
                        return None;
                    }
                }
            }
        };
        let port = listener.local_addr().ok()?.port();
        let (stop_tx, stop_rx) = watch::channel(false);
        self.open.lock().insert(
            pool.key().to_string(),
            Open {
                port,
                stop: stop_tx,
            },
        );
        spawner(listener, pool.clone(), stop_rx);
        Some(port)
    }

    /// Stops serving `pool`'s origin (pool deleted).
    pub fn close(&self, pool: &ResourceId) {
        if let Some(o) = self.open.lock().remove(pool.key()) {
            let _ = o.stop.send(true);
        }
    }

    /// Stops every origin (emulator shutdown).
    pub fn close_all(&self) {
        for (_, o) in self.open.lock().drain() {
            let _ = o.stop.send(true);
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(mut stop: Stop) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_endpoints() {
        assert_eq!(endpoint_host("https://127.0.0.1:7443"), "127.0.0.1");
        assert_eq!(endpoint_host("http://[::1]:8/x"), "[::1]");
        assert_eq!(endpoint_host("https://localhost:1"), "localhost");
        let o = Origins::new("http://localhost:1");
        assert_eq!(*o.ip.lock(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        let o = Origins::new("https://[::1]:1");
        assert_eq!(*o.ip.lock(), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(o.scheme, "https");
    }

    #[tokio::test]
    async fn opens_keeps_and_closes_a_listener_per_pool() {
        let o = Origins::new("http://127.0.0.1:1");
        let pool = ResourceId::resource("s", "rg", "Microsoft.App/sessionPools", "p");
        assert_eq!(o.open(&pool, None), None, "no server installed");
        let served = Arc::new(Mutex::new(Vec::new()));
        let seen = served.clone();
        o.install(
            Arc::new(move |l: TcpListener, id: ResourceId, stop: Stop| {
                seen.lock().push((l.local_addr().unwrap().port(), id));
                tokio::spawn(async move {
                    stopped(stop).await;
                    drop(l);
                });
            }),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        );
        let port = o.open(&pool, None).expect("port");
        assert_eq!(o.open(&pool, None), Some(port), "kept");
        assert_eq!(o.url(&pool), Some(format!("http://127.0.0.1:{port}")));
        assert_eq!(served.lock().len(), 1);
        o.close(&pool);
        assert_eq!(o.url(&pool), None);
        // The port is free again once the listener is dropped: asking for it works.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(o.open(&pool, Some(port)), Some(port));
        o.close_all();
    }
}

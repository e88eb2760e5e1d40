//! In-process test server for this crate's tests and other crates' tests: an in-memory
//! emulator (fake backend, plain HTTP) on `127.0.0.1:0`, a `reqwest` client, and tokens.
//!
//! ```no_run
//! # async fn demo() {
//! let srv = sessions_emulator::testing::TestServer::start().await;
//! let resp = srv.arm(reqwest::Method::GET, "/subscriptions?api-version=2022-12-01")
//!     .send().await.unwrap();
//! assert_eq!(resp.status(), 200);
//! # }
//! ```

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::defaults;
use crate::state::AppState;

/// A running in-process emulator. Stops when dropped.
pub struct TestServer {
    /// The emulator state (store, tokens, clock) for direct inspection.
    pub state: AppState,
    /// `http://127.0.0.1:{port}`.
    pub endpoint: String,
    /// A plain client (no default auth header).
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts an in-memory emulator with the system clock.
    pub async fn start() -> Self {
        Self::start_with(|_| {}, None).await
    }

    /// Starts an in-memory emulator after `configure` adjusts the config, optionally with an
    /// injected clock. Panics if the loopback listener cannot be bound (test helper).
    pub async fn start_with(
        configure: impl FnOnce(&mut Config),
        clock: Option<SharedClock>,
    ) -> Self {
        #[allow(clippy::expect_used)]
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        #[allow(clippy::expect_used)]
        let addr = listener.local_addr().expect("local addr");
        let endpoint = format!("http://{addr}");
        let mut config = Config::in_memory(&endpoint);
        configure(&mut config);
        let clock = clock.unwrap_or_else(|| Arc::new(crate::clock::SystemClock));
        #[allow(clippy::expect_used)]
        let state = AppState::with_clock(config, clock).expect("in-memory state");
        let (tx, rx) = oneshot::channel();
        let s = state.clone();
        let handle = tokio::spawn(async move {
            let _ = crate::server::run(listener, s, None, async {
                let _ = rx.await;
            })
            .await;
        });
        TestServer {
            state,
            endpoint,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// A valid token for `audience` from the seeded client.
    pub fn token_for(&self, audience: &str) -> String {
        let tokens = self.state.tokens();
        match tokens.client(defaults::CLIENT_ID) {
            Some(c) => tokens.issue(c, audience, self.state.now()),
            None => String::new(),
        }
    }

    /// A valid ARM token (`https://management.azure.com/`).
    pub fn arm_token(&self) -> String {
        self.token_for(defaults::ARM_AUDIENCE)
    }

    /// A valid data-plane token (`https://dynamicsessions.io`).
    pub fn dataplane_token(&self) -> String {
        self.token_for(defaults::DATAPLANE_AUDIENCE)
    }

    /// `{endpoint}{path}` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    /// A request to `path` carrying a valid ARM token.
    pub fn arm(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.arm_token())
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

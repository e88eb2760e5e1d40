//! The in-process emulator serving HTTPS with its own CA (as `sessions-emulator serve` does by
//! default), for the tests of the credential flows that need an `https://` authority host.

use std::path::PathBuf;
use std::sync::Arc;

use sessions_emulator::clock::SystemClock;
use sessions_emulator::config::Config;
use sessions_emulator::defaults;
use sessions_emulator::state::AppState;

/// A running HTTPS emulator (in memory, fake backend). Stops when dropped.
pub struct HttpsEmulator {
    /// `https://127.0.0.1:{port}`.
    pub endpoint: String,
    /// The CA certificate (PEM) clients must trust.
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl HttpsEmulator {
    /// Starts it on `127.0.0.1:0` with a fresh CA in a temp dir.
    pub async fn start() -> HttpsEmulator {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let mut config = Config::in_memory(&endpoint);
        config.tls = true;
        let state = AppState::with_clock(config, Arc::new(SystemClock)).expect("state");
        let tls = sessions_emulator::tls::setup(dir.path(), None).expect("TLS setup");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = sessions_emulator::server::run(
                listener,
                state,
                Some(tls.server_config.clone()),
                async {
                    let _ = rx.await;
                },
            )
            .await;
        });
        HttpsEmulator {
            endpoint,
            ca_file: dir.path().join("ca.pem"),
            _dir: dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// The `ARM_*` variables `sessions-emulator env` prints for it (with the CA).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "ARM_SUBSCRIPTION_ID".into(),
                defaults::SUBSCRIPTION_ID.into(),
            ),
            ("ARM_TENANT_ID".into(), defaults::TENANT_ID.into()),
            ("ARM_CLIENT_ID".into(), defaults::CLIENT_ID.into()),
            ("ARM_CLIENT_SECRET".into(), defaults::CLIENT_SECRET.into()),
            ("ARM_ENDPOINT".into(), self.endpoint.clone()),
            ("ARM_AUTHORITY_HOST".into(), self.endpoint.clone()),
            (
                "ARM_CA_CERTIFICATE_FILE".into(),
                self.ca_file.display().to_string(),
            ),
        ]
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
        }
    }
}

impl Drop for HttpsEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

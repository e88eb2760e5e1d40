//! Serving the provider: the go-plugin handshake Terraform expects ([`serve_plugin`]), the
//! `--debug` mode that prints `TF_REATTACH_PROVIDERS` ([`serve_debug`]), and an in-process
//! reattach server for tests and the acceptance harness ([`serve_reattach`]).
//!
//! Handshake (go-plugin): check `TF_PLUGIN_MAGIC_COOKIE`; pick protocol 6 from
//! `PLUGIN_PROTOCOL_VERSIONS`; listen on a unix socket in a private directory under
//! `PLUGIN_UNIX_SOCKET_DIR` (or `$TMPDIR`); unless `TF_DISABLE_PLUGIN_TLS` is set, serve TLS
//! with a fresh self-signed certificate and accept only the client certificate from
//! `PLUGIN_CLIENT_CERT`; then print `1|6|unix|PATH|grpc|CERT` on stdout. SIGINT is ignored
//! (Terraform sends StopProvider instead); `GRPCController.Shutdown` or SIGTERM stop the
//! server; the socket and its directory are removed on exit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tokio_util::sync::CancellationToken;

use super::goplugin::GoPluginServices;
use super::proto::go_plugin as gp;
use super::provider::Provider;
use super::server::{GrpcProvider, MAX_MESSAGE_SIZE};
use super::tls::{self, ServerCert, TlsError};

/// Environment variable carrying the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Terraform's magic cookie value.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The provider address used as the reattach key.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/azuresessions/azuresessions";
/// The only protocol version we speak.
pub const PROTOCOL_VERSION: u32 = 6;

/// Serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Started by hand rather than by Terraform.
    #[error("{}", not_a_command_message())]
    MissingCookie,
    /// Terraform offered no protocol we speak.
    #[error("Terraform offered plugin protocol versions {0:?}, but this provider speaks only version 6 (Terraform 1.0 or later). Upgrade Terraform.")]
    UnsupportedProtocol(String),
    /// A filesystem or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The gRPC server failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// What a user who runs the binary by hand sees.
pub fn not_a_command_message() -> String {
    format!(
        "This binary is a plugin for Terraform (provider {PROVIDER_ADDRESS}).\n\
         It is not meant to be executed directly: Terraform starts it.\n\n\
         To use it, install it where Terraform finds providers, for example with a\n\
         dev_overrides entry in your Terraform CLI configuration:\n\n\
         \x20 provider_installation {{\n\
         \x20   dev_overrides {{ \"{PROVIDER_ADDRESS}\" = \"/directory/of/this/binary\" }}\n\
         \x20   direct {{}}\n\
         \x20 }}\n\n\
         To debug it, run it with --debug and export the TF_REATTACH_PROVIDERS line it prints."
    )
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// A private (0700) directory holding the plugin socket; both are removed on drop.
#[derive(Debug)]
pub struct SocketDir {
    dir: PathBuf,
    socket: PathBuf,
}

impl SocketDir {
    /// Creates `tf-azuresessions-XXXXXXXX` under `PLUGIN_UNIX_SOCKET_DIR`, else the temp dir.
    pub fn create() -> Result<Self, ServeError> {
        let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Self::create_in(&base)
    }

    /// Creates the directory under `base`.
    pub fn create_in(base: &Path) -> Result<Self, ServeError> {
        use std::os::unix::fs::DirBuilderExt;
        for _ in 0..16 {
            let dir = base.join(format!("tf-azuresessions-{:08x}", rand::random::<u32>()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    let socket = dir.join("plugin.sock");
                    return Ok(Self { dir, socket });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(io(format!(
                        "cannot create the plugin socket directory in {} (set PLUGIN_UNIX_SOCKET_DIR or TMPDIR to a writable directory)",
                        base.display()
                    ))(e))
                }
            }
        }
        Err(ServeError::Io {
            what: format!(
                "cannot find a free socket directory name in {}",
                base.display()
            ),
            source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn bind(&self) -> Result<UnixListener, ServeError> {
        UnixListener::bind(&self.socket)
            .map_err(io(format!("cannot listen on {}", self.socket.display())))
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The gRPC router with the provider and go-plugin services.
pub fn router(
    provider: Arc<dyn Provider>,
    shutdown: CancellationToken,
) -> tonic::transport::server::Router {
    let gp = GoPluginServices::new(shutdown);
    tonic::transport::Server::builder()
        .add_service(GrpcProvider::new(provider).into_service())
        .add_service(
            gp::grpc_controller_server::GrpcControllerServer::new(gp.clone())
                .max_decoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(gp.clone()))
        .add_service(gp::grpc_broker_server::GrpcBrokerServer::new(gp))
}

/// Checks `PLUGIN_PROTOCOL_VERSIONS` (comma-separated); missing means "whatever you speak".
pub fn negotiate(versions: Option<&str>) -> Result<u32, ServeError> {
    match versions {
        None => Ok(PROTOCOL_VERSION),
        Some(v) if v.trim().is_empty() => Ok(PROTOCOL_VERSION),
        Some(v) => {
            let six = PROTOCOL_VERSION.to_string();
            if v.split(',').any(|x| x.trim() == six) {
                Ok(PROTOCOL_VERSION)
            } else {
                Err(ServeError::UnsupportedProtocol(v.to_string()))
            }
        }
    }
}

/// The handshake line: `1|6|unix|PATH|grpc|CERT`.
pub fn handshake_line(socket: &Path, cert_b64: &str) -> String {
    format!(
        "1|{PROTOCOL_VERSION}|unix|{}|grpc|{cert_b64}",
        socket.display()
    )
}

/// Serves as Terraform's child process (the normal mode), until Shutdown or SIGTERM.
pub async fn serve_plugin(provider: Arc<dyn Provider>) -> Result<(), ServeError> {
    if std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::MissingCookie);
    }
    negotiate(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())?;
    let dir = SocketDir::create()?;
    let listener = dir.bind()?;
    let shutdown = CancellationToken::new();
    ignore_sigint();
    stop_on_sigterm(shutdown.clone());

    let tls_off = std::env::var_os("TF_DISABLE_PLUGIN_TLS").is_some_and(|v| !v.is_empty());
    let client_pem = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|s| !s.is_empty());
    let router = router(provider, shutdown.clone());
    match (tls_off, client_pem) {
        (false, Some(pem)) => {
            let client = tls::client_cert_from_pem(&pem)?;
            let cert = ServerCert::generate()?;
            let cfg = tls::server_config(&cert, client)?;
            announce(&handshake_line(dir.socket(), &cert.handshake_b64()))?;
            let incoming = tls_incoming(listener, cfg, shutdown.clone());
            run(router, incoming, shutdown).await?;
        }
        (tls_off, _) => {
            if !tls_off {
                tracing::warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
            }
            announce(&handshake_line(dir.socket(), ""))?;
            run(router, UnixListenerStream::new(listener), shutdown).await?;
        }
    }
    drop(dir);
    Ok(())
}

/// `--debug`: serves without TLS or cookie, prints the reattach configuration, and runs until
/// Ctrl-C.
pub async fn serve_debug(provider: Arc<dyn Provider>) -> Result<(), ServeError> {
    let dir = SocketDir::create()?;
    let listener = dir.bind()?;
    let shutdown = CancellationToken::new();
    let json = reattach_json(dir.socket(), std::process::id());
    let msg = format!(
        "Provider started in debug mode. To attach Terraform, run in your shell:\n\n\
         \texport TF_REATTACH_PROVIDERS='{json}'\n\n\
         Press Ctrl-C to stop."
    );
    announce(&msg)?;
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
    stop_on_sigterm(shutdown.clone());
    run(
        router(provider, shutdown.clone()),
        UnixListenerStream::new(listener),
        shutdown,
    )
    .await?;
    drop(dir);
    Ok(())
}

/// The `TF_REATTACH_PROVIDERS` JSON for a server on `socket` in process `pid`.
pub fn reattach_json(socket: &Path, pid: u32) -> String {
    serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": {"Network": "unix", "String": socket.display().to_string()},
        }
    })
    .to_string()
}

/// An in-process plaintext server for tests and the acceptance harness.
#[derive(Debug)]
pub struct ReattachHandle {
    /// Value for `TF_REATTACH_PROVIDERS`.
    pub reattach_json: String,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
    dir: SocketDir,
}

impl ReattachHandle {
    /// The unix socket path (connect with `unix:` URIs or a custom connector).
    pub fn socket(&self) -> &Path {
        self.dir.socket()
    }

    /// Stops the server and waits for it (bounded: 5 s), then removes the socket.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for ReattachHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts `provider` on a fresh unix socket (no TLS), returning the reattach JSON.
pub async fn serve_reattach(provider: Arc<dyn Provider>) -> Result<ReattachHandle, ServeError> {
    let dir = SocketDir::create()?;
    let listener = dir.bind()?;
    let shutdown = CancellationToken::new();
    let router = router(provider, shutdown.clone());
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(
                UnixListenerStream::new(listener),
                token.cancelled_owned(),
            )
            .await
    });
    Ok(ReattachHandle {
        reattach_json: reattach_json(dir.socket(), std::process::id()),
        shutdown,
        task: Some(task),
        dir,
    })
}

fn announce(line: &str) -> Result<(), ServeError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(io("cannot write the handshake to stdout"))
}

/// Serves until `shutdown`, then gives in-flight calls 2 s (Terraform kills us after that).
async fn run<S, IO, E>(
    router: tonic::transport::server::Router,
    incoming: S,
    shutdown: CancellationToken,
) -> Result<(), ServeError>
where
    S: futures::Stream<Item = Result<IO, E>> + Send + 'static,
    IO: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + tonic::transport::server::Connected
        + Unpin
        + Send
        + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let token = shutdown.clone();
    let server = router.serve_with_incoming_shutdown(incoming, token.cancelled_owned());
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r.map_err(ServeError::from),
        () = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(Duration::from_secs(2), server).await {
        Ok(r) => r.map_err(ServeError::from),
        Err(_) => {
            tracing::warn!("in-flight calls did not finish within 2 s of shutdown; exiting");
            Ok(())
        }
    }
}

/// Accepts unix connections and completes TLS handshakes concurrently; failed handshakes
/// (e.g. a wrong client certificate) are logged and dropped.
fn tls_incoming(
    listener: UnixListener,
    cfg: rustls::ServerConfig,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<tokio_rustls::server::TlsStream<tokio::net::UnixStream>, std::io::Error>>
{
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                c = listener.accept() => c,
                () = shutdown.cancelled() => break,
            };
            match conn {
                Ok((stream, _)) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(tls) => {
                                let _ = tx.send(Ok(tls)).await;
                            }
                            Err(e) => tracing::warn!("TLS handshake with a client failed: {e}"),
                        }
                    });
                }
                Err(e) => {
                    tracing::error!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

/// Keeps SIGINT from killing us: Terraform forwards Ctrl-C as StopProvider.
fn ignore_sigint() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::interrupt()) {
        Ok(mut s) => {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    tracing::debug!("ignoring SIGINT; Terraform sends StopProvider instead");
                }
            });
        }
        Err(e) => tracing::warn!("cannot install a SIGINT handler: {e}"),
    }
}

fn stop_on_sigterm(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    if let Ok(mut s) = signal(SignalKind::terminate()) {
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                shutdown.cancel();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_only_six() {
        assert_eq!(negotiate(Some("5,6")).unwrap(), 6);
        assert_eq!(negotiate(None).unwrap(), 6);
        let e = negotiate(Some("4,5")).unwrap_err();
        assert!(e.to_string().contains("only version 6"), "{e}");
    }

    #[test]
    fn reattach_json_shape() {
        let j: serde_json::Value =
            serde_json::from_str(&reattach_json(Path::new("/tmp/x.sock"), 42)).unwrap();
        let p = &j[PROVIDER_ADDRESS];
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "unix");
        assert_eq!(p["Addr"]["String"], "/tmp/x.sock");
    }

    #[test]
    fn socket_dir_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir();
        let d = SocketDir::create_in(&base).unwrap();
        let dir = d.socket().parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        drop(d);
        assert!(!dir.exists());
    }
}

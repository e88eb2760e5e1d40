//! HTTPS: a local CA generated once into the data dir (`ca.pem`, `ca-key.pem`), a server
//! certificate for `127.0.0.1`, `::1` and `localhost` (plus the listen host) signed by it at
//! every start, a rustls config with the ring provider, and the TLS accept loop.

use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// CA certificate file name in the data dir.
pub const CA_FILE: &str = "ca.pem";
/// CA private key file name in the data dir.
pub const CA_KEY_FILE: &str = "ca-key.pem";

/// Errors creating the CA or the server certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}. Check the --data-dir permissions")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificate generation failed or the stored CA key is invalid.
    #[error("certificate error: {0}. If {CA_KEY_FILE} is damaged, delete {CA_FILE} and {CA_KEY_FILE} from the data dir to generate a new CA (clients must then trust the new ca.pem)")]
    Cert(#[from] rcgen::Error),
    /// rustls refused the certificate.
    #[error("TLS configuration error: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The CA and a server config ready to serve.
pub struct TlsSetup {
    /// Path of `ca.pem` (for clients and the ready line).
    pub ca_file: PathBuf,
    /// CA certificate PEM.
    pub ca_pem: String,
    /// rustls server configuration.
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Installs the ring crypto provider as the process default (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Sessions Emulator Local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "sessions-emulator");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    Ok(params)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the CA from `dir` (creating it on first use) and issues a fresh server certificate
/// for loopback names plus `extra_host` (the listen address, if not loopback).
pub fn setup(dir: &Path, extra_host: Option<IpAddr>) -> Result<TlsSetup, TlsError> {
    install_crypto_provider();
    let ca_file = dir.join(CA_FILE);
    let key_file = dir.join(CA_KEY_FILE);
    let (ca_key, ca_pem) = if ca_file.exists() && key_file.exists() {
        let key_pem = std::fs::read_to_string(&key_file).map_err(io_err(&key_file))?;
        let ca_pem = std::fs::read_to_string(&ca_file).map_err(io_err(&ca_file))?;
        (KeyPair::from_pem(&key_pem)?, ca_pem)
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        crate::fsutil::write_private(&key_file, key.serialize_pem().as_bytes())
            .map_err(io_err(&key_file))?;
        crate::fsutil::write_atomic(&ca_file, cert.pem().as_bytes(), 0o644)
            .map_err(io_err(&ca_file))?;
        (key, cert.pem())
    };
    let issuer = Issuer::new(ca_params()?, ca_key);

    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "sessions-emulator");
    let mut ips: Vec<IpAddr> = vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
    if let Some(h) = extra_host {
        if !h.is_unspecified() && !ips.contains(&h) {
            ips.push(h);
        }
    }
    params
        .subject_alt_names
        .extend(ips.into_iter().map(SanType::IpAddress));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    let server_key = KeyPair::generate()?;
    let cert = params.signed_by(&server_key, &issuer)?;

    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsSetup {
        ca_file,
        ca_pem,
        server_config: Arc::new(config),
    })
}

/// Accepts TLS connections on `listener` and serves `app` (HTTP/1.1 and HTTP/2) until
/// `shutdown`, then waits for open connections to finish.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            res = listener.accept() => match res {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

//! HTTPS: a local CA generated once into the data dir (`ca.pem`, `ca-key.pem`), a server
//! certificate for `127.0.0.1`, `::1` and `localhost` (plus the listen host) signed by it at
//! every start, and a rustls config with the ring provider (the accept loop is [`crate::edge`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

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
    /// `ca.pem` is not the CA certificate of `ca-key.pem`.
    #[error("{path} is not a usable CA certificate: {reason}. Restore it, or delete {CA_FILE} and {CA_KEY_FILE} from the data dir to generate a new CA (clients must then trust the new ca.pem)")]
    BadCa {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
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

/// Checks that `ca_pem` holds exactly one certificate and that it carries `key`'s public key
/// (so clients that trust it trust the certificates the emulator signs).
fn check_ca(path: &Path, ca_pem: &str, key: &KeyPair) -> Result<(), TlsError> {
    use rustls::pki_types::pem::PemObject;
    let bad = |reason: &str| TlsError::BadCa {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("it is not PEM"))?;
    let [cert] = certs.as_slice() else {
        return Err(bad(if certs.is_empty() {
            "it holds no certificate"
        } else {
            "it holds more than one certificate"
        }));
    };
    let raw = key.public_key_raw();
    if !cert.as_ref().windows(raw.len()).any(|w| w == raw) {
        return Err(bad("it does not belong to ca-key.pem"));
    }
    Ok(())
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
        let key = KeyPair::from_pem(&key_pem)?;
        check_ca(&ca_file, &ca_pem, &key)?;
        (key, ca_pem)
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

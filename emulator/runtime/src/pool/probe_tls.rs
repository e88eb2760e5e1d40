//! TLS for `scheme: HTTPS` probes, the way the kubelet does it: a real TLS handshake (TLS 1.2
//! or 1.3) that accepts whatever certificate the container presents. The certificate chain,
//! its names and its validity dates are not checked; the handshake signature is still verified
//! against the presented certificate's key, so a peer that does not hold that key fails.
//!
//! SNI: the probe's `host` when it is a DNS name; none otherwise (the kubelet dials the pod IP).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts any server certificate; verifies handshake signatures with the ring provider.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The shared client configuration (built once).
fn config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("the TLS client for HTTPS probes could not be set up: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
                .with_no_client_auth();
            Ok(Arc::new(cfg))
        })
        .clone()
}

/// The name sent as SNI: the probe's `host` if it is a DNS name or an IP, else the address.
fn server_name(host: Option<&str>, addr: SocketAddr) -> ServerName<'static> {
    host.map(str::trim)
        .filter(|h| !h.is_empty())
        .and_then(|h| ServerName::try_from(h.to_string()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(addr.ip().into()))
}

/// Performs the TLS handshake on `stream` (connected to `addr`).
pub async fn connect(
    stream: TcpStream,
    host: Option<&str>,
    addr: SocketAddr,
) -> Result<TlsStream<TcpStream>, String> {
    let connector = TlsConnector::from(config()?);
    connector
        .connect(server_name(host, addr), stream)
        .await
        .map_err(|e| format!("the TLS handshake with {addr} failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_uses_a_dns_host_or_falls_back_to_the_ip() {
        let addr: SocketAddr = "127.0.0.2:8443".parse().expect("addr");
        assert_eq!(
            server_name(Some("app.internal"), addr),
            ServerName::try_from("app.internal").expect("name")
        );
        assert_eq!(
            server_name(None, addr),
            ServerName::IpAddress(addr.ip().into())
        );
        assert_eq!(
            server_name(Some("not a name!"), addr),
            ServerName::IpAddress(addr.ip().into())
        );
    }

    #[test]
    fn config_builds() {
        assert!(config().is_ok());
    }
}

//! The built binary's go-plugin handshake: the magic cookie, protocol negotiation, AutoMTLS
//! with exact client-certificate matching, and Shutdown cleaning up the socket.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use terraform_provider_azuresessions::plugin::proto::go_plugin as gp;
use terraform_provider_azuresessions::plugin::proto::tfplugin6 as pb;
use tokio::io::AsyncBufReadExt;
use tonic::transport::{Channel, Endpoint};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-azuresessions");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

#[test]
fn without_cookie_it_explains_itself_and_exits_1() {
    let out = std::process::Command::new(BIN)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plugin for Terraform"), "{err}");
    assert!(err.contains("--debug"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn refuses_when_protocol_6_is_not_offered() {
    let out = std::process::Command::new(BIN)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only version 6"));
}

/// A self-signed client certificate like go-plugin's (CA flag set), P-256 here.
fn client_cert() -> (String, CertificateDer<'static>, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), cert.der().clone(), key.serialize_der())
}

/// Trusts exactly the server certificate from the handshake line.
#[derive(Debug)]
struct PinnedServer(Vec<u8>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(name.to_str(), "localhost");
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(m, c, d, &algs)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(m, c, d, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

async fn tls_channel(
    socket: &str,
    server_der: Vec<u8>,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
) -> Result<Channel, tonic::transport::Error> {
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinnedServer(server_der)))
    .with_client_auth_cert(
        vec![cert],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    )
    .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let socket = socket.to_string();
    Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            let (socket, connector) = (socket.clone(), connector.clone());
            async move {
                let s = tokio::net::UnixStream::connect(socket).await?;
                let name = ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, s).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
            }
        }))
        .await
}

/// Kills the child if the test fails half-way.
struct Child(tokio::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

#[tokio::test]
async fn automtls_accepts_only_the_terraform_client_cert() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, der, key) = client_cert();
    let mut child = Child(
        tokio::process::Command::new(BIN)
            .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_CLIENT_CERT", &pem)
            .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
            .env_remove("TF_DISABLE_PLUGIN_TLS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("handshake line within 30 s")
        .unwrap()
        .expect("a handshake line");
    let f: Vec<&str> = line.split('|').collect();
    assert_eq!(f.len(), 6, "{line}");
    assert_eq!(&f[..3], &["1", "6", "unix"]);
    assert_eq!(f[4], "grpc");
    assert!(f[3].starts_with(dir.path().to_str().unwrap()));
    assert!(f[5].len() > 50 && !f[5].ends_with('='));
    let server_der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(f[5])
        .unwrap();

    // The right client certificate works.
    let ch = tls_channel(f[3], server_der.clone(), der, key)
        .await
        .unwrap();
    let mut client = pb::provider_client::ProviderClient::new(ch.clone());
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.provider.is_some());

    // Another certificate is refused.
    let (_, other_der, other_key) = client_cert();
    let refused = match tls_channel(f[3], server_der, other_der, other_key).await {
        Err(_) => true,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch)
            .get_metadata(pb::get_metadata::Request {})
            .await
            .is_err(),
    };
    assert!(refused, "a foreign client certificate must be rejected");

    // Shutdown ends the process and removes the socket.
    gp::grpc_controller_client::GrpcControllerClient::new(ch)
        .shutdown(gp::Empty {})
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.0.wait())
        .await
        .expect("exits after Shutdown")
        .unwrap();
    assert!(status.success());
    assert!(!std::path::Path::new(f[3]).exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

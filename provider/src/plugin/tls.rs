//! go-plugin AutoMTLS: our self-signed server certificate and exact-match client
//! authentication.
//!
//! Terraform hands the plugin its client certificate (PEM) in `PLUGIN_CLIENT_CERT` and trusts
//! the server certificate we print in the handshake line. That client certificate is a
//! self-signed P-521 certificate with `IsCA: true`, which webpki rejects as an end entity and
//! ring cannot verify. So [`ExactClientCert`] accepts exactly that certificate (byte-for-byte
//! DER match) and checks the TLS handshake signature itself: P-521 with the pure-Rust `p521`
//! crate, everything else with ring's verifiers.

use std::sync::Arc;

use p521::ecdsa::signature::Verifier;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Setting up TLS failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not make the server certificate.
    #[error("cannot generate the plugin's TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// `PLUGIN_CLIENT_CERT` is not a PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not contain a PEM certificate ({0}); it is set by Terraform, do not set it by hand")]
    ClientCertPem(String),
    /// rustls rejected the configuration.
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server's certificate and key.
pub struct ServerCert {
    /// Certificate DER (printed base64 in the handshake line).
    pub cert_der: CertificateDer<'static>,
    /// PKCS#8 private key DER.
    pub key_der: Vec<u8>,
}

impl ServerCert {
    /// A fresh self-signed ECDSA P-256 certificate for `localhost` (what Terraform checks).
    pub fn generate() -> Result<Self, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "HashiCorp");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(365 * 5);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// The handshake field 6 form: base64 (standard alphabet) without padding.
    pub fn handshake_b64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert_der.as_ref())
    }
}

/// Parses the PEM in `PLUGIN_CLIENT_CERT` to DER.
pub fn client_cert_from_pem(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    let mut rd = pem.as_bytes();
    let first = rustls_pemfile::certs(&mut rd).next();
    first
        .ok_or_else(|| TlsError::ClientCertPem("no CERTIFICATE block".into()))?
        .map_err(|e| TlsError::ClientCertPem(e.to_string()))
}

fn ring() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server configuration: our certificate, HTTP/2 ALPN (gRPC), and client
/// authentication by exact match with `client_cert` (mandatory).
pub fn server_config(
    server: &ServerCert,
    client_cert: CertificateDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = ring();
    let verifier = ExactClientCert {
        expected: client_cert,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![server.cert_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone())),
        )?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

/// Accepts exactly one client certificate, verifying handshake signatures itself.
#[derive(Debug)]
pub struct ExactClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ExactClientCert {
    fn check_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if dss.scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            return verify_p521(message, cert.as_ref(), dss.signature());
        }
        if tls13 {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        } else {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }
    }
}

impl ClientCertVerifier for ExactClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!("rejected a TLS client whose certificate is not PLUGIN_CLIENT_CERT");
            Err(rustls::Error::General(
                "client certificate does not match PLUGIN_CLIENT_CERT".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.algorithms.supported_schemes();
        schemes.push(SignatureScheme::ECDSA_NISTP521_SHA512);
        schemes
    }
}

/// Verifies an ECDSA P-521 / SHA-512 signature (DER) by the key in `cert_der`.
pub fn verify_p521(
    message: &[u8],
    cert_der: &[u8],
    signature_der: &[u8],
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let bad = |what: &str| rustls::Error::General(format!("P-521 client signature: {what}"));
    let point =
        der::subject_public_key(cert_der).ok_or_else(|| bad("certificate has no public key"))?;
    let key =
        p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| bad("not a P-521 key"))?;
    let sig =
        p521::ecdsa::Signature::from_der(signature_der).map_err(|_| bad("malformed signature"))?;
    key.verify(message, &sig)
        .map(|()| HandshakeSignatureValid::assertion())
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature))
}

/// Just enough DER to find a certificate's subject public key.
mod der {
    /// Reads one TLV: (tag, content, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    /// The public key bytes (BIT STRING content without the unused-bits byte) of an X.509
    /// certificate.
    pub fn subject_public_key(cert: &[u8]) -> Option<&[u8]> {
        let (_, certificate, _) = tlv(cert)?; // Certificate SEQUENCE
        let (_, mut tbs, _) = tlv(certificate)?; // TBSCertificate SEQUENCE
                                                 // Optional [0] version, then serial, signature alg, issuer, validity, subject.
        let (tag, _, rest) = tlv(tbs)?;
        if tag == 0xa0 {
            tbs = rest;
            tbs = tlv(tbs)?.2; // serial
        } else {
            tbs = rest; // that was the serial
        }
        for _ in 0..4 {
            tbs = tlv(tbs)?.2;
        }
        let (_, spki, _) = tlv(tbs)?; // SubjectPublicKeyInfo SEQUENCE
        let (_, _, rest) = tlv(spki)?; // AlgorithmIdentifier
        let (tag, bits, _) = tlv(rest)?;
        (tag == 0x03 && !bits.is_empty()).then(|| &bits[1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_cert_is_localhost_and_base64_unpadded() {
        let c = ServerCert::generate().unwrap();
        let b64 = c.handshake_b64();
        assert!(b64.len() > 50 && !b64.ends_with('='));
        // The key found by our DER walker is the P-256 point (65 bytes, uncompressed).
        let point = der::subject_public_key(c.cert_der.as_ref()).unwrap();
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 4);
    }

    #[test]
    fn p521_signatures_are_verified() {
        use p521::ecdsa::signature::Signer;
        // A fixed P-521 key; a certificate-shaped DER carrying its public key.
        let mut secret = [7u8; 66];
        secret[0] = 0; // below the group order
        let sk = p521::ecdsa::SigningKey::from_slice(&secret).unwrap();
        let vk = p521::ecdsa::VerifyingKey::from(&sk);
        let point = vk.to_encoded_point(false);
        let cert = fake_cert(point.as_bytes());
        let sig: p521::ecdsa::Signature = sk.sign(b"hello");
        let der = sig.to_der();
        assert!(verify_p521(b"hello", &cert, der.as_bytes()).is_ok());
        assert!(verify_p521(b"other", &cert, der.as_bytes()).is_err());
        assert!(verify_p521(b"hello", &cert, b"junk").is_err());
    }

    /// Minimal DER: SEQ{ SEQ{ [0]{INT 2}, INT 1, SEQ{}, SEQ{}, SEQ{}, SEQ{}, SEQ{ SEQ{}, BIT STRING } } }.
    fn fake_cert(point: &[u8]) -> Vec<u8> {
        fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            if content.len() < 0x80 {
                out.push(content.len() as u8);
            } else {
                out.push(0x82);
                out.extend_from_slice(&(content.len() as u16).to_be_bytes());
            }
            out.extend_from_slice(content);
            out
        }
        let mut bits = vec![0u8];
        bits.extend_from_slice(point);
        let spki = wrap(0x30, &[wrap(0x30, &[]), wrap(0x03, &bits)].concat());
        let tbs = [
            wrap(0xa0, &wrap(0x02, &[2])),
            wrap(0x02, &[1]),
            wrap(0x30, &[]),
            wrap(0x30, &[]),
            wrap(0x30, &[]),
            wrap(0x30, &[]),
            spki,
        ]
        .concat();
        wrap(0x30, &wrap(0x30, &tbs))
    }
}

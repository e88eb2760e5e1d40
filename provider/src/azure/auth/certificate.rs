//! Client certificate authentication, as azurerm does it (`client_certificate_path` /
//! `ARM_CLIENT_CERTIFICATE_PATH`, or the base64 `client_certificate` / `ARM_CLIENT_CERTIFICATE`,
//! with `client_certificate_password` / `ARM_CLIENT_CERTIFICATE_PASSWORD`):
//!
//! - the certificate is a PKCS#12 (`.pfx`) bundle with an RSA private key, read in pure Rust
//!   (`p12-keystore`: AES/PBES2 bundles of OpenSSL 3 and the legacy 3DES/RC2 ones of older tools
//!   and Windows);
//! - each token request carries a fresh client assertion: a JWT signed RS256 (ring) whose header
//!   names the certificate by its SHA-1 thumbprint (`x5t`), with `aud` = the token endpoint and
//!   `iss` = `sub` = the client id, valid for 10 minutes;
//! - the assertion is exchanged by `azure_identity`'s `ClientAssertionCredential` (or, for a
//!   plain-`http://` authority host, by our [`super::client_credentials`]).
//!
//! Why not `azure_identity`'s `ClientCertificateCredential`: it needs OpenSSL (its
//! `client_certificate` feature), which this rustls-only provider does not link.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::ClientMethodOptions;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

use super::AuthError;

/// How long an assertion is valid.
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// Signs client assertions with the private key of a PKCS#12 certificate.
#[derive(Clone)]
pub struct CertificateAssertion {
    key: Arc<RsaKeyPair>,
    thumbprint: String,
    client_id: String,
    audience: String,
}

impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("x5t", &self.thumbprint)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Misconfigured(format!("the client certificate {what}: {e}"))
}

impl CertificateAssertion {
    /// Reads a PKCS#12 bundle (`der`, protected by `password`, empty for none) for the
    /// application `client_id`; `token_url` (`{authority}/{tenant}/oauth2/v2.0/token`) is the
    /// assertion's audience.
    pub fn from_pkcs12(
        der: &[u8],
        password: &str,
        client_id: &str,
        token_url: &str,
    ) -> Result<Self, AuthError> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password).map_err(|e| {
            bad(
                "cannot be read as PKCS#12 (wrong client_certificate_password?)",
                e,
            )
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            AuthError::Misconfigured(
                "the client certificate bundle holds no private key with its certificate".into(),
            )
        })?;
        let cert = chain.chain().first().ok_or_else(|| {
            AuthError::Misconfigured("the client certificate bundle holds no certificate".into())
        })?;
        let key = RsaKeyPair::from_pkcs8(chain.key())
            .map_err(|e| bad("key is not an RSA key of 2048 bits or more", e))?;
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_der());
        Ok(CertificateAssertion {
            key: Arc::new(key),
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            client_id: client_id.to_string(),
            audience: token_url.to_string(),
        })
    }

    /// Reads the bundle from azurerm's settings: a file path or base64 data.
    pub fn from_settings(
        path: Option<&std::path::Path>,
        base64_data: Option<&str>,
        password: &str,
        client_id: &str,
        token_url: &str,
    ) -> Result<Self, AuthError> {
        let der = match (path, base64_data) {
            (Some(p), _) => std::fs::read(p)
                .map_err(|e| bad(&format!("file {} cannot be read", p.display()), e))?,
            (None, Some(b)) => STANDARD
                .decode(b.split_whitespace().collect::<String>())
                .map_err(|e| bad("(client_certificate) is not base64", e))?,
            (None, None) => {
                return Err(AuthError::Misconfigured(
                    "no client certificate was given".into(),
                ))
            }
        };
        Self::from_pkcs12(&der, password, client_id, token_url)
    }

    /// The certificate's SHA-1 thumbprint, base64url (the JWT header's `x5t`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A fresh signed assertion.
    pub fn assertion(&self) -> Result<String, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let claims = serde_json::json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| bad("key cannot sign", e))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The DER `RSAPublicKey` of the certificate's key (to verify assertions in tests).
    pub fn public_key(&self) -> &[u8] {
        self.key.public().as_ref()
    }
}

#[async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.assertion()
            .map_err(|e| azure_core::Error::with_message(ErrorKind::Credential, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with OpenSSL 3: `openssl req -x509 -newkey rsa:2048 -nodes -subj
    // /CN=azuresessions-test-sp`, then `openssl pkcs12 -export` (AES-256/PBES2) and
    // `openssl pkcs12 -export -legacy` (3DES/RC2), password `test-password`.
    const MODERN: &[u8] = include_bytes!("../../../tests/fixtures/sp.pfx");
    const LEGACY: &[u8] = include_bytes!("../../../tests/fixtures/sp-legacy.pfx");
    const PASSWORD: &str = "test-password";
    /// `openssl x509 -fingerprint -sha1` of the certificate, as base64url.
    const X5T: &str = "-n-IuIbYO02xaqfHo_DeMlOkFZ4";
    const TOKEN_URL: &str = "https://login.example/tenant/oauth2/v2.0/token";

    fn part(jwt: &str, i: usize) -> serde_json::Value {
        let p = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    }

    #[test]
    fn reads_modern_and_legacy_bundles() {
        for der in [MODERN, LEGACY] {
            let c = CertificateAssertion::from_pkcs12(der, PASSWORD, "app", TOKEN_URL).unwrap();
            assert_eq!(c.thumbprint(), X5T, "x5t is the base64url SHA-1 thumbprint");
        }
    }

    #[test]
    fn assertion_is_a_signed_jwt_for_the_token_endpoint() {
        let c = CertificateAssertion::from_pkcs12(MODERN, PASSWORD, "app", TOKEN_URL).unwrap();
        let jwt = c.assertion().unwrap();
        let header = part(&jwt, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], c.thumbprint());
        let claims = part(&jwt, 1);
        assert_eq!(claims["aud"], TOKEN_URL);
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["sub"], "app");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
            ASSERTION_LIFETIME_SECS
        );
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            c.public_key(),
        )
        .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("the signature verifies with the certificate's key");
        assert_ne!(
            part(&c.assertion().unwrap(), 1)["jti"],
            claims["jti"],
            "every assertion is fresh"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = CertificateAssertion::from_pkcs12(MODERN, "wrong", "app", TOKEN_URL)
            .unwrap_err()
            .to_string();
        assert!(e.contains("client_certificate_password"), "{e}");
        let e = CertificateAssertion::from_settings(
            Some(std::path::Path::new("/nonexistent/sp.pfx")),
            None,
            "",
            "app",
            TOKEN_URL,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/sp.pfx"), "{e}");
        let e = CertificateAssertion::from_settings(None, Some("%%%"), "", "app", TOKEN_URL)
            .unwrap_err()
            .to_string();
        assert!(e.contains("base64"), "{e}");
        let b64 = STANDARD.encode(LEGACY);
        assert!(
            CertificateAssertion::from_settings(None, Some(&b64), PASSWORD, "app", TOKEN_URL)
                .is_ok()
        );
    }
}

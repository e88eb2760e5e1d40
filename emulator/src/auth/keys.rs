//! The RS256 signing key: generated once into `{data_dir}/signing-key.pem` (PKCS#8), or kept
//! in memory for `--in-memory` (a fresh key per emulator: two emulators in one process never
//! accept each other's tokens).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

/// File name of the signing key inside the data directory.
pub const KEY_FILE: &str = "signing-key.pem";

/// Errors loading or creating the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("cannot access the signing key {path}: {source}. Check the --data-dir permissions")]
    Io {
        /// The key path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is not a PKCS#8 RSA key.
    #[error("the signing key {path} is not a valid PKCS#8 RSA key ({reason}); delete it to generate a new one (tokens issued before become invalid)")]
    Invalid {
        /// The key path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Key generation failed.
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
}

/// An RSA key pair usable for RS256 signing and verification.
pub struct SigningKey {
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn generate() -> Result<RsaPrivateKey, KeyError> {
    let mut rng = rsa::rand_core::OsRng;
    RsaPrivateKey::new(&mut rng, 2048).map_err(|e| KeyError::Generate(e.to_string()))
}

impl SigningKey {
    /// A fresh in-memory key (for one emulator; nothing is shared across instances).
    pub fn in_memory() -> Result<Self, KeyError> {
        Self::from_rsa(&generate()?, "<memory>")
    }

    /// Loads `{dir}/signing-key.pem`, generating and writing it (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        let shown = path.display().to_string();
        let io = |source| KeyError::Io {
            path: shown.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                let key = RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::Invalid {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
                Self::from_rsa(&key, &shown)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = generate()?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| KeyError::Generate(e.to_string()))?;
                crate::fsutil::write_private(&path, pem.as_bytes()).map_err(io)?;
                Self::from_rsa(&key, &shown)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_rsa(key: &RsaPrivateKey, shown: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: shown.to_string(),
            reason,
        };
        let der = key.to_pkcs8_der().map_err(|e| invalid(e.to_string()))?;
        let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let kid = hex::encode(&Sha256::digest(&n)[..12]);
        Ok(SigningKey { pair, n, e, kid })
    }

    /// Key id (`kid` header, JWKS entry).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// RS256 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        // Signing with a valid key and a system RNG only fails if the RNG fails.
        if self
            .pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .is_err()
        {
            sig.clear();
        }
        sig
    }

    /// True when `sig` is a valid RS256 signature of `msg` by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig)
        .is_ok()
    }

    /// The public key as a JWK (`kty`, `use`, `kid`, `n`, `e`, `alg`).
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "x5t": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip() {
        let key = SigningKey::in_memory().expect("key");
        let sig = key.sign(b"hello");
        assert!(key.verify(b"hello", &sig));
        assert!(!key.verify(b"hellO", &sig));
    }

    #[test]
    fn key_file_is_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = SigningKey::load_or_create(dir.path()).expect("create");
        let b = SigningKey::load_or_create(dir.path()).expect("load");
        assert_eq!(a.kid(), b.kid());
        assert!(b.verify(b"x", &a.sign(b"x")));
    }

    #[test]
    fn garbage_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), "nope").expect("write");
        let err = SigningKey::load_or_create(dir.path()).expect_err("must fail");
        assert!(err.to_string().contains("delete it"));
    }
}

//! Secret values at rest: sealed with AES-256-GCM before they reach the database, opened again
//! when a resource is read. The key is 32 random bytes in `{data_dir}/secrets.key` (mode 0600,
//! created with the database); an in-memory store gets a fresh key per process.
//!
//! Which values are secret is data ([`SECRET_KEYS`] and the `value` of each `secrets[]`
//! entry, at any depth of a resource body): pool secrets (registry passwords are pool secrets
//! named by `passwordSecretRef`), MCP API keys, shared keys. A sealed value is the string
//! `sealed:v1:{base64(nonce || ciphertext || tag)}`; everything else in a body stays as it was,
//! so the database remains readable for everything but the secrets.
//!
//! The database records the key's fingerprint (`meta.secrets_key`): a data dir whose key file
//! went missing or was replaced is refused at start with what to do, never read as garbage.
//! Values written in plain text by earlier builds are sealed at the first start of this one,
//! and the file and its WAL are rewritten so the old plain text does not linger (see
//! [`super::Store::open`]).

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;
use sha2::Digest;

use super::StoreError;

/// The key file in the data dir.
pub const KEY_FILE: &str = "secrets.key";
/// Prefix of a sealed value.
pub const SEALED_PREFIX: &str = "sealed:v1:";
/// Object members whose string value is secret wherever they appear.
pub const SECRET_KEYS: [&str; 6] = [
    "mcpApiKey",
    "sharedKey",
    "primarySharedKey",
    "secondarySharedKey",
    "clientSecret",
    "password",
];
/// Additional data bound to every sealed value.
const AAD: &[u8] = b"sessions-emulator secret v1";

/// Seals and opens secret values with one key.
pub struct Sealer {
    key: LessSafeKey,
    fingerprint: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn key_error(path: &Path, what: impl std::fmt::Display) -> StoreError {
    StoreError::Key(format!("{}: {what}", path.display()))
}

impl Sealer {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key");
        let digest = sha2::Sha256::digest(bytes);
        Sealer {
            key: LessSafeKey::new(unbound),
            fingerprint: hex::encode(&digest[..8]),
            rng: SystemRandom::new(),
        }
    }

    /// A fresh random key kept only in memory (`--in-memory`, tests).
    pub fn ephemeral() -> Self {
        let mut bytes = [0u8; 32];
        #[allow(clippy::expect_used)]
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random number generator");
        Self::from_bytes(&bytes)
    }

    /// The key in `{dir}/secrets.key`; `create` makes one (mode 0600) when there is none.
    /// `Ok(None)`: no key file and `create` is false.
    pub fn load(dir: &Path, create: bool) -> Result<Option<Self>, StoreError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let raw = STANDARD.decode(text.trim()).map_err(|_| {
                    key_error(
                        &path,
                        "not a base64 key; restore the key file this data dir was created with",
                    )
                })?;
                let bytes: [u8; 32] = raw.try_into().map_err(|_| {
                    key_error(
                        &path,
                        "not a 32-byte key; restore the key file this data dir was created with",
                    )
                })?;
                let meta = std::fs::metadata(&path).map_err(|e| key_error(&path, e))?;
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| key_error(&path, e))?;
                    tracing::warn!(path = %path.display(), "the secrets key was readable by others; it is 0600 now");
                }
                Ok(Some(Self::from_bytes(&bytes)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| key_error(&path, "no randomness for a new key"))?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| key_error(&path, e))?;
                f.write_all(format!("{}\n", STANDARD.encode(bytes)).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| key_error(&path, e))?;
                Ok(Some(Self::from_bytes(&bytes)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(key_error(&path, e)),
        }
    }

    /// A short fingerprint of the key (recorded in the database to detect a swapped key).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `plain` sealed.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        #[allow(clippy::expect_used)]
        self.rng
            .fill(&mut nonce)
            .expect("the system random number generator");
        let mut data = plain.as_bytes().to_vec();
        #[allow(clippy::expect_used)]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .expect("AES-GCM sealing of an in-memory buffer");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// The plain text of a sealed value (a value that is not sealed is returned as it is).
    pub fn open(&self, value: &str) -> Result<String, StoreError> {
        let Some(b64) = value.strip_prefix(SEALED_PREFIX) else {
            return Ok(value.to_string());
        };
        let bad = || {
            StoreError::Key(format!(
                "a secret in the database does not open with {KEY_FILE}: the key file was replaced or the value damaged"
            ))
        };
        let raw = STANDARD.decode(b64).map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut data)
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }

    /// Seals every secret value in `body` that is not sealed yet; returns how many.
    pub fn seal_body(&self, body: &mut Value) -> usize {
        let mut n = 0;
        walk(body, &mut |s: &mut String| {
            if !s.starts_with(SEALED_PREFIX) {
                *s = self.seal(s);
                n += 1;
            }
            Ok(())
        })
        .unwrap_or(());
        n
    }

    /// Opens every sealed value in `body`.
    pub fn open_body(&self, body: &mut Value) -> Result<(), StoreError> {
        walk(body, &mut |s: &mut String| {
            if s.starts_with(SEALED_PREFIX) {
                *s = self.open(s)?;
            }
            Ok(())
        })
    }
}

/// True when `body` holds a secret value in plain text.
pub fn has_plain_secret(body: &mut Value) -> bool {
    let mut found = false;
    let _ = walk(body, &mut |s: &mut String| {
        found |= !s.starts_with(SEALED_PREFIX);
        Ok(())
    });
    found
}

/// Calls `f` on every secret string of `v` (see the module docs).
fn walk(
    v: &mut Value,
    f: &mut dyn FnMut(&mut String) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                    if let Value::String(s) = child {
                        f(s)?;
                        continue;
                    }
                }
                if k.eq_ignore_ascii_case("secrets") {
                    if let Value::Array(items) = child {
                        for item in items.iter_mut() {
                            if let Some(Value::String(s)) = item
                                .as_object_mut()
                                .and_then(|o| {
                                    o.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("value"))
                                })
                                .map(|(_, v)| v)
                            {
                                f(s)?;
                            }
                        }
                    }
                }
                walk(child, f)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool() -> Value {
        json!({"name": "p", "pool": {"location": "eastus", "properties": {
            "secrets": [{"name": "pw", "value": "hunter2"}, {"name": "b", "value": "s3cr3t"}],
            "customContainerTemplate": {"registryCredentials": {"passwordSecretRef": "pw"}}}},
            "mcpApiKey": "k3y"})
    }

    #[test]
    fn bodies_round_trip_and_hold_no_plain_secret() {
        let s = Sealer::ephemeral();
        let mut b = pool();
        assert_eq!(s.seal_body(&mut b), 3);
        let text = b.to_string();
        for secret in ["hunter2", "s3cr3t", "k3y"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("passwordSecretRef") && text.contains("\"pw\""));
        assert!(!has_plain_secret(&mut b));
        assert_eq!(s.seal_body(&mut b), 0, "sealing twice is a no-op");
        s.open_body(&mut b).expect("open");
        assert_eq!(b, pool());
    }

    #[test]
    fn another_key_cannot_open_and_says_so() {
        let (a, b) = (Sealer::ephemeral(), Sealer::ephemeral());
        let sealed = a.seal("x");
        assert_ne!(a.fingerprint(), b.fingerprint());
        let e = b.open(&sealed).expect_err("wrong key");
        assert!(e.to_string().contains(KEY_FILE), "{e}");
        assert_eq!(a.open(&sealed).expect("right key"), "x");
        assert_eq!(a.open("plain").expect("plain"), "plain");
        assert!(a.open("sealed:v1:!!!").is_err());
    }

    #[test]
    fn key_file_is_created_0600_and_reloaded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Sealer::load(dir.path(), false).expect("load").is_none());
        let a = Sealer::load(dir.path(), true)
            .expect("create")
            .expect("key");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Sealer::load(dir.path(), false).expect("load").expect("key");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.open(&a.seal("v")).expect("open"), "v");
        std::fs::write(dir.path().join(KEY_FILE), "garbage").expect("write");
        assert!(Sealer::load(dir.path(), false).is_err());
    }
}

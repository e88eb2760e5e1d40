//! Registry authentication: credentials and the `WWW-Authenticate` challenge parser.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Credentials for one registry (a pool's `registryCredentials`, with the password secret
/// already resolved by the caller).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCredentials {
    /// Registry host (with optional port), e.g. `myregistry.azurecr.io`.
    pub server: String,
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl RegistryCredentials {
    /// Whether these credentials are for `registry` (scheme and trailing slash ignored).
    pub fn matches(&self, registry: &str) -> bool {
        let s = self
            .server
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        s.eq_ignore_ascii_case(registry)
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Scheme, lower-cased: `basic` or `bearer`.
    pub scheme: String,
    /// Parameters (`realm`, `service`, `scope`, ...), keys lower-cased.
    pub params: BTreeMap<String, String>,
}

/// Parses one challenge: `Bearer realm="...",service="...",scope="repository:a:pull,push"`.
/// Returns `None` when the header has no scheme.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let h = header.trim();
    let (scheme, rest) = match h.find(char::is_whitespace) {
        Some(i) => (&h[..i], h[i..].trim_start()),
        None => (h, ""),
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let mut params = BTreeMap::new();
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = rest[ks..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                // Multi-byte characters are copied whole.
                let ch_len = rest[i..].chars().next().map_or(1, char::len_utf8);
                v.push_str(&rest[i..i + ch_len]);
                i += ch_len;
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            rest[vs..i].trim().to_string()
        };
        if !key.is_empty() {
            params.insert(key, value);
        }
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_bearer_with_comma_in_scope() {
        let c = parse_challenge(r#"Bearer realm="https://auth.io/token",service="reg.io",scope="repository:a/b:pull,push""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.io/token");
        assert_eq!(c.params["service"], "reg.io");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
    }

    #[test]
    fn parses_basic() {
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "Registry Realm");
        assert!(parse_challenge("").is_none());
    }

    #[test]
    fn credentials_match_server_and_hide_password() {
        let c = RegistryCredentials {
            server: "https://r.azurecr.io/".into(),
            username: "u".into(),
            password: "secret".into(),
        };
        assert!(c.matches("r.azurecr.io"));
        assert!(!format!("{c:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse_challenge(&s);
        }

        #[test]
        fn quoted_values_round_trip(realm in "[a-zA-Z0-9:/._, -]{0,40}", service in "[a-z0-9.:-]{1,20}") {
            let h = format!(r#"Bearer realm="{realm}",service="{service}""#);
            let c = parse_challenge(&h).unwrap();
            prop_assert_eq!(&c.params["realm"], &realm);
            prop_assert_eq!(&c.params["service"], &service);
        }
    }
}

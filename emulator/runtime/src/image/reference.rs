//! Image references: `myregistry.azurecr.io/app:v1`, `localhost/sample-session:latest`,
//! `nginx` (Docker Hub), `name@sha256:...`. Parsing follows the Docker distribution grammar,
//! defaulting the tag to `latest` and the registry to `docker.io`.

use std::fmt;

use super::digest::Digest;
use super::error::{ImageError, Result};

/// The registry assumed when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The tag assumed when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host with optional port, e.g. `myregistry.azurecr.io`, `localhost:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `app`, `library/nginx`.
    pub repository: String,
    /// Tag; `None` only when a digest is given without tag.
    pub tag: Option<String>,
    /// Manifest digest when pinned.
    pub digest: Option<Digest>,
}

fn bad(reference: &str, reason: impl Into<String>) -> ImageError {
    ImageError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    b.iter()
        .all(|&x| alnum(x) || x == b'.' || x == b'_' || x == b'-')
        && !c.contains("..")
        && !c.contains("___")
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = match r.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (r, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|x| x.is_ascii_digit()));
    host_ok && port_ok
}

impl Reference {
    /// Parses a reference, naming what is wrong when it is invalid.
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(bad(input, "it is empty"));
        }
        if s.len() > 512 {
            return Err(bad(input, "it is longer than 512 characters"));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => (
                n,
                Some(Digest::parse(d).map_err(|_| {
                    bad(
                        input,
                        format!("`{d}` is not a sha256 digest (`sha256:` + 64 lowercase hex)"),
                    )
                })?),
            ),
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad(
                    input,
                    format!(
                        "tag `{t}` must be 1-128 of [A-Za-z0-9_.-], not starting with `.` or `-`"
                    ),
                ));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        if !valid_registry(&registry) {
            return Err(bad(
                input,
                format!("registry `{registry}` is not a host name with optional :port"),
            ));
        }
        if path.is_empty() {
            return Err(bad(input, "the repository name is empty"));
        }
        for c in path.split('/') {
            if !valid_component(c) {
                return Err(bad(
                    input,
                    format!("repository component `{c}` must be lowercase letters, digits and single separators (. _ -)"),
                ));
            }
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry's manifest endpoint for: the digest when pinned, else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// True for registries on this machine, which are spoken to over plain HTTP by default.
    pub fn is_loopback_registry(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, _)| h);
        host == "localhost" || host == "127.0.0.1" || host.starts_with("127.") || host == "[::1]"
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        let r = Reference::parse("myregistry.azurecr.io/app:v1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("myregistry.azurecr.io", "app", Some("v1"))
        );
        let r = Reference::parse("localhost/sample-session").unwrap();
        assert_eq!(r.to_string(), "localhost/sample-session:latest");
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
        let r = Reference::parse("localhost:5000/a/b:1.0").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "a/b")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("x.io/app@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_ref(), d);
        assert_eq!(r.to_string(), format!("x.io/app@{d}"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Reference::parse("x.io/App:v1").unwrap_err().to_string();
        assert!(e.contains("`App`"), "{e}");
        let e = Reference::parse("x.io/app:-bad").unwrap_err().to_string();
        assert!(e.contains("tag `-bad`"), "{e}");
        let e = Reference::parse("x.io/app@sha256:zz")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sha256:zz"), "{e}");
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("x.io/").is_err());
    }

    #[test]
    fn loopback_detection() {
        assert!(Reference::parse("localhost/a")
            .unwrap()
            .is_loopback_registry());
        assert!(Reference::parse("127.0.0.1:5000/a")
            .unwrap()
            .is_loopback_registry());
        assert!(!Reference::parse("r.azurecr.io/a")
            .unwrap()
            .is_loopback_registry());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = Reference::parse(&s);
        }

        #[test]
        fn display_round_trips(
            reg in "(localhost|[a-z]{1,8}\\.io)(:[0-9]{1,5})?",
            repo in "[a-z0-9]{1,6}(/[a-z0-9]{1,6}){0,2}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}",
        ) {
            let s = format!("{reg}/{repo}:{tag}");
            let r = Reference::parse(&s).unwrap();
            prop_assert_eq!(r.to_string(), s.clone());
            prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }
    }
}

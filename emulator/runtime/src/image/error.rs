//! The one error type of the image store. Every message says what was wrong and, where it
//! helps, what to do about it.

use std::path::PathBuf;

/// Anything that can go wrong while loading, pulling, unpacking or looking up an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image reference could not be parsed.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// A digest string was not `sha256:<64 lowercase hex>`.
    #[error("invalid digest `{0}`: expected `sha256:` followed by 64 lowercase hex digits")]
    InvalidDigest(String),

    /// A blob's content did not hash to the digest that names it.
    #[error("digest mismatch for blob {blob}: expected {expected}, content hashes to {actual}; the image is corrupt or was tampered with")]
    DigestMismatch {
        blob: String,
        expected: String,
        actual: String,
    },

    /// A layer entry would land outside the rootfs or is a kind we refuse.
    #[error("unsafe layer entry `{entry}` in layer {layer}: {reason}")]
    UnsafeEntry {
        layer: String,
        entry: String,
        reason: String,
    },

    /// The input is not an image format we understand, or is internally inconsistent.
    #[error("invalid image at {source_desc}: {reason}")]
    InvalidImage { source_desc: String, reason: String },

    /// A file the image format requires is missing.
    #[error("{source_desc} is missing `{path}`; expected a docker-save tar, an OCI archive tar or an OCI image layout directory")]
    MissingFile { source_desc: String, path: String },

    /// A JSON document (manifest, index, config) did not parse.
    #[error("cannot parse {what}: {cause}")]
    Json {
        what: String,
        cause: serde_json::Error,
    },

    /// The image has no manifest for linux/amd64.
    #[error("image {reference} has no linux/amd64 manifest (platforms offered: {offered})")]
    NoMatchingPlatform { reference: String, offered: String },

    /// The reference is not in the local cache and pulling was not allowed.
    #[error("image {0} is not in the local image store; load it with `sessions-emulator image load` or allow pulling")]
    NotFound(String),

    /// A registry answered 401 even after authenticating (or no credentials were given).
    #[error("registry {registry} refused access to {repository} (HTTP 401 unauthorized){hint}")]
    Unauthorized {
        registry: String,
        repository: String,
        hint: String,
    },

    /// A registry answered with an unexpected status.
    #[error("registry request {method} {url} failed with HTTP {status}: {body}")]
    Registry {
        method: String,
        url: String,
        status: u16,
        body: String,
    },

    /// The HTTP client failed (connection refused, TLS, timeout).
    #[error("cannot reach registry at {url}: {cause}")]
    Http { url: String, cause: String },

    /// A file-system operation failed.
    #[error("{action} {}: {cause}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl ImageError {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |cause| ImageError::Io {
            action,
            path,
            cause,
        }
    }

    /// Wraps a JSON error with a description of the document.
    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Self {
        let what = what.into();
        move |cause| ImageError::Json { what, cause }
    }

    /// An [`ImageError::Http`] for `url`, with the whole cause chain in the message (causes are
    /// part of the message rather than `source()`, so every printer shows them exactly once).
    pub fn http(url: impl Into<String>, e: reqwest::Error) -> Self {
        let mut cause = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            cause.push_str(": ");
            cause.push_str(&s.to_string());
            src = s.source();
        }
        ImageError::Http {
            url: url.into(),
            cause,
        }
    }

    /// An [`ImageError::InvalidImage`] for `source_desc`.
    pub fn invalid(source_desc: impl Into<String>, reason: impl Into<String>) -> Self {
        ImageError::InvalidImage {
            source_desc: source_desc.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias for the image store.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_mismatch_names_the_blob() {
        let e = ImageError::DigestMismatch {
            blob: "blobs/sha256/abc".into(),
            expected: "sha256:abc".into(),
            actual: "sha256:def".into(),
        };
        assert!(e.to_string().contains("blobs/sha256/abc"));
    }

    #[test]
    fn io_names_the_path() {
        let e = ImageError::io("reading", "/x/y")(std::io::Error::other("boom"));
        assert_eq!(e.to_string(), "reading /x/y: boom");
    }
}

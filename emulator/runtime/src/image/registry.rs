//! A small OCI distribution API client: manifests and blobs, pull and (monolithic) push, with
//! anonymous, basic and bearer-token auth driven by the registry's `WWW-Authenticate` challenge.

use std::io::Write;

use parking_lot::Mutex;
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};

use super::auth::{parse_challenge, RegistryCredentials};
use super::digest::{Digest, HashingWriter};
use super::error::{ImageError, Result};
use super::progress::Progress;
use super::reference::Reference;
use super::spec::{Descriptor, OCI_MANIFEST};
use super::store::ImageStore;

/// The manifest media types we ask for.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest we accept (real ones are a few KiB).
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// How to talk to registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Force plain HTTP (`Some(true)`) or HTTPS (`Some(false)`); `None`: plain HTTP only for
    /// loopback registries and those in `SESSIONS_EMULATOR_INSECURE_REGISTRIES` (comma-separated).
    pub plain_http: Option<bool>,
    /// Extra PEM root certificates trusted for HTTPS registries (e.g. a local registry's own
    /// CA); public CAs are always trusted.
    pub ca_pem: Option<Vec<u8>>,
}

impl RegistryOptions {
    fn scheme_for(&self, reference: &Reference) -> &'static str {
        let plain = self.plain_http.unwrap_or_else(|| {
            reference.is_loopback_registry()
                || std::env::var("SESSIONS_EMULATOR_INSECURE_REGISTRIES")
                    .map(|v| v.split(',').any(|r| r.trim() == reference.registry))
                    .unwrap_or(false)
        });
        if plain {
            "http"
        } else {
            "https"
        }
    }
}

/// A client for one repository of one registry.
pub struct RegistryClient {
    http: reqwest::Client,
    base: url::Url,
    registry: String,
    repository: String,
    creds: Option<RegistryCredentials>,
    auth: Mutex<Option<String>>,
}

impl RegistryClient {
    /// A client for the repository `reference` names. `creds` are used only if their server
    /// matches the reference's registry.
    pub fn new(
        reference: &Reference,
        creds: Option<&RegistryCredentials>,
        opts: &RegistryOptions,
    ) -> Result<Self> {
        let host = if reference.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            reference.registry.as_str()
        };
        let base_s = format!("{}://{host}/", opts.scheme_for(reference));
        let base = url::Url::parse(&base_s).map_err(|e| ImageError::InvalidReference {
            reference: reference.to_string(),
            reason: format!("registry URL {base_s} is invalid: {e}"),
        })?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("sessions-emulator/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(15));
        if let Some(pem) = &opts.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                ImageError::InvalidImage {
                    source_desc: "registry CA certificates".into(),
                    reason: format!("not valid PEM certificates: {e}"),
                }
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ImageError::http(base_s.clone(), e))?;
        Ok(Self {
            http,
            base,
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            creds: creds.filter(|c| c.matches(&reference.registry)).cloned(),
            auth: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}v2/{}/{path}", self.base, self.repository)
    }

    /// Sends a request (built fresh for each try), authenticating once on a 401 challenge.
    async fn send(
        &self,
        method: Method,
        url: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
        actions: &str,
    ) -> Result<Response> {
        let mut tried_auth = false;
        loop {
            let mut rb = build(self.http.request(method.clone(), url));
            if let Some(a) = self.auth.lock().clone() {
                rb = rb.header(header::AUTHORIZATION, a);
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| ImageError::http(url.to_string(), e))?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if tried_auth {
                return Err(self.unauthorized(true));
            }
            tried_auth = true;
            let challenge = resp
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge)
                .ok_or_else(|| self.unauthorized(false))?;
            let value = match challenge.scheme.as_str() {
                "basic" => {
                    let c = self
                        .creds
                        .as_ref()
                        .ok_or_else(|| self.unauthorized(false))?;
                    basic_header(&c.username, &c.password)
                }
                "bearer" => self.fetch_token(&challenge.params, actions).await?,
                other => {
                    return Err(ImageError::Registry {
                        method: method.to_string(),
                        url: url.to_string(),
                        status: 401,
                        body: format!("unsupported auth scheme `{other}`"),
                    })
                }
            };
            *self.auth.lock() = Some(value);
        }
    }

    fn unauthorized(&self, had_creds_try: bool) -> ImageError {
        let hint = match (&self.creds, had_creds_try) {
            (None, _) => "; no credentials were given for this registry: set the pool's registryCredentials (or --username/--password)".to_string(),
            (Some(c), _) => format!("; the credentials for user `{}` were rejected", c.username),
        };
        ImageError::Unauthorized {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            hint,
        }
    }

    async fn fetch_token(
        &self,
        params: &std::collections::BTreeMap<String, String>,
        actions: &str,
    ) -> Result<String> {
        let realm = params.get("realm").ok_or_else(|| ImageError::Registry {
            method: "GET".into(),
            url: self.base.to_string(),
            status: 401,
            body: "bearer challenge without realm".into(),
        })?;
        let mut url = url::Url::parse(realm).map_err(|e| ImageError::Registry {
            method: "GET".into(),
            url: realm.clone(),
            status: 401,
            body: format!("token realm is not a URL: {e}"),
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = params.get("service") {
                q.append_pair("service", s);
            }
            let scope = params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{}:{actions}", self.repository));
            q.append_pair("scope", &scope);
        }
        let mut rb = self.http.get(url.clone());
        if let Some(c) = &self.creds {
            rb = rb.basic_auth(&c.username, Some(&c.password));
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| ImageError::http(url.to_string(), e))?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            return Err(self.unauthorized(true));
        }
        let resp = check(resp, "GET", url.as_str()).await?;
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| ImageError::http(url.to_string(), e))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| ImageError::Registry {
                method: "GET".into(),
                url: url.to_string(),
                status: 200,
                body: "token response has no `token`".into(),
            })?;
        Ok(format!("Bearer {token}"))
    }

    /// Fetches a manifest or index by tag or digest; returns its bytes and digest.
    pub async fn get_manifest(&self, reference: &str) -> Result<(Vec<u8>, Digest)> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp = self
            .send(
                Method::GET,
                &url,
                |rb| rb.header(header::ACCEPT, MANIFEST_ACCEPT),
                "pull",
            )
            .await?;
        let resp = check(resp, "GET", &url).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ImageError::http(url.clone(), e))?;
        if bytes.len() > MAX_MANIFEST {
            return Err(ImageError::invalid(url, "manifest larger than 4 MiB"));
        }
        let d = Digest::of(&bytes);
        if let Ok(expected) = Digest::parse(reference) {
            if expected != d {
                return Err(ImageError::DigestMismatch {
                    blob: url,
                    expected: expected.to_string(),
                    actual: d.to_string(),
                });
            }
        }
        Ok((bytes.to_vec(), d))
    }

    /// Downloads a blob into the store, verifying its digest.
    pub async fn fetch_blob(
        &self,
        store: &ImageStore,
        d: &Descriptor,
        progress: &mut Progress,
    ) -> Result<()> {
        if store.has_blob(&d.digest) {
            progress.add_bytes(d.size);
            return Ok(());
        }
        let url = self.url(&format!("blobs/{}", d.digest));
        let resp = self.send(Method::GET, &url, |rb| rb, "pull").await?;
        let mut resp = check(resp, "GET", &url).await?;
        let tmp = store.tmp_path("pull");
        let f = std::fs::File::create(&tmp).map_err(ImageError::io("creating", &tmp))?;
        let mut w = HashingWriter::new(std::io::BufWriter::new(f));
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    w.write_all(&chunk)
                        .map_err(ImageError::io("writing", &tmp))?;
                    progress.add_bytes(chunk.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(ImageError::http(url, e));
                }
            }
        }
        let (bw, actual, _) = w.finish();
        let f = bw
            .into_inner()
            .map_err(|e| ImageError::io("writing", &tmp)(e.into_error()))?;
        f.sync_all().map_err(ImageError::io("syncing", &tmp))?;
        drop(f);
        if actual != d.digest {
            let _ = std::fs::remove_file(&tmp);
            return Err(ImageError::DigestMismatch {
                blob: url,
                expected: d.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        store.commit_blob(&tmp, &actual)
    }

    /// Whether the registry already has the blob.
    pub async fn has_blob(&self, d: &Digest) -> Result<bool> {
        let url = self.url(&format!("blobs/{d}"));
        let resp = self.send(Method::HEAD, &url, |rb| rb, "pull,push").await?;
        Ok(resp.status().is_success())
    }

    /// Uploads a blob monolithically (POST for an upload URL, then PUT with `?digest=`).
    pub async fn push_blob(&self, d: &Digest, bytes: Vec<u8>) -> Result<()> {
        if self.has_blob(d).await? {
            return Ok(());
        }
        let url = self.url("blobs/uploads/");
        let resp = self
            .send(
                Method::POST,
                &url,
                |rb| rb.header(header::CONTENT_LENGTH, "0"),
                "pull,push",
            )
            .await?;
        let resp = check(resp, "POST", &url).await?;
        let loc = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ImageError::Registry {
                method: "POST".into(),
                url: url.clone(),
                status: resp.status().as_u16(),
                body: "no Location header for the upload".into(),
            })?;
        let mut put = self.base.join(loc).map_err(|e| ImageError::Registry {
            method: "POST".into(),
            url: url.clone(),
            status: 202,
            body: format!("bad upload Location `{loc}`: {e}"),
        })?;
        put.query_pairs_mut().append_pair("digest", d.as_str());
        let put_s = put.to_string();
        let resp = self
            .send(
                Method::PUT,
                &put_s,
                |rb| {
                    rb.header(header::CONTENT_TYPE, "application/octet-stream")
                        .body(bytes.clone())
                },
                "pull,push",
            )
            .await?;
        check(resp, "PUT", &put_s).await?;
        Ok(())
    }

    /// Uploads a manifest under `tag` (or digest); returns the digest the registry reports.
    pub async fn put_manifest(
        &self,
        tag: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<Digest> {
        let url = self.url(&format!("manifests/{tag}"));
        let mt = media_type.to_string();
        let resp = self
            .send(
                Method::PUT,
                &url,
                |rb| {
                    rb.header(header::CONTENT_TYPE, mt.clone())
                        .body(bytes.clone())
                },
                "pull,push",
            )
            .await?;
        let resp = check(resp, "PUT", &url).await?;
        let d = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok())
            .unwrap_or_else(|| Digest::of(&bytes));
        Ok(d)
    }
}

fn basic_header(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Passes 2xx responses through; turns others into [`ImageError::Registry`] with the body.
async fn check(resp: Response, method: &str, url: &str) -> Result<Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(500).collect();
    Err(ImageError::Registry {
        method: method.into(),
        url: url.into(),
        status,
        body: if body.is_empty() {
            "(empty body)".into()
        } else {
            body
        },
    })
}

/// Pulls `reference` (linux/amd64) into the store and tags it; returns the manifest digest.
pub async fn pull(
    store: &ImageStore,
    reference: &Reference,
    creds: Option<&RegistryCredentials>,
    opts: &RegistryOptions,
    progress: &mut Progress,
) -> Result<Digest> {
    let client = RegistryClient::new(reference, creds, opts)?;
    let (bytes, top_digest) = client.get_manifest(&reference.manifest_ref()).await?;
    let what = reference.to_string();
    let (manifest_bytes, digest, index_bytes) =
        match super::spec::ManifestDoc::parse(&bytes, &format!("manifest of {what}"))? {
            super::spec::ManifestDoc::Manifest(_) => (bytes, top_digest, None),
            super::spec::ManifestDoc::Index(idx) => {
                let chosen = super::platform::choose_platform(&idx, &what)?.clone();
                let (mb, md) = client.get_manifest(chosen.digest.as_str()).await?;
                (mb, md, Some(bytes))
            }
        };
    let manifest =
        match super::spec::ManifestDoc::parse(&manifest_bytes, &format!("manifest {digest}"))? {
            super::spec::ManifestDoc::Manifest(m) => m,
            super::spec::ManifestDoc::Index(_) => {
                return Err(ImageError::invalid(what, "index points at another index"))
            }
        };
    client.fetch_blob(store, &manifest.config, progress).await?;
    let config = super::spec::ConfigFile::parse(
        &store.read_blob(&manifest.config.digest)?,
        &format!("config of {what}"),
    )?;
    super::load::check_config_platform(&config, &what)?;
    let n = manifest.layers.len();
    for (i, l) in manifest.layers.iter().enumerate() {
        progress.layer(i + 1, n);
        client.fetch_blob(store, l, progress).await?;
    }
    store.put_blob_bytes(&manifest_bytes)?;
    if let Some(ib) = index_bytes {
        store.put_blob_bytes(&ib)?;
    }
    if reference.tag.is_some() {
        let mut tagged = reference.clone();
        tagged.digest = None;
        store.tag(&tagged, &digest)?;
    }
    Ok(digest)
}

/// Pushes the stored image with manifest `digest` to `target` (tag required); returns the
/// digest the registry reports for the manifest.
pub async fn push(
    store: &ImageStore,
    digest: &Digest,
    target: &Reference,
    creds: Option<&RegistryCredentials>,
    opts: &RegistryOptions,
) -> Result<Digest> {
    let client = RegistryClient::new(target, creds, opts)?;
    let manifest_bytes = store.read_blob(digest)?;
    let manifest = store.manifest(digest)?;
    for d in std::iter::once(&manifest.config).chain(manifest.layers.iter()) {
        client
            .push_blob(&d.digest, store.read_blob(&d.digest)?)
            .await?;
    }
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    let tag = target.tag.clone().unwrap_or_else(|| digest.to_string());
    client.put_manifest(&tag, manifest_bytes, &media_type).await
}

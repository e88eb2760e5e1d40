//! An in-process registry on `127.0.0.1:0` that logs clients in the way Azure Container
//! Registry takes an Entra token: `/v2/` challenges with `Bearer realm=".../oauth2/token"`; the
//! token endpoint takes basic credentials of user `00000000-0000-0000-0000-000000000000` whose
//! password is an Entra-style access token, which the test checks (here: a token the emulator
//! signed for a given managed identity); it answers a registry token that the `/v2/` routes
//! then accept. Serves one image under one repository and tag; counts the logins it granted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sessions_runtime::image::write::BuiltImage;

/// The registry token handed out after a good login.
const REGISTRY_TOKEN: &str = "fake-acr-registry-token";
/// The user name ACR takes with a token as the password.
pub const TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

/// Decides whether a presented access token may pull.
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

struct Inner {
    addr: String,
    /// `{repo}/manifests/{ref}` and `{repo}/blobs/{digest}` -> (content type, bytes).
    content: BTreeMap<String, (String, Vec<u8>)>,
    check: TokenCheck,
    logins: AtomicUsize,
    refused: AtomicUsize,
}

/// A running fake registry; stops when dropped.
pub struct FakeAcr {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAcr {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAcr {
    /// Serves `image` as `{addr}/{repo}:{tag}`; `check` judges the passwords of logins.
    pub async fn start(repo: &str, tag: &str, image: &BuiltImage, check: TokenCheck) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake registry");
        let addr = listener.local_addr().expect("addr").to_string();
        let mut content = BTreeMap::new();
        let manifest_type = "application/vnd.oci.image.manifest.v1+json".to_string();
        for r in [tag.to_string(), image.manifest_digest.to_string()] {
            content.insert(
                format!("{repo}/manifests/{r}"),
                (manifest_type.clone(), image.manifest.clone()),
            );
        }
        content.insert(
            format!("{repo}/blobs/{}", image.config_digest),
            ("application/octet-stream".into(), image.config.clone()),
        );
        for (d, bytes) in &image.layers {
            content.insert(
                format!("{repo}/blobs/{}", d.digest),
                ("application/octet-stream".into(), bytes.clone()),
            );
        }
        let inner = Arc::new(Inner {
            addr,
            content,
            check,
            logins: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, task }
    }

    /// `127.0.0.1:{port}`, the registry part of image references.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// Logins granted so far.
    pub fn logins(&self) -> usize {
        self.inner.logins.load(Ordering::SeqCst)
    }

    /// Logins refused so far.
    pub fn refused(&self) -> usize {
        self.inner.refused.load(Ordering::SeqCst)
    }
}

fn answer(status: StatusCode, headers: &[(header::HeaderName, String)], body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(k.clone(), v);
        }
    }
    r
}

fn login(f: &Inner, headers: &HeaderMap) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let ok = basic
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .is_some_and(|(user, password)| user == TOKEN_USER && (f.check)(password));
    if !ok {
        f.refused.fetch_add(1, Ordering::SeqCst);
        return answer(
            StatusCode::UNAUTHORIZED,
            &[],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"the access token was refused"}]}"#
                .to_vec(),
        );
    }
    f.logins.fetch_add(1, Ordering::SeqCst);
    answer(
        StatusCode::OK,
        &[(header::CONTENT_TYPE, "application/json".into())],
        format!(r#"{{"access_token":"{REGISTRY_TOKEN}"}}"#).into_bytes(),
    )
}

async fn serve(State(f): State<Arc<Inner>>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return answer(StatusCode::METHOD_NOT_ALLOWED, &[], Vec::new());
    }
    let path = req.uri().path().replace("%3A", ":").replace("%3a", ":");
    if path == "/oauth2/token" {
        return login(&f, req.headers());
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return answer(StatusCode::NOT_FOUND, &[], Vec::new());
    };
    let authed = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {REGISTRY_TOKEN}").as_str());
    if !authed {
        let challenge = format!(
            r#"Bearer realm="http://{}/oauth2/token",service="{}""#,
            f.addr, f.addr
        );
        return answer(
            StatusCode::UNAUTHORIZED,
            &[(header::WWW_AUTHENTICATE, challenge)],
            b"{}".to_vec(),
        );
    }
    if rest.is_empty() {
        return answer(StatusCode::OK, &[], b"{}".to_vec());
    }
    match f.content.get(rest) {
        Some((ct, bytes)) => answer(
            StatusCode::OK,
            &[(header::CONTENT_TYPE, ct.clone())],
            bytes.clone(),
        ),
        None => answer(
            StatusCode::NOT_FOUND,
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.to_vec(),
        ),
    }
    .into_response()
}

//! Pulling from a registry that uses bearer tokens (the Docker Hub / ACR flow): an in-process
//! fake registry on 127.0.0.1:0 challenges with `WWW-Authenticate: Bearer realm=...`, its token
//! endpoint takes basic credentials. Also: multi-platform index resolution and a corrupted blob.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use http::{HeaderMap, StatusCode};
use sessions_runtime::image::spec::{Platform, OCI_INDEX};
use sessions_runtime::image::unpack::Compression;
use sessions_runtime::image::write::{self, LayerEntry};
use sessions_runtime::image::{
    ImageError, ImageStore, PullPolicy, RegistryCredentials, RegistryOptions,
};
use sessions_runtime::testing::{image, image_arch, layer};

const TOKEN: &str = "tok-123";

struct Fake {
    addr: String,
    /// `repo/kind/ref` -> (content type, bytes)
    content: BTreeMap<String, (String, Vec<u8>)>,
}

type Reply = hyper::Response<http_body_util::Full<bytes::Bytes>>;

fn reply(status: StatusCode, headers: &[(&str, String)], body: impl Into<bytes::Bytes>) -> Reply {
    let mut r = hyper::Response::new(http_body_util::Full::new(body.into()));
    *r.status_mut() = status;
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    r
}

fn token(headers: &HeaderMap, query: Option<&str>) -> Reply {
    let q: BTreeMap<String, String> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:pw")
    );
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(good.as_str());
    if !ok
        || q.get("service").map(String::as_str) != Some("fake-registry")
        || !q.get("scope").is_some_and(|s| s.starts_with("repository:"))
    {
        return reply(StatusCode::UNAUTHORIZED, &[], "bad credentials");
    }
    reply(
        StatusCode::OK,
        &[("content-type", "application/json".into())],
        serde_json::json!({ "token": TOKEN }).to_string(),
    )
}

fn v2(f: &Fake, rest: &str, headers: &HeaderMap) -> Reply {
    let authed = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authed {
        let repo = rest.split('/').next().unwrap_or("");
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="fake-registry",scope="repository:{repo}:pull""#,
            f.addr
        );
        return reply(
            StatusCode::UNAUTHORIZED,
            &[("www-authenticate", challenge)],
            "{}",
        );
    }
    match f.content.get(rest) {
        Some((ct, bytes)) => reply(
            StatusCode::OK,
            &[("content-type", ct.clone())],
            bytes.clone(),
        ),
        None => reply(
            StatusCode::NOT_FOUND,
            &[],
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#,
        ),
    }
}

/// The fake registry: `GET /token` and `GET /v2/{rest}` (HEAD answers like GET).
async fn serve(
    f: Arc<Fake>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<Reply, std::convert::Infallible> {
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, &[], ""));
    }
    let path = req.uri().path().replace("%3A", ":").replace("%3a", ":");
    Ok(if path == "/token" {
        token(req.headers(), req.uri().query())
    } else if let Some(rest) = path.strip_prefix("/v2/") {
        v2(&f, rest, req.headers())
    } else {
        reply(StatusCode::NOT_FOUND, &[], "")
    })
}

/// Serves `files` (an OCI layout) as repository `repo` with tag `v1` -> the top index entry.
fn add_repo(content: &mut BTreeMap<String, (String, Vec<u8>)>, repo: &str, files: &write::Files) {
    let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
    let top = &index["manifests"][0];
    for (path, bytes) in files {
        if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            let d = format!("sha256:{hex}");
            let ct = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| {
                    v.get("mediaType")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            content.insert(format!("{repo}/manifests/{d}"), (ct.clone(), bytes.clone()));
            content.insert(format!("{repo}/blobs/{d}"), (ct, bytes.clone()));
        }
    }
    let top_digest = top["digest"].as_str().unwrap();
    let top_bytes = content[&format!("{repo}/manifests/{top_digest}")].clone();
    content.insert(format!("{repo}/manifests/v1"), top_bytes);
}

async fn start(
    content: BTreeMap<String, (String, Vec<u8>)>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = Arc::new(Fake {
        addr: addr.clone(),
        content,
    });
    let h = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let fake = fake.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| serve(fake.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, h)
}

fn platform(arch: &str) -> Platform {
    Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: None,
    }
}

#[tokio::test]
async fn bearer_token_pull_of_a_multi_platform_index() {
    let arm = image_arch(
        vec![layer(
            vec![LayerEntry::file("arch", "arm64")],
            Compression::Gzip,
        )],
        "arm64",
    );
    let amd = image(vec![layer(
        vec![LayerEntry::file("arch", "amd64")],
        Compression::Zstd,
    )]);
    let files = write::oci_layout_multi(
        &[(arm, platform("arm64")), (amd.clone(), platform("amd64"))],
        None,
    )
    .unwrap();
    let mut content = BTreeMap::new();
    add_repo(&mut content, "app", &files);
    // A repository whose layer bytes were tampered with.
    let bad = image(vec![layer(
        vec![LayerEntry::file("x", "x")],
        Compression::Gzip,
    )]);
    let bad_files = write::oci_layout(&bad, None).unwrap();
    add_repo(&mut content, "bad", &bad_files);
    let layer_key = format!("bad/blobs/{}", bad.layers[0].0.digest);
    content.get_mut(&layer_key).unwrap().1.push(0);
    assert!(content.values().any(|(ct, _)| ct == OCI_INDEX));

    // The fake registry is a loopback one: plain HTTP.
    let (addr, server) = start(content).await;
    let creds = RegistryCredentials {
        server: addr.clone(),
        username: "user".into(),
        password: "pw".into(),
    };
    let opts = RegistryOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();

    let p = store
        .resolve(
            &format!("{addr}/app:v1"),
            Some(&creds),
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(p.digest, amd.manifest_digest.to_string());
    assert_eq!(
        std::fs::read_to_string(p.rootfs.join("arch")).unwrap(),
        "amd64"
    );

    let e = store
        .resolve(
            &format!("{addr}/bad:v1"),
            Some(&creds),
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains(bad.layers[0].0.digest.as_str()),
        "{e}"
    );

    let fresh = ImageStore::open(&dir.path().join("fresh")).unwrap();
    let e = fresh
        .resolve(
            &format!("{addr}/app:v1"),
            None,
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::Unauthorized { .. }), "{e}");
    let wrong = RegistryCredentials {
        password: "nope".into(),
        ..creds.clone()
    };
    let e = fresh
        .resolve(
            &format!("{addr}/app:v1"),
            Some(&wrong),
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("rejected"), "{e}");
    // Credentials for another server are not sent.
    let other = RegistryCredentials {
        server: "elsewhere.io".into(),
        ..creds.clone()
    };
    let e = fresh
        .resolve(
            &format!("{addr}/app:v1"),
            Some(&other),
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no credentials"), "{e}");
    server.abort();
}

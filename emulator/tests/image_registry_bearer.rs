//! Pulling from a registry that uses bearer tokens (the Docker Hub / ACR flow): an in-process
//! fake registry on 127.0.0.1:0 challenges with `WWW-Authenticate: Bearer realm=...`, its token
//! endpoint takes basic credentials. Also: multi-platform index resolution and a corrupted blob.

mod image_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use image_common::{image, image_arch, layer};
use sessions_emulator::image::spec::{Platform, OCI_INDEX};
use sessions_emulator::image::unpack::Compression;
use sessions_emulator::image::write::{self, LayerEntry};
use sessions_emulator::image::{
    ImageError, ImageStore, PullPolicy, RegistryCredentials, RegistryOptions,
};

const TOKEN: &str = "tok-123";

struct Fake {
    addr: String,
    /// `repo/kind/ref` -> (content type, bytes)
    content: BTreeMap<String, (String, Vec<u8>)>,
}

async fn token(headers: HeaderMap, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:pw")
    );
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(good.as_str());
    if !ok
        || q.get("service").map(String::as_str) != Some("fake-registry")
        || !q.get("scope").is_some_and(|s| s.starts_with("repository:"))
    {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    axum::Json(serde_json::json!({ "token": TOKEN })).into_response()
}

async fn v2(State(f): State<Arc<Fake>>, Path(rest): Path<String>, headers: HeaderMap) -> Response {
    let authed = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authed {
        let repo = rest.split('/').next().unwrap_or("");
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="fake-registry",scope="repository:{repo}:pull""#,
            f.addr
        );
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", challenge)],
            "{}",
        )
            .into_response();
    }
    match f.content.get(&rest) {
        Some((ct, bytes)) => (
            StatusCode::OK,
            [("content-type", ct.clone())],
            bytes.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#,
        )
            .into_response(),
    }
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
    let app = Router::new()
        .route("/token", get(token))
        .route("/v2/{*rest}", get(v2))
        .with_state(fake);
    let h = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
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

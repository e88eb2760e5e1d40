//! Pulling through the image store from a REAL local registry (Debian's `docker-registry`,
//! installed by `scripts/setup`) with htpasswd basic auth: push with our own OCI push code,
//! pull with credentials, compare digests; anonymous and wrong-password pulls are refused.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sessions_runtime::image::load::load_path;
use sessions_runtime::image::progress::Progress;
use sessions_runtime::image::registry;
use sessions_runtime::image::write;
use sessions_runtime::image::{
    ImageError, ImageStore, PullPolicy, Reference, RegistryCredentials, RegistryOptions,
};
use sessions_runtime::testing::rich_image;

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running registry, killed (and its temp dir removed) on drop.
struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_registry(user: &str, password: &str) -> Registry {
    start_registry_with(Some((user, password)), None)
}

/// Starts a registry with optional htpasswd auth and optional TLS (`(cert_pem, key_pem)`).
fn start_registry_with(auth: Option<(&str, &str)>, tls: Option<(&str, &str)>) -> Registry {
    assert!(
        Path::new(REGISTRY_BIN).exists(),
        "{REGISTRY_BIN} missing: run scripts/setup (apt package docker-registry)"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: test-secret\n",
        dir.path().join("data").display()
    );
    if let Some((cert, key)) = tls {
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        config.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.path().join("cert.pem").display(),
            dir.path().join("key.pem").display()
        ));
    }
    if let Some((user, password)) = auth {
        let hash = bcrypt::hash(password, 4).unwrap();
        std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
            dir.path().join("htpasswd").display()
        ));
    }
    let cfg: PathBuf = dir.path().join("config.yml");
    std::fs::write(&cfg, config).unwrap();
    let child = Command::new(REGISTRY_BIN)
        .arg("serve")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reg = Registry {
        child,
        addr,
        _dir: dir,
    };
    wait_ready(&reg.addr, tls.is_some());
    reg
}

/// Waits (bounded) until the registry answers `/v2/`.
fn wait_ready(addr: &str, tls: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tls {
            // A TLS listener: being connectable is enough (the handshake is the client's job).
            if std::net::TcpStream::connect(addr).is_ok() {
                return;
            }
        } else if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n").is_ok() {
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "registry on {addr} did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_pull() {
    let reg = start_registry("tester", "s3cret-pw");
    let creds = RegistryCredentials {
        server: reg.addr.clone(),
        username: "tester".into(),
        password: "s3cret-pw".into(),
    };
    let opts = RegistryOptions::default();
    let remote = format!("{}/sample-session:latest", reg.addr);

    // Load an image locally, then push it with our own push code.
    let dir = tempfile::tempdir().unwrap();
    let img = rich_image();
    write::write_dir(
        &write::oci_layout(&img, Some("localhost/sample-session:latest")).unwrap(),
        &dir.path().join("oci"),
    )
    .unwrap();
    let src = ImageStore::open(&dir.path().join("src")).unwrap();
    let loaded = load_path(&src, &dir.path().join("oci"), None, &mut Progress::quiet()).unwrap();
    let target = Reference::parse(&remote).unwrap();

    // Pushing anonymously is refused with a 401-derived error.
    let e = registry::push(&src, &loaded[0].digest, &target, None, &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::Unauthorized { .. }), "{e}");

    let pushed = registry::push(&src, &loaded[0].digest, &target, Some(&creds), &opts)
        .await
        .unwrap();
    assert_eq!(pushed, loaded[0].digest);

    // Pull into a fresh store through resolve() with basic auth.
    let dst = ImageStore::open(&dir.path().join("dst")).unwrap();
    let prepared = dst
        .resolve(&remote, Some(&creds), PullPolicy::IfMissing, &opts)
        .await
        .unwrap();
    assert_eq!(prepared.digest, loaded[0].digest.to_string());
    let original = src.prepare("x", &loaded[0].digest).unwrap();
    assert_eq!(
        sessions_runtime::testing::tree(&prepared.rootfs),
        sessions_runtime::testing::tree(&original.rootfs)
    );
    assert_eq!(prepared.config.entrypoint, vec!["/app/server"]);
    // Now cached: resolving again needs no registry access.
    let again = dst
        .resolve(&remote, None, PullPolicy::Never, &opts)
        .await
        .unwrap();
    assert_eq!(again.digest, prepared.digest);
    // By digest too.
    let by_digest = format!("{}/sample-session@{}", reg.addr, prepared.digest);
    let anon = ImageStore::open(&dir.path().join("bydigest")).unwrap();
    let p = anon
        .resolve(&by_digest, Some(&creds), PullPolicy::IfMissing, &opts)
        .await
        .unwrap();
    assert_eq!(p.digest, prepared.digest);

    // Anonymous pull: a clear 401-derived error, nothing tagged.
    let anon = ImageStore::open(&dir.path().join("anon")).unwrap();
    let e = anon
        .resolve(&remote, None, PullPolicy::IfMissing, &opts)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ImageError::Unauthorized { .. }), "{msg}");
    assert!(
        msg.contains("401") && msg.contains("no credentials"),
        "{msg}"
    );
    assert!(anon.list().unwrap().is_empty());

    // Wrong password: also refused, naming the user.
    let bad = RegistryCredentials {
        password: "wrong".into(),
        ..creds.clone()
    };
    let e = anon
        .resolve(&remote, Some(&bad), PullPolicy::IfMissing, &opts)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`tester` were rejected"), "{e}");

    // Unknown tag: the registry's 404 comes through.
    let e = anon
        .resolve(
            &format!("{}/sample-session:nope", reg.addr),
            Some(&creds),
            PullPolicy::IfMissing,
            &opts,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
    drop(reg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_pull_https() {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = ck.cert.pem();
    let key = ck.signing_key.serialize_pem();
    let reg = start_registry_with(None, Some((&cert, &key)));
    let remote = format!("{}/tls-app:v1", reg.addr);
    let https = RegistryOptions {
        plain_http: Some(false),
        ca_pem: Some(cert.clone().into_bytes()),
    };

    let dir = tempfile::tempdir().unwrap();
    let img = rich_image();
    write::write_dir(
        &write::oci_layout(&img, None).unwrap(),
        &dir.path().join("oci"),
    )
    .unwrap();
    let src = ImageStore::open(&dir.path().join("src")).unwrap();
    let loaded = load_path(&src, &dir.path().join("oci"), None, &mut Progress::quiet()).unwrap();
    let target = Reference::parse(&remote).unwrap();
    registry::push(&src, &loaded[0].digest, &target, None, &https)
        .await
        .unwrap();

    let dst = ImageStore::open(&dir.path().join("dst")).unwrap();
    let p = dst
        .resolve(&remote, None, PullPolicy::IfMissing, &https)
        .await
        .unwrap();
    assert_eq!(p.digest, loaded[0].digest.to_string());

    // Without trusting the CA, HTTPS fails with a clear transport error.
    let untrusted = RegistryOptions {
        plain_http: Some(false),
        ca_pem: None,
    };
    let other = ImageStore::open(&dir.path().join("other")).unwrap();
    let e = other
        .resolve(&remote, None, PullPolicy::IfMissing, &untrusted)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot reach registry at https://"),
        "{e}"
    );
    drop(reg);
}

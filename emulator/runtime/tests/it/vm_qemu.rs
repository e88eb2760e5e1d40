//! Real microVM tests of the `qemu` backend (TCG on our machines, a few seconds each): boot
//! the sample image, HTTP through the port forward, separate stdout/stderr, exit codes, stop
//! and SIGKILL leave no QEMU behind, egress rules, template clones with distinct randomness.
//!
//! Needs `make guest` (static `sessions-agent` and `sample-session`) and scripts/setup's
//! packages (qemu-system-x86, linux-image-cloud-amd64).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::{Duration, Instant};

use sessions_runtime::vm::qemu::{QemuBackend, QemuOptions, VmControl};
use sessions_runtime::vm::sample::sample_image;
use sessions_runtime::vm::{Backend, ContainerSpec, ExitStatus, LogStream, Session, SessionSpec};

/// Generous bound for a TCG boot on a busy 2-core machine.
const BOOT: Duration = Duration::from_secs(120);

struct Fixture {
    _dir: tempfile::TempDir,
    backend: QemuBackend,
    image: sessions_runtime::image::PreparedImage,
}

async fn fixture(templates: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let rootfs = dir.path().join("rootfs");
    let image = sample_image(&rootfs).expect("sample image (run `make guest` first)");
    let mut options = QemuOptions::new(dir.path().join("data"));
    options.templates = templates;
    let backend = QemuBackend::new(options).await.expect("qemu backend");
    Fixture {
        _dir: dir,
        backend,
        image,
    }
}

fn spec(f: &Fixture, id: &str, egress: bool) -> SessionSpec {
    SessionSpec::new(
        id,
        f.image.clone(),
        ContainerSpec {
            egress_enabled: egress,
            env: vec![("GREETING".into(), "hi".into())],
            ..ContainerSpec::default()
        },
    )
}

/// Polls until the container answers HTTP 200 on `path`, bounded by [`BOOT`].
async fn http_ok(session: &Session, path: &str) -> serde_json::Value {
    session.wait_running(BOOT).await.expect("container started");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("http://{}{path}", session.addr);
    let deadline = Instant::now() + BOOT;
    loop {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().as_u16() == 200 {
                return r.json().await.unwrap_or(serde_json::Value::Null);
            }
        }
        assert!(Instant::now() < deadline, "no HTTP 200 from {url}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; treat it as gone only once reaped or dead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

async fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while alive(pid) {
        assert!(Instant::now() < deadline, "qemu pid {pid} still alive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn qemu_pid(s: &Session) -> u32 {
    s.info.host_pid.expect("qemu pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_boot_http_logs_and_exit_code() {
    let f = fixture(false).await;
    let mut s = f
        .backend
        .start_with(spec(&f, "sess-boot", true), false)
        .await
        .expect("start");
    let pid = qemu_pid(&s);
    let echo = http_ok(&s, "/hello?x=1").await;
    assert_eq!(echo["hostname"], "sess-boot", "{echo}");
    assert_eq!(echo["path"], "/hello");
    assert_ne!(echo["kernel"], "fake");
    assert!(!s.info.from_template);

    let mut logs = s.logs.take().expect("logs");
    let client = reqwest::Client::new();
    let base = format!("http://{}", s.addr);
    client
        .post(format!("{base}/log?stream=stdout&line=to-stdout"))
        .send()
        .await
        .expect("log");
    client
        .post(format!("{base}/log?stream=stderr&line=to-stderr"))
        .send()
        .await
        .expect("log");
    let (mut out, mut err) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(out && err) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = tokio::time::timeout(left, logs.recv())
            .await
            .expect("log lines in time")
            .expect("line");
        out |= line.stream == LogStream::Stdout && line.line == "to-stdout";
        err |= line.stream == LogStream::Stderr && line.line == "to-stderr";
        assert!(
            !(line.line == "to-stdout" && line.stream == LogStream::Stderr),
            "stdout line on stderr"
        );
    }

    let _ = client.post(format!("{base}/exit?code=7")).send().await;
    let status = tokio::time::timeout(Duration::from_secs(30), s.wait_exit())
        .await
        .expect("exit in time");
    assert_eq!(status, ExitStatus::Code { code: 7 });
    wait_gone(pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_stop_leaves_no_qemu_or_sockets() {
    let f = fixture(false).await;
    let s = f
        .backend
        .start_with(spec(&f, "sess-stop", true), false)
        .await
        .expect("start");
    let pid = qemu_pid(&s);
    http_ok(&s, "/").await;
    let status = s.control.stop(Duration::from_secs(5)).await;
    assert!(
        matches!(
            status,
            ExitStatus::Signal { signal: 15 } | ExitStatus::Code { .. } | ExitStatus::Killed
        ),
        "{status:?}"
    );
    wait_gone(pid).await;
    let mine = format!("{}-", std::process::id());
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir().join("sessions-vm"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&mine) && n.contains("sess-stop"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "runtime dirs left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_guests_reach_no_host_service_but_the_forward_works() {
    let f = fixture(false).await;
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("host listener");
    let port = listener.local_addr().expect("addr").port();
    let host = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), port);

    let closed = f
        .backend
        .start_with(spec(&f, "sess-noegress", false), false)
        .await
        .expect("start");
    let open = f
        .backend
        .start_with(spec(&f, "sess-egress", true), false)
        .await
        .expect("start");
    http_ok(&closed, "/").await;
    http_ok(&open, "/").await;
    let blocked = probe(&closed).guest_connect(host).await;
    assert!(
        blocked.is_err(),
        "egress disabled but the guest reached the host: {blocked:?}"
    );
    // Egress enabled reaches the internet, never the host: the gateway is the host's
    // loopback, which the frame filter keeps out of reach.
    let also_blocked = probe(&open).guest_connect(host).await;
    assert!(
        also_blocked.is_err(),
        "egress enabled and the guest reached a host service: {also_blocked:?}"
    );
    closed.control.kill().await;
    open.control.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_session_cannot_reach_another_sessions_forward() {
    let f = fixture(false).await;
    // Both with egress enabled: the most permissive case.
    let a = f
        .backend
        .start_with(spec(&f, "iso-a", true), false)
        .await
        .expect("start a");
    let b = f
        .backend
        .start_with(spec(&f, "iso-b", true), false)
        .await
        .expect("start b");
    http_ok(&a, "/").await;
    http_ok(&b, "/").await;
    // From inside A, the host is the slirp gateway; B's forward must not be reachable there.
    let b_via_gateway = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), b.addr.port());
    let reached = probe(&a).guest_connect(b_via_gateway).await;
    assert!(
        reached.is_err(),
        "session A reached session B's forwarded port {}: {reached:?}",
        b.addr
    );
    a.control.kill().await;
    b.control.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_template_clones_have_distinct_randomness() {
    let f = fixture(true).await;
    let a = f
        .backend
        .start_with(spec(&f, "clone-a", true), true)
        .await
        .expect("start a");
    let b = f
        .backend
        .start_with(spec(&f, "clone-b", true), true)
        .await
        .expect("start b");
    assert!(
        a.info.from_template && b.info.from_template,
        "clones expected: {:?} {:?}",
        a.info,
        b.info
    );
    let ea = http_ok(&a, "/").await;
    let eb = http_ok(&b, "/").await;
    assert_eq!(
        (ea["hostname"].as_str(), eb["hostname"].as_str()),
        (Some("clone-a"), Some("clone-b"))
    );
    assert_ne!(ea["random"], eb["random"], "clones share random state");
    a.control.kill().await;
    b.control.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_large_rootfs_boots_from_an_erofs_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rootfs = dir.path().join("rootfs");
    let mut image = sample_image(&rootfs).expect("sample image (run `make guest` first)");
    // A rootfs above the (lowered) threshold: 4 MiB of data the app never reads.
    std::fs::write(rootfs.join("filler.bin"), vec![7u8; 4 << 20]).expect("filler");
    image.rootfs_bytes += 4 << 20;
    let mut options = QemuOptions::new(dir.path().join("data"));
    options.disk_threshold_bytes = 1 << 20;
    let backend = QemuBackend::new(options).await.expect("qemu backend");
    let f = Fixture {
        _dir: dir,
        backend,
        image,
    };
    let cold = f
        .backend
        .start_with(spec(&f, "disk-cold", true), false)
        .await
        .expect("start cold");
    let echo = http_ok(&cold, "/").await;
    assert_eq!(echo["hostname"], "disk-cold", "{echo}");
    let media = f._dir.path().join("data/vm/media");
    let disks: Vec<_> = std::fs::read_dir(&media)
        .expect("media dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "erofs"))
        .collect();
    assert_eq!(
        disks.len(),
        1,
        "one erofs image expected in {}",
        media.display()
    );
    let initrd = disks[0].path().with_extension("cpio");
    let initrd_bytes = std::fs::metadata(&initrd).expect("initramfs").len();
    assert!(
        initrd_bytes < 4 << 20,
        "the rootfs went into the initramfs too ({initrd_bytes} bytes)"
    );
    cold.control.kill().await;
    // Clones of a disk-booted template work the same way.
    let clone = f
        .backend
        .start_with(spec(&f, "disk-clone", true), true)
        .await
        .expect("start clone");
    assert!(clone.info.from_template, "{:?}", clone.info);
    let echo = http_ok(&clone, "/").await;
    assert_eq!(echo["hostname"], "disk-clone", "{echo}");
    clone.control.kill().await;
}

/// Environment variable that turns [`real_vm_sigkill_helper`] into the helper process.
const HELPER_ENV: &str = "SESSIONS_VM_TEST_HELPER";

/// Not a test on its own: when run as a child with `SESSIONS_VM_TEST_HELPER=<dir>` it starts a
/// VM, prints the QEMU pid and waits to be SIGKILLed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_sigkill_helper() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let image = sample_image(&Path::new(&dir).join("rootfs")).expect("sample image");
    let mut options = QemuOptions::new(Path::new(&dir).join("data"));
    options.templates = false;
    let backend = QemuBackend::new(options).await.expect("backend");
    let spec = SessionSpec::new("orphan", image, ContainerSpec::default());
    let s = backend.start(spec).await.expect("start");
    println!("QEMU_PID={}", qemu_pid(&s));
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_vm_sigkilled_parent_takes_qemu_along() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "vm_qemu::real_vm_sigkill_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("helper");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(pid) = line
                .split("QEMU_PID=")
                .nth(1)
                .and_then(|p| p.trim().parse::<u32>().ok())
            {
                let _ = tx.send(pid);
            }
        }
    });
    let pid = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(pid) => pid,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("helper did not start a VM");
        }
    };
    assert!(alive(pid));
    child.kill().expect("SIGKILL helper");
    child.wait().expect("reap helper");
    wait_gone(pid).await;
    // The helper's runtime dir is left behind (it was SIGKILLed); the next backend sweeps it.
    sessions_runtime::vm::qemu::rundir::sweep_stale();
    let helper_dirs = std::fs::read_dir(std::env::temp_dir().join("sessions-vm"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{}-", child.id()))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(helper_dirs, 0, "sweep left the dead helper's runtime dir");
}

fn probe(s: &Session) -> &VmControl {
    s.control
        .as_any()
        .and_then(|a| a.downcast_ref::<VmControl>())
        .expect("qemu control")
}

//! What CI users run (see `examples/ci/`), for real: the image check (the release
//! `sessions-emulator`, QEMU microVMs) on images these tests build from the sample session
//! binary (`sessions_guest::SAMPLE_SESSION`), and `terraform test` of `examples/terraform-test`.
//!
//!
//! - `real_image_check_passes_on_the_sample_image`: the check starts its own emulator, loads
//!   the sample image from an OCI archive tar, and every step passes; then the same image as a
//!   reference to a local registry (`docker-registry`), pulled by the emulator.
//! - `real_image_check_explains_broken_images`: one emulator started by the test (shared through
//!   `--data-dir`), three broken `docker save` images, each failing with the message that says
//!   what to fix: an app listening on 9090 checked with `--target-port 8080`, an app that exits
//!   with code 3 at start, an app whose `/health` answers 503 under a Startup probe.
//!
//! - `real_terraform_test_example_passes`: `terraform test` of `examples/terraform-test` (copied
//!   to a temp dir) against an emulator started as `examples/ci` does (here `--backend fake`,
//!   the suite checks Terraform, not VMs), with the debug provider through `dev_overrides`.
//!
//! - `real_terraform_suite_passes`: the `terraform` suite (plan, apply, empty plan, in-place
//!   update, replacement, import, `-generate-config-out`, drift, the stop_session action over
//!   gRPC, destroy; `apply -invoke` skipped below Terraform 1.14) against an emulator with
//!   `--backend fake`.
//!
//! They first build what they run (`cargo build --release -p sessions-emulator`, `cargo build
//! -p terraform-provider-azuresessions`), which `make test` has done, so it finds nothing to do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sessions_conformance::emulator::{Backend, Emulator, StartOptions};
use sessions_conformance::image::report::{Outcome, Report};
use sessions_conformance::image::{check, ImageArgs};
use sessions_runtime::image::{sample, write};

use crate::support::{cargo_build, release_emulator, root, target_dir};

/// The sample image with `env` added and `port` declared, as a tar (`docker save` or OCI).
fn sample_image(dir: &Path, name: &str, env: &[&str], port: u16, oci: bool) -> PathBuf {
    let bin = sessions_guest::SAMPLE_SESSION
        .unwrap_or_else(|| panic!("{}", sessions_guest::ABSENT))
        .to_vec();
    let mut spec = sample::spec(bin, "sample-session", port);
    let vars = spec.config.env.get_or_insert_with(Vec::new);
    vars.extend(env.iter().map(|s| s.to_string()));
    let img = write::build(&spec).expect("build the image");
    let reference = format!("localhost/{name}:v1");
    let files = if oci {
        write::oci_layout(&img, Some(&reference)).expect("OCI layout")
    } else {
        write::docker_save(&img, &[reference.as_str()]).expect("docker save")
    };
    let path = dir.join(format!("{name}.tar"));
    write::write_tar(&files, &path).expect("write the tar");
    path
}

/// A local registry (`docker-registry`, installed by `scripts/setup`), killed on drop.
struct Registry {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_registry() -> Registry {
    let bin = "/usr/bin/docker-registry";
    assert!(
        Path::new(bin).exists(),
        "{bin} missing: run scripts/setup (apt package docker-registry)"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  secret: test-secret\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the registry did not listen on {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Registry {
        child,
        addr,
        _dir: dir,
    }
}

/// Pushes the image file to `reference` through a scratch image store.
fn push(bin: &Path, file: &Path, reference: &str) {
    let store = tempfile::tempdir().unwrap();
    for args in [
        vec!["image", "load", file.to_str().unwrap(), "--tag", reference],
        vec!["image", "push", reference],
    ] {
        let out = Command::new(bin)
            .args(&args)
            .arg("--data-dir")
            .arg(store.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sessions-emulator {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn args(image: &Path, port: u16, bin: &Path) -> ImageArgs {
    ImageArgs {
        image: image.display().to_string(),
        target_port: port,
        probes: Vec::new(),
        env: Vec::new(),
        cpu: 0.5,
        memory: "1Gi".into(),
        probe_period: 1,
        probe_failure_threshold: 3,
        start_timeout: 20,
        timeout: 300,
        data_dir: None,
        emulator_bin: Some(bin.to_path_buf()),
        backend: Backend::Qemu,
        allow_silent: false,
    }
}

fn step<'a>(r: &'a Report, prefix: &str) -> &'a sessions_conformance::image::report::Step {
    r.steps
        .iter()
        .find(|s| s.name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no step '{prefix}' in {:#?}", r.steps))
}

fn failure(r: &Report) -> String {
    let failed: Vec<_> = r
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Fail)
        .collect();
    assert_eq!(failed.len(), 1, "exactly one step fails: {:#?}", r.steps);
    format!("{}: {}", failed[0].name, failed[0].detail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_image_check_passes_on_the_sample_image() {
    let bin = release_emulator();
    let dir = tempfile::tempdir().unwrap();
    let image = sample_image(dir.path(), "good", &[], 8080, true);
    let mut a = args(&image, 8080, &bin);
    a.probes = vec![
        "startup:http:/health".parse().unwrap(),
        "liveness:tcp".parse().unwrap(),
    ];
    a.env = vec!["GREETING=hello".parse().unwrap()];
    let t = Instant::now();
    let report = check(a).await.expect("the check runs");
    eprintln!("check took {:.1} s", t.elapsed().as_secs_f64());
    assert!(report.passed(), "{:#?}", report.steps);
    assert_eq!(report.summary(), "8 passed, 0 failed");
    assert!(step(&report, "image loads").detail.contains("OCI archive"));
    assert!(step(&report, "image loads").detail.contains("1 layer(s)"));
    assert!(step(&report, "image loads")
        .detail
        .contains("EXPOSE 8080/tcp"));
    assert!(step(&report, "Startup probe (HTTP GET /health) passes").outcome == Outcome::Pass);
    assert!(step(&report, "console logs arrive")
        .detail
        .contains("sample-session listening on 0.0.0.0:8080"));

    // The same image from a registry reference.
    let registry = start_registry();
    let reference = format!("{}/conformance/good:v1", registry.addr);
    push(&bin, &image, &reference);
    let mut a = args(Path::new(&reference), 8080, &bin);
    a.image = reference.clone();
    let report = check(a).await.expect("the check runs");
    assert!(report.passed(), "{:#?}", report.steps);
    let loaded = &step(&report, "image loads").detail;
    assert!(loaded.starts_with("pulled"), "{loaded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_image_check_explains_broken_images() {
    let bin = release_emulator();
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(StartOptions {
        bin: Some(bin.clone()),
        ..Default::default()
    })
    .await
    .expect("start the emulator");
    let data_dir = emu.data_dir().to_path_buf();

    // Listens on 9090 (and declares it), checked on 8080.
    let image = sample_image(dir.path(), "wrong-port", &["PORT=9090"], 9090, false);
    let mut a = args(&image, 8080, &bin);
    a.data_dir = Some(data_dir.clone());
    let report = check(a).await.expect("the check runs");
    let msg = failure(&report);
    assert!(
        msg.starts_with("target port 8080 accepts connections"),
        "{msg}"
    );
    assert!(
        msg.contains("nothing accepted connections on the target port 8080"),
        "{msg}"
    );
    assert!(msg.contains("listens on port 9090"), "{msg}");
    assert!(msg.contains("EXPOSE 9090/tcp"), "{msg}");
    assert!(msg.contains("--target-port 9090"), "{msg}");

    // Exits with code 3 at start.
    let image = sample_image(
        dir.path(),
        "crash",
        &["SAMPLE_EXIT_AT_START=3"],
        8080,
        false,
    );
    let mut a = args(&image, 8080, &bin);
    a.data_dir = Some(data_dir.clone());
    let report = check(a).await.expect("the check runs");
    let msg = failure(&report);
    // The start fails, or (when the emulator declared the session ready before the exit) the
    // first request does; either way the exit code and the console say why.
    assert!(
        msg.starts_with("container starts") || msg.starts_with("HTTP answers"),
        "{msg}"
    );
    assert!(msg.contains("exit code 3"), "{msg}");
    assert!(
        msg.contains("| sample-session: exiting at start with code 3"),
        "{msg}"
    );

    // /health answers 503: the Startup probe never passes.
    let image = sample_image(
        dir.path(),
        "unhealthy",
        &["SAMPLE_UNHEALTHY=1"],
        8080,
        false,
    );
    let mut a = args(&image, 8080, &bin);
    a.data_dir = Some(data_dir.clone());
    a.probes = vec!["startup:http:/health".parse().unwrap()];
    let report = check(a).await.expect("the check runs");
    let msg = failure(&report);
    assert!(
        msg.contains("Startup probe (HTTP GET /health) never passed"),
        "{msg}"
    );
    assert!(msg.contains("503"), "{msg}");

    // The broken pools were deleted and their images removed from the shared emulator.
    let ls = Command::new(&bin)
        .args(["image", "ls", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert!(!ls.contains("conformance-check"), "{ls}");
    let pid = emu.pid();
    emu.stop().await.expect("a clean exit on SIGTERM");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the emulator outlived stop()"
    );
    assert!(!data_dir.exists(), "the emulator's temp data dir is left");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_test_example_passes() {
    let bin = release_emulator();
    cargo_build(&["-p", "terraform-provider-azuresessions"]);
    let provider_dir = target_dir().join("debug");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("module");
    copy_dir(&root().join("examples/terraform-test"), &work);
    let tfrc = dir.path().join("terraformrc");
    std::fs::write(
        &tfrc,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/azuresessions/azuresessions\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        ),
    )
    .unwrap();
    let emu = Emulator::start(StartOptions {
        bin: Some(bin),
        backend: Backend::Fake,
        ..Default::default()
    })
    .await
    .expect("start the emulator");
    let t = Instant::now();
    let out = tokio::process::Command::new("terraform")
        .args(["test", "-no-color"])
        .current_dir(&work)
        .envs(emu.ready().env_vars())
        .env("TF_CLI_CONFIG_FILE", &tfrc)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_LOG")
        .kill_on_drop(true)
        .output()
        .await
        .expect("`terraform` (>= 1.11) must be on PATH");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("terraform test took {:.1} s", t.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "terraform test failed:\n{text}\nemulator log:\n{}",
        emu.log_tail(20)
    );
    assert!(text.contains("Success! 4 passed, 0 failed."), "{text}");
    emu.stop().await.expect("a clean exit on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_suite_passes() {
    use sessions_conformance::terraform::{self, Outcome};
    let bin = release_emulator();
    cargo_build(&["-p", "terraform-provider-azuresessions"]);
    let provider_dir = terraform::find_provider_dir(Some(&target_dir().join("debug"))).unwrap();
    let emu = Emulator::start(StartOptions {
        bin: Some(bin),
        backend: Backend::Fake,
        ..Default::default()
    })
    .await
    .expect("start the emulator");
    let t = Instant::now();
    let results = terraform::run_suite(emu.ready(), &provider_dir, &[])
        .await
        .expect("the suite runs");
    eprintln!("terraform suite took {:.1} s", t.elapsed().as_secs_f64());
    for r in &results {
        eprintln!(
            "{:<22} {:>6.1} s  {:?}",
            r.name,
            r.elapsed.as_secs_f64(),
            r.outcome
        );
    }
    let names: Vec<&str> = results.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        terraform::STEPS.iter().map(|s| s.0).collect::<Vec<_>>()
    );
    for r in &results {
        match (&r.outcome, r.name) {
            (Outcome::Pass(_), _) => {}
            (Outcome::Skip(why), "stop_session_invoke") => {
                assert!(why.contains(">= 1.14"), "{why}")
            }
            (o, n) => panic!("{n}: {o:?}\nemulator log:\n{}", emu.log_tail(20)),
        }
    }
    emu.stop().await.expect("a clean exit on SIGTERM");
}

//! The `sessions-conformance` binary as CI runs it, checked through its reports:
//!
//! - `list_prints_every_case_with_its_purpose`: `--list` and `--suite` filtering; an unknown
//!   suite is exit 2 with the list of suites.
//! - `fake_backend_suites_pass_and_report`: `--target emulator --backend fake` (an emulator
//!   the run starts: the debug `sessions-emulator` the workspace build made) for the suites
//!   that need no microVM; exit 0, the summary line, JUnit XML and JSON agree.
//! - `a_failing_case_prints_its_request_and_response`: `--endpoint` at a fake service whose
//!   ARM answers 500: exit 1, the progress line shows the request and the response that
//!   failed, and the JUnit `<failure>` carries them.
//! - `real_emulator_target_passes_every_suite`: the whole emulator-target run with the qemu
//!   backend (the release emulator, built first as `make test` does): exit 0, no failure in the
//!   JUnit report, every suite but `terraform` has cases and nothing is skipped there; the
//!   time per suite is printed.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sessions-conformance");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"))
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("ARM_") || k.starts_with("AZURE_") || k.starts_with("SESSIONS_") {
            cmd.env_remove(&k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run sessions-conformance")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The last non-empty stdout line.
fn last_line(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

/// `N passed, N failed[, N skipped]` -> (passed, failed, skipped).
fn counts(line: &str) -> Option<(usize, usize, usize)> {
    let mut parts = line.split(", ");
    let n = |p: Option<&str>, word: &str| -> Option<usize> {
        p?.strip_suffix(word)?.trim().parse().ok()
    };
    let passed = n(parts.next(), " passed")?;
    let failed = n(parts.next(), " failed")?;
    let skipped = match parts.next() {
        Some(p) => n(Some(p), " skipped")?,
        None => 0,
    };
    parts.next().is_none().then_some((passed, failed, skipped))
}

/// A debug `sessions-emulator` the workspace build made (nextest builds every bin of the
/// workspace before running tests).
fn debug_emulator() -> PathBuf {
    let bin = target_dir().join("debug/sessions-emulator");
    assert!(
        bin.is_file(),
        "{} missing: `cargo build -p sessions-emulator` builds it",
        bin.display()
    );
    bin
}

/// JUnit checks shared by the runs: attribute `name` of the root element.
fn attr(xml: &str, element: &str, name: &str) -> Option<String> {
    let at = xml.find(&format!("<{element} "))?;
    let tail = &xml[at..];
    let end = tail.find('>')?;
    let head = &tail[..end];
    let key = format!(" {name}=\"");
    let start = head.find(&key)? + key.len();
    let len = head[start..].find('"')?;
    Some(head[start..start + len].to_string())
}

#[test]
fn list_prints_every_case_with_its_purpose() {
    let out = run(&["--list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    for suite in [
        "arm/",
        "identity/",
        "dataplane/",
        "lifecycle/",
        "probes/",
        "isolation/",
        "observability/",
    ] {
        assert!(
            list.lines().any(|l| l.starts_with(suite)),
            "no {suite} case in:\n{list}"
        );
    }
    assert!(list.lines().all(|l| l
        .split_once("  ")
        .is_some_and(|(_, p)| !p.trim().is_empty())));
    let out = run(&["--list", "--suite", "identity"], &[]);
    assert!(text(&out.stdout)
        .lines()
        .all(|l| l.starts_with("identity/")));
    let out = run(&["--suite", "nope"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown suite `nope`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn fake_backend_suites_pass_and_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("out.xml");
    let json = dir.path().join("out.json");
    let emulator = debug_emulator();
    let out = run(
        &[
            "--target",
            "emulator",
            "--backend",
            "fake",
            "--emulator-bin",
            emulator.to_str().expect("utf-8"),
            "--suite",
            "arm",
            "--suite",
            "identity",
            "--suite",
            "dataplane",
            "--suite",
            "observability",
            "--junit",
            junit.to_str().expect("utf-8"),
            "--json",
            json.to_str().expect("utf-8"),
        ],
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let (passed, failed, skipped) = counts(&last_line(&out)).expect("summary line");
    assert_eq!((failed, skipped), (0, 0), "{stdout}");
    assert!(passed >= 20, "{stdout}");
    assert!(
        stdout.contains("known deviation `pool-endpoint-host`"),
        "{stdout}"
    );

    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert_eq!(attr(&xml, "testsuites", "tests"), Some(passed.to_string()));
    assert_eq!(attr(&xml, "testsuites", "failures"), Some("0".into()));
    assert_eq!(xml.matches("<testcase ").count(), passed);
    assert_eq!(xml.matches("<testsuite ").count(), 4);

    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("json");
    assert_eq!(report["summary"]["passed"], passed);
    assert_eq!(report["summary"]["failed"], 0);
    assert!(
        report["summary"]["deviations"].as_u64() >= Some(2),
        "{}",
        report["summary"]
    );
    let cases = report["cases"].as_array().expect("cases");
    assert!(cases
        .iter()
        .all(|c| c["outcome"] == "passed" && c["millis"].is_u64()));
}

#[tokio::test]
async fn a_failing_case_prints_its_request_and_response() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"{"token_type":"Bearer","expires_in":3600,"access_token":"a.b.c"}"#,
            ),
        )
        .mount(&fake)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string(
            r#"{"error":{"code":"InternalServerError","message":"broken on purpose"}}"#,
        ))
        .mount(&fake)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("out.xml");
    let uri = fake.uri();
    let junit_s = junit.to_str().expect("utf-8").to_string();
    let out = tokio::task::spawn_blocking(move || {
        run(
            &[
                "--endpoint",
                &uri,
                "--backend",
                "fake",
                "--case",
                "arm/not_found",
                "--junit",
                &junit_s,
            ],
            &[
                ("ARM_TENANT_ID", "t1"),
                ("ARM_CLIENT_ID", "c1"),
                ("ARM_CLIENT_SECRET", "do-not-print-me"),
                ("ARM_SUBSCRIPTION_ID", "s1"),
            ],
        )
    })
    .await
    .expect("join");
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("arm/not_found ... FAILED"), "{stdout}");
    assert!(stdout.contains("expected status 404, got 500"), "{stdout}");
    assert!(stdout.contains("  > GET http://127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("  > authorization: Bearer [token]"),
        "{stdout}"
    );
    assert!(stdout.contains("  < 500"), "{stdout}");
    assert!(stdout.contains("broken on purpose"), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"), "{stdout}");
    assert_eq!(last_line(&out), "0 passed, 1 failed");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains("<failure message=\"GET of a missing pool: expected status 404, got 500\""),
        "{xml}"
    );
    assert!(xml.contains("broken on purpose"), "{xml}");
}

/// Builds (or finds up to date) the release emulator, as `make test` does first.
fn release_emulator() -> PathBuf {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if (k.starts_with("CARGO_") && k != "CARGO_TARGET_DIR" && k != "CARGO_HOME")
            || k.starts_with("NEXTEST")
            || k.starts_with("__NEXTEST")
        {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .args([
            "build",
            "--release",
            "-p",
            "sessions-emulator",
            "--bin",
            "sessions-emulator",
        ])
        .current_dir(root())
        .output()
        .expect("cargo build");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bin = target_dir().join("release/sessions-emulator");
    assert!(bin.is_file());
    bin
}

#[test]
fn real_emulator_target_passes_every_suite() {
    let emulator = release_emulator();
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("conformance.xml");
    let json = dir.path().join("conformance.json");
    let started = Instant::now();
    let out = run(
        &[
            "--target",
            "emulator",
            "--emulator-bin",
            emulator.to_str().expect("utf-8"),
            "--junit",
            junit.to_str().expect("utf-8"),
            "--json",
            json.to_str().expect("utf-8"),
        ],
        &[],
    );
    let stdout = text(&out.stdout);
    println!(
        "{stdout}\n(whole run {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let (_, failed, _) = counts(&last_line(&out)).expect("summary line");
    assert_eq!(failed, 0);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert_eq!(attr(&xml, "testsuites", "failures"), Some("0".into()));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("json");
    let suites = report["suites"].as_array().expect("suites");
    for name in [
        "arm",
        "identity",
        "dataplane",
        "lifecycle",
        "probes",
        "isolation",
        "observability",
    ] {
        let s = suites
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no suite {name}"));
        assert_eq!(s["skipped"], 0, "{name}: {s}");
        assert!(s["passed"].as_u64() > Some(0), "{name}: {s}");
    }
}

#[test]
fn the_summary_line_parser_agrees_with_the_format() {
    assert_eq!(counts("3 passed, 0 failed"), Some((3, 0, 0)));
    assert_eq!(counts("3 passed, 1 failed, 2 skipped"), Some((3, 1, 2)));
    assert_eq!(counts("3 passed"), None);
}

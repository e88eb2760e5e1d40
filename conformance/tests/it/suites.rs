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
//! - `azure_target_against_recorded_answers`: `--target azure` (client secret from the
//!   environment) against a stand-in for ARM and Entra ID answering Azure's recorded bodies:
//!   the cases pass on Azure's answers, a case needing `--image` is skipped saying so, and
//!   what the run created is deleted.
//! - `ctrl_c_stops_the_run_and_cleans_up`: SIGINT in the middle of a case against a running
//!   emulator (`--endpoint`): exit 1, "interrupted", the case's pool deleted; `cleanup
//!   --run-id` then finds nothing.
//! - `real_emulator_target_passes_every_suite`: the whole emulator-target run with the qemu
//!   backend (the release emulator, built first as `make test` does): exit 0, no failure in the
//!   JUnit report, every suite but `terraform` has cases and nothing is skipped there; the
//!   time per suite is printed.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

use crate::support::{release_emulator, target_dir};

const BIN: &str = env!("CARGO_BIN_EXE_sessions-conformance");

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

/// The stdout of a run that must have exited with `code` (else both streams are shown).
fn exited(out: &Output, code: i32) -> String {
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    stdout
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

/// A `sessions-emulator` the workspace build made (`cargo nextest run --workspace` builds the
/// debug one before running tests; `make test` the release one).
fn debug_emulator() -> PathBuf {
    let dir = target_dir();
    ["debug", "release"]
        .iter()
        .map(|p| dir.join(p).join("sessions-emulator"))
        .find(|b| b.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no sessions-emulator in {}/debug or release: `cargo build -p sessions-emulator` builds it",
                dir.display()
            )
        })
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
    let stdout = exited(&out, 0);
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
    let stdout = exited(&out, 1);
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
    println!(
        "{}\n(whole run {:.1} s)",
        text(&out.stdout),
        started.elapsed().as_secs_f64()
    );
    let _ = exited(&out, 0);
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

/// `--target azure` against a stand-in for ARM and Entra ID that answers what Azure answered
/// (recorded bodies, ids replaced): the Azure-only paths (client-secret credential from the
/// environment, the environment read at start, the run tag, cleanup of what the run created)
/// and cases that must pass against Azure's own answers.
#[tokio::test]
async fn azure_target_against_recorded_answers() {
    use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let az = MockServer::start().await;
    let token = |t: &str| {
        ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"{t}"}}"#
        ))
    };
    Mock::given(method("POST"))
        .and(path("/tenant1/oauth2/v2.0/token"))
        .and(body_string_contains("client_secret=sp-secret"))
        .and(body_string_contains("dynamicsessions.io"))
        .respond_with(token("dp.tok.en"))
        .with_priority(1)
        .mount(&az)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant1/oauth2/v2.0/token"))
        .and(body_string_contains("client_secret=sp-secret"))
        .respond_with(token("arm.tok.en"))
        .with_priority(2)
        .mount(&az)
        .await;
    let env =
        "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1";
    Mock::given(method("GET"))
        .and(path(env))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"id":"{env}","name":"env1","type":"Microsoft.App/managedEnvironments","location":"West Europe","properties":{{"provisioningState":"Succeeded","defaultDomain":"happyriver-1a2b3c4d.westeurope.azurecontainerapps.io"}}}}"#
        )))
        .mount(&az)
        .await;
    // identity/audiences: ARM refuses a data-plane token.
    Mock::given(method("GET"))
        .and(path("/subscriptions/sub1/resourceGroups/rg1"))
        .and(header("authorization", "Bearer dp.tok.en"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", "Bearer authorization_uri=\"https://login.windows.net/tenant1\", error=\"invalid_token\", error_description=\"The access token has been obtained for wrong audience or resource.\"").set_body_string(
            r#"{"error":{"code":"InvalidAuthenticationTokenAudience","message":"The access token has been obtained for wrong audience or resource 'https://dynamicsessions.io'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."}}"#,
        ))
        .mount(&az)
        .await;
    // arm/python_lts_pool: Azure creates PythonLTS pools (201, InProgress).
    Mock::given(method("PUT"))
        .and(path_regex("/sessionPools/sc[a-z0-9]+$"))
        .and(header("authorization", "Bearer arm.tok.en"))
        .and(body_string_contains("PythonLTS"))
        .and(body_string_contains("sessions-conformance-run"))
        .respond_with(ResponseTemplate::new(201).set_body_string(
            r#"{"name":"p","type":"Microsoft.App/sessionPools","location":"West Europe","properties":{"containerType":"PythonLTS","provisioningState":"InProgress"}}"#,
        ))
        .mount(&az)
        .await;
    // arm/not_found and the cleanup's polling: missing pools and a missing group.
    Mock::given(method("GET"))
        .and(path_regex("/resourceGroups/rg1/providers/Microsoft.App/sessionPools/"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.App/sessionPools/x' under resource group 'rg1' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}}"#,
        ))
        .mount(&az)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/resourceGroups/sc[a-z0-9]+/providers/"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            r#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found."}}"#,
        ))
        .mount(&az)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex("/sessionPools/sc[a-z0-9]+$"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2) // arm/not_found's DELETE, and the cleanup of the PythonLTS pool
        .mount(&az)
        .await;

    let uri = az.uri();
    let out = tokio::task::spawn_blocking(move || {
        run(
            &[
                "--target",
                "azure",
                "--arm-endpoint",
                &uri,
                "--authority-host",
                &uri,
                "--subscription",
                "sub1",
                "--resource-group",
                "rg1",
                "--environment",
                "env1",
                "--case",
                "identity/audiences",
                "--case",
                "arm/not_found",
                "--case",
                "arm/python_lts_pool",
                "--case",
                "dataplane/capacity",
            ],
            &[
                ("AZURE_TENANT_ID", "tenant1"),
                ("AZURE_CLIENT_ID", "app1"),
                ("AZURE_CLIENT_SECRET", "sp-secret"),
            ],
        )
    })
    .await
    .expect("join");
    let stdout = exited(&out, 0);
    assert!(
        stdout.contains("against Azure subscription sub1 resource group rg1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dataplane/capacity ... skipped: needs --image"),
        "{stdout}"
    );
    assert!(!stdout.contains("known deviation"), "{stdout}");
    assert_eq!(last_line(&out), "3 passed, 0 failed, 1 skipped");
}

/// Ctrl-C in the middle of a run against a running emulator (`--endpoint`): the run stops,
/// says so, exits 1, and deletes what it created; `cleanup --run-id` then finds nothing.
#[test]
fn ctrl_c_stops_the_run_and_cleans_up() {
    use sessions_conformance::emulator::{Backend, Emulator, StartOptions};
    let mut emu = Emulator::start_blocking(StartOptions {
        bin: Some(debug_emulator()),
        backend: Backend::Fake,
        time_scale: Some(0.05),
        ..StartOptions::default()
    })
    .expect("start an emulator");
    let env = emu.ready().env_vars();
    let endpoint = emu.ready().endpoint.clone();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "--endpoint",
        &endpoint,
        "--backend",
        "fake",
        "--time-scale",
        "0.05",
        "--run-id",
        "rctrlc",
        "--case",
        "lifecycle/timed_cooldown",
        "--case",
        "lifecycle/max_alive_period",
    ])
    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .stdout(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    // timed_cooldown has created its pool and waits on its cooldown (15 s) by now.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        tagged_pools(emu.ready(), "rctrlc"),
        1,
        "the case's pool exists"
    );
    // SAFETY: kill(2) on our own child's pid with SIGINT has no memory effects.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("interrupted (SIGINT or SIGTERM): deleting what the run created"),
        "{stdout}"
    );
    assert!(!stdout.contains("cleanup:"), "cleanup problems: {stdout}");
    assert!(
        last_line(&out).starts_with("0 passed, 0 failed"),
        "{stdout}"
    );

    let out = Command::new(BIN)
        .args(["cleanup", "--run-id", "rctrlc", "--endpoint", &endpoint])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("cleanup");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("0 resources tagged sessions-conformance-run=rctrlc"),
        "{stdout}"
    );
    assert_eq!(tagged_pools(emu.ready(), "rctrlc"), 0, "the pool is gone");
    emu.stop_blocking();
}

/// How many session pools of the seeded resource group carry run tag `run`.
fn tagged_pools(ready: &sessions_conformance::emulator::Ready, run: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let c = sessions_conformance::emulator::Client::new(ready).expect("client");
        let token = c.token("https://management.azure.com/.default").await.expect("token");
        let url = ready.url(&format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools?api-version=2026-07-01",
            ready.subscription_id, ready.resource_group
        ));
        let v: Value = c.http.get(url).bearer_auth(token).send().await.expect("list").json().await.expect("json");
        v["value"]
            .as_array()
            .map(|a| a.iter().filter(|p| p["tags"]["sessions-conformance-run"] == run).count())
            .unwrap_or(0)
    })
}

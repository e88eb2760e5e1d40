//! `real_sdk_python`: the official Azure SDK for Python (azure-identity +
//! azure-mgmt-appcontainers, in the `.venv-sdk` venv made by `scripts/setup`) authenticates
//! against the emulator's token endpoint over HTTPS (trusting the generated `ca.pem`) and
//! creates, gets, lists, updates and deletes a session pool with LRO polling
//! (`emulator/tests/it/sdk/session_pool_crud.py`).
//!
//! `real_sdk_python_monitor`: azure-mgmt-monitor, azure-monitor-query (LogsQueryClient on a
//! custom endpoint, MetricsQueryClient) unmodified: diagnostic settings route a session's line to
//! the workspace, KQL finds it, metrics show the sessions
//! (`emulator/tests/it/sdk/monitor_logs_metrics.py`; waits for the first minute sample).
//!
//! The emulator is the built binary on `127.0.0.1:0` with a temp data dir and the fake
//! backend; it is killed (and the temp dir removed) when the test ends, pass or fail.

use std::path::PathBuf;
use std::process::Command;

use crate::support::process::EmulatorProcess;

#[test]
fn real_sdk_python() {
    run_script("session_pool_crud.py");
}

#[test]
fn real_sdk_python_monitor() {
    run_script("monitor_logs_metrics.py");
}

/// Runs `emulator/tests/it/sdk/{script}` against a fresh emulator process; it must print
/// `SDK OK`.
fn run_script(script: &str) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-sdk/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it creates the venv with the Azure SDK packages)",
        python.display()
    );
    let dir = tempfile::tempdir().expect("temp data dir");
    let emu = EmulatorProcess::start(dir.path(), false);
    let ca = emu.field("caFile");
    assert!(
        !ca.is_empty(),
        "the HTTPS emulator reports its caFile: {}",
        emu.ready
    );
    let out = Command::new(&python)
        .arg(root.join("emulator/tests/it/sdk").join(script))
        .env("EMULATOR_ENDPOINT", emu.field("endpoint"))
        .env("EMULATOR_TENANT_ID", emu.field("tenantId"))
        .env("EMULATOR_CLIENT_ID", emu.field("clientId"))
        .env("EMULATOR_CLIENT_SECRET", emu.field("clientSecret"))
        .env("EMULATOR_SUBSCRIPTION_ID", emu.field("subscriptionId"))
        .env("EMULATOR_RESOURCE_GROUP", emu.field("resourceGroup"))
        .env("EMULATOR_ENVIRONMENT_ID", emu.field("environmentId"))
        .env("EMULATOR_WORKSPACE_ID", emu.field("workspaceId"))
        .env(
            "EMULATOR_WORKSPACE_CUSTOMER_ID",
            emu.field("workspaceCustomerId"),
        )
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .output()
        .expect("run the python SDK script");
    emu.kill();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python SDK script {script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("SDK OK"), "{stdout}");
}

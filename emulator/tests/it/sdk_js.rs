//! `real_sdk_js`: the official Azure SDK for JavaScript (`@azure/identity` +
//! `@azure/arm-appcontainers`, installed by `scripts/setup` with `npm ci` into
//! `emulator/tests/it/sdk/js/node_modules`) authenticates against the emulator's token endpoint
//! over HTTPS (trusting the generated `ca.pem` through `NODE_EXTRA_CA_CERTS`) and drives a
//! session pool through every field the SDK models (two containers, probes, secrets,
//! identities, `managedIdentitySettings`, registry identity), the LROs of create, update and
//! delete, and, through the client's own pipeline, the 2026-03-02-preview MCP settings, the MCP
//! credential actions and the MCP endpoint (`emulator/tests/it/sdk/js/session_pool.mjs`).
//!
//! The emulator is the built binary on `127.0.0.1:0` with a temp data dir and the fake
//! backend; it is killed (and the temp dir removed) when the test ends, pass or fail.

use std::path::PathBuf;
use std::process::Command;

use crate::support::process::EmulatorProcess;

#[test]
fn real_sdk_js() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/sdk/js");
    assert!(
        dir.join("node_modules/@azure/arm-appcontainers").is_dir(),
        "{} has no node_modules: run scripts/setup (it runs npm ci there)",
        dir.display()
    );
    let data = tempfile::tempdir().expect("temp data dir");
    let emu = EmulatorProcess::start(data.path(), false);
    let ca = emu.field("caFile");
    assert!(
        !ca.is_empty(),
        "the HTTPS emulator reports its caFile: {}",
        emu.ready
    );
    let out = Command::new("node")
        .arg("session_pool.mjs")
        .current_dir(&dir)
        .env("EMULATOR_ENDPOINT", emu.field("endpoint"))
        .env("EMULATOR_TENANT_ID", emu.field("tenantId"))
        .env("EMULATOR_CLIENT_ID", emu.field("clientId"))
        .env("EMULATOR_CLIENT_SECRET", emu.field("clientSecret"))
        .env("EMULATOR_SUBSCRIPTION_ID", emu.field("subscriptionId"))
        .env("EMULATOR_RESOURCE_GROUP", emu.field("resourceGroup"))
        .env("EMULATOR_ENVIRONMENT_ID", emu.field("environmentId"))
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .env("AZURE_LOG_LEVEL", "")
        .output()
        .expect("run node (scripts/setup installs Node.js when it is missing)");
    emu.kill();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "JavaScript SDK script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("SDK OK"), "{stdout}");
}

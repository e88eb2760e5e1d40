//! The provider's clients over HTTPS against the in-process emulator serving with its own CA:
//! rustls trusts `ARM_CA_CERTIFICATE_FILE`, the client-secret flow (`azure_identity`) gets a
//! token from the emulator's token endpoint (authority-host override), and ARM answers.
//! Without the CA the error names `ca_certificate_file`.

use std::time::Duration;

use sessions_emulator::defaults;
use terraform_provider_azuresessions::azure::config::ProviderSettings;
use terraform_provider_azuresessions::azure::{AzureError, OpContext};

use crate::support::https::HttpsEmulator;

fn env(pairs: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_work_over_https_with_the_emulator_ca() {
    let emu = HttpsEmulator::start().await;
    let with_ca = emu.env();
    let base: Vec<(String, String)> = with_ca
        .iter()
        .filter(|(k, _)| k != "ARM_CA_CERTIFICATE_FILE")
        .cloned()
        .collect();
    let list_path = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let ctx = OpContext::with_timeout(Duration::from_secs(60));

    let clients = ProviderSettings::default()
        .merge_env(&env(with_ca))
        .unwrap()
        .build()
        .unwrap();
    let pools = clients
        .arm
        .list(&ctx, &list_path, "2026-07-01")
        .await
        .unwrap();
    assert!(pools.is_empty(), "{pools:?}");

    let clients = ProviderSettings::default()
        .merge_env(&env(base))
        .unwrap()
        .build()
        .unwrap();
    let err = clients
        .arm
        .list(&ctx, &list_path, "2026-07-01")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, AzureError::Auth(_) | AzureError::Transport { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("could not reach") && text.contains("ca_certificate_file"),
        "{text}"
    );
    emu.stop().await;
}

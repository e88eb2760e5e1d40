//! The provider's clients over HTTPS against the in-process emulator serving with its own CA:
//! rustls trusts `ARM_CA_CERTIFICATE_FILE`, the client-secret flow gets a token from the
//! emulator's token endpoint (authority-host override), and ARM answers. Without the CA the
//! error names `ca_certificate_file`.

use std::sync::Arc;
use std::time::Duration;

use sessions_emulator::clock::SystemClock;
use sessions_emulator::config::Config;
use sessions_emulator::defaults;
use sessions_emulator::state::AppState;
use terraform_provider_azuresessions::azure::config::ProviderSettings;
use terraform_provider_azuresessions::azure::{AzureError, OpContext};

fn env(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_work_over_https_with_the_emulator_ca() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let mut config = Config::in_memory(&endpoint);
    config.tls = true;
    let state = AppState::with_clock(config, Arc::new(SystemClock)).unwrap();
    let tls = sessions_emulator::tls::setup(dir.path(), None).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sessions_emulator::server::run(
        listener,
        state,
        Some(tls.server_config.clone()),
        async {
            let _ = rx.await;
        },
    ));

    let base = vec![
        ("ARM_SUBSCRIPTION_ID", defaults::SUBSCRIPTION_ID.to_string()),
        ("ARM_TENANT_ID", defaults::TENANT_ID.to_string()),
        ("ARM_CLIENT_ID", defaults::CLIENT_ID.to_string()),
        ("ARM_CLIENT_SECRET", defaults::CLIENT_SECRET.to_string()),
        ("ARM_ENDPOINT", endpoint.clone()),
        ("ARM_AUTHORITY_HOST", endpoint.clone()),
    ];
    let list_path = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/sessionPools",
        defaults::SUBSCRIPTION_ID,
        defaults::RESOURCE_GROUP
    );
    let ctx = OpContext::with_timeout(Duration::from_secs(60));

    let mut with_ca = base.clone();
    with_ca.push(("ARM_CA_CERTIFICATE_FILE", tls.ca_file.display().to_string()));
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

    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}

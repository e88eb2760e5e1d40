//! `--target emulator`: an emulator this run starts ([`crate::emulator::Emulator`]: free
//! port, temporary data dir, `--backend qemu` unless told `--backend fake`, `--time-scale`),
//! or one already running (`--endpoint URL` plus the variables `sessions-emulator env`
//! prints: `ARM_TENANT_ID`, `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`, `ARM_SUBSCRIPTION_ID`,
//! `ARM_CA_CERTIFICATE_FILE`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::auth::Credential;
use super::{Kind, Sessions, Target, TargetSpec};
use crate::emulator::{Backend, Emulator, Ready, StartOptions};

/// The image every pool runs on the emulator: the seeded sample session.
pub const SAMPLE_IMAGE: &str = "localhost/sample-session:latest";
/// The time scale of an emulator this run starts: a 300 s cooldown lasts 15 s.
pub const DEFAULT_TIME_SCALE: f64 = 0.05;

/// What `--target emulator` is told.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// `--endpoint`: use this running emulator.
    pub endpoint: Option<String>,
    /// `--backend` (of the emulator started, or what the running one runs).
    pub backend: Backend,
    /// `--time-scale` (of the emulator started, or what the running one was started with).
    pub time_scale: Option<f64>,
    /// `--emulator-bin`.
    pub bin: Option<PathBuf>,
}

/// The target, and the emulator when this run started it (stopped when dropped).
pub async fn connect(
    opts: EmulatorOptions,
    run_id: String,
) -> Result<(Target, Option<Emulator>), anyhow::Error> {
    let (ready, emulator, time_scale) = match &opts.endpoint {
        Some(endpoint) => {
            let vars: BTreeMap<String, String> = std::env::vars().collect();
            let mut ready = Ready::from_vars(&vars)?;
            ready.endpoint = endpoint.trim_end_matches('/').to_string();
            (ready, None, opts.time_scale.unwrap_or(1.0))
        }
        None => {
            let scale = opts.time_scale.unwrap_or(DEFAULT_TIME_SCALE);
            let emu = Emulator::start(StartOptions {
                bin: opts.bin.clone(),
                backend: opts.backend,
                http: false,
                time_scale: Some(scale),
                extra_args: Vec::new(),
            })
            .await?;
            (emu.ready().clone(), Some(emu), scale)
        }
    };
    let ca_pem =
        match &ready.ca_file {
            Some(f) => Some(std::fs::read(f).map_err(|e| {
                anyhow::anyhow!("cannot read the emulator's CA {}: {e}", f.display())
            })?),
            None => None,
        };
    let target = Target::new(TargetSpec {
        kind: Kind::Emulator,
        arm: ready.endpoint.clone(),
        authority: ready.endpoint.clone(),
        tenant: ready.tenant_id.clone(),
        subscription: ready.subscription_id.clone(),
        resource_group: ready.resource_group.clone(),
        environment_id: ready.environment_id.clone(),
        location: "eastus".into(),
        workspace_id: Some(ready.workspace_id.clone()),
        log_analytics: ready.endpoint.clone(),
        sessions: match opts.backend {
            Backend::Qemu => Sessions::Real,
            Backend::Fake => Sessions::Fake,
        },
        time_scale,
        image: SAMPLE_IMAGE.into(),
        run_id,
        ca_pem,
        credential: Credential::ClientSecret {
            client_id: ready.client_id.clone(),
            secret: ready.client_secret.clone(),
        },
    })?;
    let target = Target {
        ca_file: ready.ca_file.clone(),
        ready: Some(ready),
        ..target
    };
    Ok((target, emulator))
}

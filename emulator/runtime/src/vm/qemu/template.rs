//! Template snapshots: boot one VM per (boot media, resources, port, egress) until the agent
//! is `ready` (before any container starts), save its device state with the RAM left in a
//! shared file (`x-ignore-shared`), and start sessions as copy-on-write clones of it. Command,
//! args and env are not part of the key: they reach each clone in its `config` message, with
//! fresh entropy, so no two sessions share random state.
//!
//! Spares: after a clone starts, the next clone of the same template is launched ahead of
//! need (QEMU started, device state loaded, still paused) and parked, one per template and
//! set of forwarded ports. Taking it costs only `cont`, which takes QEMU start-up and state
//! loading off the start path. A spare is never resumed before it is taken, so it has no
//! state of its own; it gets its config and entropy like every clone. It costs one paused
//! QEMU per template and goes when its template is forgotten or the backend is dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::OnceCell;

use super::channel::{parse_event, AgentEvent};
use super::cmdline::Memory;
use super::launch::{console_tail, launch, Launched};
use super::rundir::RunDir;
use super::setup::Runtime;
use crate::vm::backend::ContainerSpec;
use crate::vm::error::{BackendError, Result};

/// How long the template VM may take to boot to `ready` (TCG on a busy host is slow).
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long saving or loading device state may take.
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(30);

/// A saved template.
#[derive(Debug)]
pub struct Template {
    /// Guest RAM file (shared, read-only for clones).
    pub ram: PathBuf,
    /// Device state.
    pub state: PathBuf,
    /// The initramfs it booted (clones need the same command line).
    pub initrd: PathBuf,
    /// Owns the files; removed when the template is dropped.
    _dir: RunDir,
}

type Slot = Arc<OnceCell<std::result::Result<Arc<Template>, String>>>;

/// A clone launched ahead of need: state loaded, paused.
struct Spare {
    template: Arc<Template>,
    vm: Launched,
}

type Spares = Arc<Mutex<HashMap<String, Spare>>>;

/// Templates made by this process, and their parked spare clones.
#[derive(Default)]
pub struct TemplateStore {
    slots: Mutex<HashMap<String, Slot>>,
    spares: Spares,
    /// Spare keys being launched right now (at most one launch per key at a time).
    launching: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Whether spares are parked at all.
    no_spares: bool,
    /// Bumped by [`TemplateStore::clear`]: a spare launched before it is dropped, not parked.
    epoch: Arc<std::sync::atomic::AtomicU64>,
}

fn spare_key(template: &Template, spec: &ContainerSpec) -> String {
    format!(
        "{}|{:?}|{}",
        template.state.display(),
        spec.forwarded_ports(),
        template_key(&template.initrd, spec)
    )
}

/// The template key of a session.
pub fn template_key(initrd: &std::path::Path, spec: &ContainerSpec) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{}|{}|{}|{}|{}",
        initrd.display(),
        spec.resources.vcpus(),
        spec.resources.vm_memory_mib(),
        spec.target_port,
        spec.egress_enabled
    ));
    hex::encode(&h.finalize()[..8])
}

impl TemplateStore {
    /// A store; `spares` decides whether spare clones are parked.
    pub fn new(spares: bool) -> Self {
        Self {
            no_spares: !spares,
            ..Self::default()
        }
    }

    /// The template for this key, made on first use. Errors are remembered (no retry storms).
    pub async fn get(
        &self,
        rt: &Arc<Runtime>,
        initrd: PathBuf,
        spec: &ContainerSpec,
    ) -> std::result::Result<Arc<Template>, String> {
        let key = template_key(&initrd, spec);
        let slot = self.slots.lock().entry(key.clone()).or_default().clone();
        slot.get_or_init(|| async {
            let started = Instant::now();
            match make(rt, &key, initrd, spec).await {
                Ok(t) => {
                    tracing::info!(template = %key, elapsed_ms = started.elapsed().as_millis() as u64, "VM template ready");
                    Ok(Arc::new(t))
                }
                Err(e) => {
                    tracing::warn!(template = %key, "VM template could not be made, sessions cold boot instead: {e}");
                    Err(e.to_string())
                }
            }
        })
        .await
        .clone()
    }

    /// Drops every template and parked spare (their QEMUs stop, their files go with the last
    /// clone that still maps them); spares still being launched are dropped when they arrive.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.slots.lock().clear();
        let spares: Vec<Spare> = self.spares.lock().drain().map(|(_, s)| s).collect();
        drop(spares);
    }

    /// Drops every template whose initramfs is `initrd` (their files go with the last clone
    /// that still maps them), and their spares.
    pub fn forget_media(&self, initrd: &std::path::Path) {
        self.slots.lock().retain(|_, slot| match slot.get() {
            Some(Ok(t)) => t.initrd != initrd,
            _ => true,
        });
        self.spares
            .lock()
            .retain(|_, s| s.template.initrd != initrd);
    }

    /// A clone of `template` ready to resume: the parked spare when there is one, else a
    /// freshly launched clone with its state loaded. Either way a new spare is launched in the
    /// background for the next caller.
    pub async fn clone_vm(
        &self,
        rt: &Arc<Runtime>,
        template: &Arc<Template>,
        label: &str,
        spec: &ContainerSpec,
    ) -> Result<Launched> {
        let key = spare_key(template, spec);
        let parked = self.spares.lock().remove(&key);
        let vm = match parked {
            // A spare whose QEMU died meanwhile is useless; launch afresh.
            Some(spare) if spare.vm.process.exit().borrow().is_none() => Some(spare.vm),
            _ => None,
        };
        self.launch_spare(rt, template, spec, key);
        match vm {
            Some(vm) => Ok(vm),
            None => launch_clone(rt, template, label, spec).await,
        }
    }

    /// Launches a spare clone of `template` in the background unless one is parked or on
    /// its way (so even the first start after [`TemplateStore::get`] is only a `cont`).
    pub fn park_spare(&self, rt: &Arc<Runtime>, template: &Arc<Template>, spec: &ContainerSpec) {
        let key = spare_key(template, spec);
        if !self.spares.lock().contains_key(&key) {
            self.launch_spare(rt, template, spec, key);
        }
    }

    fn launch_spare(
        &self,
        rt: &Arc<Runtime>,
        template: &Arc<Template>,
        spec: &ContainerSpec,
        key: String,
    ) {
        if self.no_spares || !self.launching.lock().insert(key.clone()) {
            return;
        }
        let (rt, template, spec) = (rt.clone(), template.clone(), spec.clone());
        let (spares, launching) = (self.spares.clone(), self.launching.clone());
        let epoch = self.epoch.clone();
        let born = epoch.load(std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            match launch_clone(&rt, &template, "spare", &spec).await {
                // Cleared meanwhile: dropping the clone stops its QEMU.
                Ok(_) if epoch.load(std::sync::atomic::Ordering::SeqCst) != born => {}
                Ok(vm) => {
                    spares.lock().insert(key.clone(), Spare { template, vm });
                }
                Err(e) => tracing::debug!("spare clone could not be launched: {e}"),
            }
            launching.lock().remove(&key);
        });
    }
}

async fn make(
    rt: &Arc<Runtime>,
    key: &str,
    initrd: PathBuf,
    spec: &ContainerSpec,
) -> Result<Template> {
    let dir = RunDir::create(&format!("tpl-{key}"))?;
    let ram = dir.path().join("ram");
    let state = dir.path().join("state.bin");
    let mut vm = launch(
        rt,
        "template",
        initrd.clone(),
        spec,
        Memory::TemplateSource(ram.clone()),
    )
    .await?;
    let waited = tokio::time::timeout(BOOT_TIMEOUT, wait_ready(&mut vm)).await;
    let fail = |message: String| BackendError::NotReady {
        session: format!("template {key}"),
        message,
    };
    match waited {
        Err(_) => {
            return Err(fail(format!(
                "agent not ready within {BOOT_TIMEOUT:?}; console: {}",
                console_tail(&vm.console_log)
            )))
        }
        Ok(Err(e)) => {
            return Err(fail(format!(
                "{e}; console: {}",
                console_tail(&vm.console_log)
            )))
        }
        Ok(Ok(())) => {}
    }
    vm.qmp.execute("stop", json!({})).await?;
    vm.qmp
        .execute(
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "x-ignore-shared", "state": true}]}),
        )
        .await?;
    vm.qmp
        .execute(
            "migrate",
            json!({ "uri": format!("exec:cat > {}", state.display()) }),
        )
        .await?;
    let deadline = Instant::now() + MIGRATE_TIMEOUT;
    loop {
        let (status, error) = vm.qmp.migrate_status().await?;
        match status.as_str() {
            "completed" => break,
            "failed" | "cancelled" => {
                return Err(BackendError::Qmp {
                    command: "migrate".into(),
                    message: error.unwrap_or(status),
                })
            }
            _ if Instant::now() > deadline => {
                return Err(BackendError::Qmp {
                    command: "migrate".into(),
                    message: format!("still {status} after {MIGRATE_TIMEOUT:?}"),
                })
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    vm.process.kill_and_wait().await;
    Ok(Template {
        ram,
        state,
        initrd,
        _dir: dir,
    })
}

async fn wait_ready(vm: &mut Launched) -> Result<()> {
    let mut lines = BufReader::new(&mut vm.control).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| BackendError::io("reading the template's control port", e))?
            .ok_or_else(|| {
                BackendError::Protocol("the template VM closed its control port".into())
            })?;
        if parse_event(line.trim())? == AgentEvent::Ready {
            return Ok(());
        }
    }
}

/// Launches a clone of `template` and loads its state (left paused).
async fn launch_clone(
    rt: &Arc<Runtime>,
    template: &Template,
    label: &str,
    spec: &ContainerSpec,
) -> Result<Launched> {
    let mut vm = launch(
        rt,
        label,
        template.initrd.clone(),
        spec,
        Memory::Clone(template.ram.clone()),
    )
    .await?;
    load(&mut vm, template).await?;
    Ok(vm)
}

/// Resumes a clone whose state is loaded.
pub async fn resume(vm: &mut Launched) -> Result<()> {
    vm.qmp.execute("cont", json!({})).await.map(|_| ())
}

/// Loads a template's state into a freshly launched clone (left paused).
pub async fn load(vm: &mut Launched, template: &Template) -> Result<()> {
    vm.qmp
        .execute(
            "migrate-set-capabilities",
            json!({"capabilities": [{"capability": "x-ignore-shared", "state": true}]}),
        )
        .await?;
    vm.qmp
        .execute(
            "migrate-incoming",
            json!({ "uri": format!("exec:cat {}", template.state.display()) }),
        )
        .await?;
    let deadline = Instant::now() + MIGRATE_TIMEOUT;
    loop {
        let status = vm.qmp.status().await?;
        match status.as_str() {
            "inmigrate" if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            "inmigrate" => {
                return Err(BackendError::Qmp {
                    command: "migrate-incoming".into(),
                    message: format!("not loaded after {MIGRATE_TIMEOUT:?}"),
                })
            }
            "paused" | "postmigrate" | "prelaunch" | "running" => return Ok(()),
            other => {
                return Err(BackendError::Qmp {
                    command: "migrate-incoming".into(),
                    message: format!("clone is {other}"),
                })
            }
        }
    }
}

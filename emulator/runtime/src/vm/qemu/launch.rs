//! Launching one QEMU process with its channels connected: runtime dir, listening sockets
//! (QEMU connects to them as a client at start-up), a free host port, the process itself.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use super::cmdline::{Memory, VmLaunch, FORWARD_ADDR};
use super::process::QemuProcess;
use super::qmp::Qmp;
use super::rundir::RunDir;
use super::setup::Runtime;
use crate::vm::backend::ContainerSpec;
use crate::vm::error::{BackendError, Result};

/// How long QEMU may take to connect its sockets after starting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A started QEMU with every channel connected.
pub struct Launched {
    /// The process (killed on drop).
    pub process: QemuProcess,
    /// QMP in command mode.
    pub qmp: Qmp,
    /// Control port stream.
    pub control: UnixStream,
    /// Container stdout stream.
    pub stdout: UnixStream,
    /// Container stderr stream.
    pub stderr: UnixStream,
    /// Host port forwarded to the target port.
    pub host_port: u16,
    /// Every forward as (container port, host port), the target port first.
    pub forwards: Vec<(u16, u16)>,
    /// Serial console log (for error messages).
    pub console_log: PathBuf,
    /// The frame filter of an egress-enabled session ([`super::netfilter`]); aborted on drop.
    pub net_filter: Option<FilterTask>,
    /// Runtime dir (removed on drop; declared last so the process dies first).
    pub dir: RunDir,
}

/// The task running a session's [`super::netfilter`]; aborted when dropped.
pub struct FilterTask(pub tokio::task::JoinHandle<super::netfilter::Counts>);

impl Drop for FilterTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Ports handed out lately: between [`free_port`] closing its probe socket and QEMU binding the
/// port, the kernel may offer the same port again, and two VMs started together would then fight
/// over it (the loser exits at start-up). A port is not handed out again while it is in here.
const RECENT_PORTS: usize = 1024;

fn recent_ports() -> &'static parking_lot::Mutex<std::collections::VecDeque<u16>> {
    static RECENT: std::sync::OnceLock<parking_lot::Mutex<std::collections::VecDeque<u16>>> =
        std::sync::OnceLock::new();
    RECENT.get_or_init(Default::default)
}

/// Picks a free port on [`FORWARD_ADDR`] (closed again; QEMU binds it a moment later), never
/// one handed out in the last [`RECENT_PORTS`] calls.
pub fn free_port() -> Result<u16> {
    for _ in 0..64 {
        let l = std::net::TcpListener::bind((FORWARD_ADDR, 0))
            .map_err(|e| BackendError::io("finding a free port", e))?;
        let port = l
            .local_addr()
            .map(|a| a.port())
            .map_err(|e| BackendError::io("finding a free port", e))?;
        let mut recent = recent_ports().lock();
        if recent.contains(&port) {
            continue;
        }
        if recent.len() >= RECENT_PORTS {
            recent.pop_front();
        }
        recent.push_back(port);
        return Ok(port);
    }
    Err(BackendError::io(
        "finding a free port",
        std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "the kernel kept offering recently used ports",
        ),
    ))
}

/// Last lines of the console log, for error messages.
pub fn console_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Starts QEMU for `initrd` with the given memory backing and waits for its sockets.
pub async fn launch(
    rt: &Arc<Runtime>,
    label: &str,
    initrd: PathBuf,
    spec: &ContainerSpec,
    memory: Memory,
) -> Result<Launched> {
    let dir = RunDir::create(label)?;
    let sock = |n: &str| dir.path().join(n);
    let bind = |n: &str| {
        UnixListener::bind(sock(n))
            .map_err(|e| BackendError::io(format!("binding {}", sock(n).display()), e))
    };
    let (qmp_l, control_l, stdout_l, stderr_l) = (
        bind("qmp")?,
        bind("control")?,
        bind("stdout")?,
        bind("stderr")?,
    );
    // Egress: the guest's frames go through our filter (QEMU connects these as well).
    let filter_listeners = if spec.egress_enabled {
        Some((bind("net-out")?, bind("net-in")?))
    } else {
        None
    };
    let host_port = free_port()?;
    let mut extra_forwards = Vec::new();
    for guest in spec.forwarded_ports().into_iter().skip(1) {
        extra_forwards.push((free_port()?, guest));
    }
    let mut forwards = vec![(spec.target_port, host_port)];
    forwards.extend(extra_forwards.iter().map(|(h, g)| (*g, *h)));
    let vm = VmLaunch {
        kernel: rt.kernel.image.clone(),
        disk: super::media::disk_for(&initrd),
        sidecar_disks: super::media::sidecar_disks_for(&initrd),
        initrd,
        accel: rt.accel.accel,
        tsc_khz: rt.tsc_khz,
        vcpus: spec.resources.vcpus(),
        memory_mib: spec.resources.vm_memory_mib(),
        memory,
        host_port,
        target_port: spec.target_port,
        extra_forwards,
        egress: spec.egress_enabled,
        net_filter: filter_listeners
            .as_ref()
            .map(|_| (sock("net-out"), sock("net-in"))),
        qmp_socket: sock("qmp"),
        control_socket: sock("control"),
        stdout_socket: sock("stdout"),
        stderr_socket: sock("stderr"),
        console_log: sock("console.log"),
    };
    let process = QemuProcess::spawn(&rt.qemu, &vm.args(), label)?;
    let mut exit = process.exit();
    let accept_all = async {
        let (q, c, o, e) = tokio::try_join!(
            accept(&qmp_l),
            accept(&control_l),
            accept(&stdout_l),
            accept(&stderr_l)
        )
        .map_err(|e| BackendError::io("accepting QEMU's socket connections", e))?;
        let filter = match &filter_listeners {
            Some((out_l, in_l)) => {
                let (from_guest, to_slirp) = tokio::try_join!(accept(out_l), accept(in_l))
                    .map_err(|e| BackendError::io("accepting QEMU's network filter sockets", e))?;
                let host = super::netfilter::host_addresses();
                Some(FilterTask(tokio::spawn(super::netfilter::run(
                    from_guest, to_slirp, host,
                ))))
            }
            None => None,
        };
        let qmp = Qmp::handshake(q).await?;
        Ok::<_, BackendError>((qmp, c, o, e, filter))
    };
    let failed = |message: String| BackendError::Start {
        session: label.to_owned(),
        message,
    };
    let connected = tokio::select! {
        r = tokio::time::timeout(CONNECT_TIMEOUT, accept_all) => r.map_err(|_| failed(format!("QEMU did not connect its sockets within {CONNECT_TIMEOUT:?}")))?,
        res = exit.wait_for(Option::is_some) => {
            let why = res.map(|r| r.clone().unwrap_or_default()).unwrap_or_default();
            return Err(failed(why));
        }
    };
    let (qmp, control, stdout, stderr, net_filter) = match connected {
        Ok(c) => c,
        Err(e) => {
            // QEMU that closes its sockets at start-up is exiting: report its own reason.
            let exited =
                tokio::time::timeout(Duration::from_secs(2), exit.wait_for(Option::is_some)).await;
            if let Ok(Ok(reason)) = exited {
                let why = reason.clone().unwrap_or_default();
                if !why.is_empty() {
                    return Err(failed(why));
                }
            }
            return Err(e);
        }
    };
    Ok(Launched {
        process,
        qmp,
        control,
        stdout,
        stderr,
        host_port,
        forwards,
        console_log: vm.console_log,
        net_filter,
        dir,
    })
}

async fn accept(listener: &UnixListener) -> std::io::Result<UnixStream> {
    listener.accept().await.map(|(stream, _)| stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_not_handed_out_twice_in_a_row() {
        let ports: Vec<u16> = (0..300).map(|_| free_port().expect("free port")).collect();
        let distinct: std::collections::HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }
}

//! The control loop: reads host messages from the control port, runs the session's
//! containers ([`crate::containers`]), serves `IDENTITY_ENDPOINT` ([`crate::identity`]), runs
//! `exec` commands, reaps zombies, reports the main container's exit and powers off.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::boot::Ports;
use crate::config::SessionConfig;
use crate::containers::{self, LogPorts, Output};
use crate::identity;
use crate::protocol::{parse_host, AgentMsg, HostMsg};
use crate::sys;

/// How long after the process exited we wait for the host's `poweroff` before powering off.
const EXIT_LINGER: Duration = Duration::from_secs(2);

enum Event {
    Host(HostMsg),
    BadLine(String),
    Exited { pid: i32, status: libc::c_int },
}

/// Writes messages to the host; shared between threads.
#[derive(Clone)]
struct Sender(Arc<Mutex<File>>);

impl Sender {
    fn send(&self, msg: &AgentMsg) {
        let line = format!("{}\n", msg.to_line());
        if let Ok(mut f) = self.0.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// The processes the loop started, by pid.
#[derive(Default)]
struct Running {
    /// The main container's pid.
    main: Option<i32>,
    /// Other containers' pids and names.
    sidecars: HashMap<i32, String>,
}

/// Exit statuses of `exec` processes: waiters by pid, and statuses that arrived before their
/// waiter registered.
#[derive(Default)]
struct ExecTable {
    waiters: HashMap<i32, mpsc::Sender<libc::c_int>>,
    unclaimed: HashMap<i32, libc::c_int>,
}

type Execs = Arc<Mutex<ExecTable>>;

/// Runs until power off.
pub fn control_loop(ports: Ports) -> ! {
    let control = match File::options().read(true).write(true).open(&ports.control) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sessions-agent: open {}: {e}", ports.control.display());
            sys::power_off();
        }
    };
    let reader = match control.try_clone() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sessions-agent: dup control port: {e}");
            sys::power_off();
        }
    };
    let out = Sender(Arc::new(Mutex::new(control)));
    let (events, inbox) = mpsc::channel();
    spawn_reader(reader, events.clone());
    out.send(&AgentMsg::Ready);

    let mut config: Option<SessionConfig> = None;
    let mut running = Running::default();
    let mut reaper = false;
    let mut exited = false;
    let execs: Execs = Arc::default();
    let pending = identity::Pending::default();
    loop {
        let event = if exited {
            match inbox.recv_timeout(EXIT_LINGER) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => sys::power_off(),
            }
        } else {
            match inbox.recv() {
                Ok(e) => e,
                Err(_) => sys::power_off(),
            }
        };
        match event {
            Event::BadLine(why) => out.send(&AgentMsg::Error(why)),
            Event::Host(HostMsg::Hello) => out.send(&AgentMsg::Ready),
            Event::Host(HostMsg::Config(c)) => {
                if let Err(e) = apply_config(&c) {
                    out.send(&AgentMsg::Error(e));
                }
                if let Some(header) = &c.identity_header {
                    let sender = out.clone();
                    if let Err(e) =
                        identity::serve(header.clone(), pending.clone(), move |m| sender.send(m))
                    {
                        out.send(&AgentMsg::Error(format!("identity endpoint: {e}")));
                    }
                }
                config = Some(*c);
            }
            Event::Host(HostMsg::Start) => match (&config, running.main) {
                (_, Some(_)) => {
                    out.send(&AgentMsg::Error("start: the process already runs".into()))
                }
                (None, _) => out.send(&AgentMsg::Error("start: no config received yet".into())),
                (Some(c), None) => match start_all(c, &ports, &out, &mut running) {
                    Ok(pid) => {
                        if !reaper {
                            reaper = true;
                            spawn_reaper(events.clone());
                        }
                        out.send(&AgentMsg::Started {
                            pid: pid.unsigned_abs(),
                        });
                    }
                    Err(e) => {
                        out.send(&AgentMsg::Error(e));
                        out.send(&AgentMsg::ExitedCode(127));
                        exited = true;
                    }
                },
            },
            Event::Host(HostMsg::Signal(sig)) => {
                for pid in running.main.iter().chain(running.sidecars.keys()) {
                    // SAFETY: kill(2) on a process group we created with setsid.
                    unsafe { libc::kill(-pid, sig) };
                }
            }
            Event::Host(HostMsg::Poweroff) => {
                // SAFETY: SIGKILL to every process but init, then power off.
                unsafe { libc::kill(-1, libc::SIGKILL) };
                sys::power_off();
            }
            Event::Host(HostMsg::Token { id, status, body }) => pending.answer(id, status, body),
            Event::Host(HostMsg::Exec {
                id,
                argv,
                timeout_ms,
            }) => match &config {
                None => out.send(&AgentMsg::ExecResult {
                    id,
                    code: -1,
                    stdout: String::new(),
                    stderr: "the session is not configured yet".into(),
                    timed_out: false,
                }),
                Some(c) => {
                    if !reaper {
                        reaper = true;
                        spawn_reaper(events.clone());
                    }
                    let (c, out, execs) = (c.clone(), out.clone(), execs.clone());
                    let timeout = Duration::from_millis(timeout_ms.max(1));
                    std::thread::spawn(move || out.send(&exec(id, &c, &argv, timeout, &execs)));
                }
            },
            Event::Host(HostMsg::Connect {
                host,
                port,
                timeout_ms,
            }) => {
                let out = out.clone();
                std::thread::spawn(move || out.send(&try_connect(&host, port, timeout_ms)));
            }
            Event::Exited { pid, status } => {
                let code = || {
                    if libc::WIFSIGNALED(status) {
                        (None, Some(libc::WTERMSIG(status)))
                    } else {
                        (Some(libc::WEXITSTATUS(status)), None)
                    }
                };
                if Some(pid) == running.main {
                    if !exited {
                        exited = true;
                        let msg = if libc::WIFSIGNALED(status) {
                            AgentMsg::ExitedSignal(libc::WTERMSIG(status))
                        } else {
                            AgentMsg::ExitedCode(libc::WEXITSTATUS(status))
                        };
                        out.send(&msg);
                    }
                } else if let Some(name) = running.sidecars.remove(&pid) {
                    let (code, signal) = code();
                    out.send(&AgentMsg::ContainerExited { name, code, signal });
                } else if let Ok(mut t) = execs.lock() {
                    match t.waiters.remove(&pid) {
                        Some(tx) => {
                            let _ = tx.send(status);
                        }
                        None => {
                            t.unclaimed.insert(pid, status);
                        }
                    }
                }
            }
        }
    }
}

fn identity_env(c: &SessionConfig) -> Vec<(String, String)> {
    match &c.identity_header {
        Some(h) => vec![
            ("IDENTITY_ENDPOINT".into(), identity::ENDPOINT.into()),
            ("IDENTITY_HEADER".into(), h.clone()),
        ],
        None => Vec::new(),
    }
}

/// Starts the main container and every other one; returns the main pid. A container other
/// than the main one that cannot start is reported (`container_exited` 127) and the session
/// goes on.
fn start_all(
    c: &SessionConfig,
    ports: &Ports,
    out: &Sender,
    running: &mut Running,
) -> Result<i32, String> {
    let extra = identity_env(c);
    let cgroups = !c.containers.is_empty() && containers::enable_cgroups();
    let log_ports = if c.containers.is_empty() {
        None
    } else {
        Some(
            LogPorts::open(&ports.stdout, &ports.stderr)
                .map_err(|e| format!("open the log ports: {e}"))?,
        )
    };
    let output = match &log_ports {
        Some(p) => Output::Framed(p),
        None => Output::Direct(&ports.stdout, &ports.stderr),
    };
    let main = containers::spawn(&c.name, "/", c, &extra, None, output)?;
    let pid = i32::try_from(main.id()).map_err(|_| "pid out of range".to_string())?;
    running.main = Some(pid);
    if cgroups {
        containers::limit(&c.name, main.id(), c.cpu_millis, c.memory_mib);
    }
    for side in &c.containers {
        let started = containers::prepare_root(&side.root, &c.hostname)
            .map_err(|e| format!("container '{}': preparing its root: {e}", side.name))
            .and_then(|()| {
                let ports = log_ports.as_ref().ok_or("no log ports")?;
                containers::spawn(
                    &side.name,
                    &side.root,
                    &side.process,
                    &extra,
                    None,
                    Output::Framed(ports),
                )
            });
        match started {
            Ok(child) => {
                if cgroups {
                    containers::limit(
                        &side.name,
                        child.id(),
                        side.process.cpu_millis,
                        side.process.memory_mib,
                    );
                }
                if let Ok(p) = i32::try_from(child.id()) {
                    running.sidecars.insert(p, side.name.clone());
                }
            }
            Err(e) => {
                out.send(&AgentMsg::Error(e));
                out.send(&AgentMsg::ContainerExited {
                    name: side.name.clone(),
                    code: Some(127),
                    signal: None,
                });
            }
        }
    }
    Ok(pid)
}

/// Most output an `exec` returns per stream.
const EXEC_OUTPUT_LIMIT: usize = 1024 * 1024;

fn read_limited(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match from.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if buf.len() < EXEC_OUTPUT_LIMIT {
                        let room = EXEC_OUTPUT_LIMIT - buf.len();
                        buf.extend_from_slice(&chunk[..n.min(room)]);
                    }
                }
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `argv` in the main container (its env, user and working directory) and waits for it.
fn exec(id: u64, c: &SessionConfig, argv: &[String], timeout: Duration, execs: &Execs) -> AgentMsg {
    let failed = |why: String| AgentMsg::ExecResult {
        id,
        code: -1,
        stdout: String::new(),
        stderr: why,
        timed_out: false,
    };
    let mut child =
        match containers::spawn(&c.name, "/", c, &identity_env(c), Some(argv), Output::Piped) {
            Ok(ch) => ch,
            Err(e) => return failed(e),
        };
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    if let Ok(mut t) = execs.lock() {
        match t.unclaimed.remove(&pid) {
            Some(status) => {
                let _ = tx.send(status);
            }
            None => {
                t.waiters.insert(pid, tx);
            }
        }
    }
    let stdout = child.stdout.take().map(read_limited);
    let stderr = child.stderr.take().map(read_limited);
    let (status, timed_out) = match rx.recv_timeout(timeout) {
        Ok(s) => (Some(s), false),
        Err(_) => {
            // SAFETY: kill(2) on the process group the command leads (setsid).
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            (rx.recv_timeout(Duration::from_secs(5)).ok(), true)
        }
    };
    let code = match status {
        Some(s) if !libc::WIFSIGNALED(s) => libc::WEXITSTATUS(s),
        _ => -1,
    };
    let join = |h: Option<std::thread::JoinHandle<String>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    AgentMsg::ExecResult {
        id,
        code,
        stdout: join(stdout),
        stderr: join(stderr),
        timed_out,
    }
}

fn spawn_reader(file: File, events: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                // No host connected yet (or it went away): the port reads as EOF. Retry.
                Ok(0) => std::thread::sleep(Duration::from_millis(10)),
                Ok(_) => {
                    let text = line.trim();
                    if text.is_empty() {
                        continue;
                    }
                    let event = match parse_host(text) {
                        Ok(msg) => Event::Host(msg),
                        Err(e) => Event::BadLine(e),
                    };
                    if events.send(event).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
}

fn spawn_reaper(events: mpsc::Sender<Event>) {
    std::thread::spawn(move || loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid with a valid status pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid > 0 {
            if events.send(Event::Exited { pid, status }).is_err() {
                return;
            }
        } else if io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

fn apply_config(c: &SessionConfig) -> Result<(), String> {
    if let Some(ms) = c.unix_ms {
        sys::set_clock(ms).map_err(|e| format!("clock: {e}"))?;
    }
    sys::add_entropy(&c.entropy).map_err(|e| format!("entropy: {e}"))?;
    if !c.hostname.is_empty() {
        sys::set_hostname(&c.hostname).map_err(|e| format!("hostname: {e}"))?;
        let _ = std::fs::write("/etc/hostname", format!("{}\n", c.hostname));
    }
    Ok(())
}

fn try_connect(host: &str, port: u16, timeout_ms: u64) -> AgentMsg {
    let addr: SocketAddr = match format!("{host}:{port}").parse() {
        Ok(a) => a,
        Err(_) => {
            return AgentMsg::Connected {
                ok: false,
                error: format!("bad address {host}:{port}"),
            }
        }
    };
    match TcpStream::connect_timeout(&addr, Duration::from_millis(timeout_ms.max(1))) {
        Ok(_) => AgentMsg::Connected {
            ok: true,
            error: String::new(),
        },
        Err(e) => AgentMsg::Connected {
            ok: false,
            error: e.to_string(),
        },
    }
}

//! The control loop: reads host messages from the control port, runs the container process,
//! reaps zombies, reports the exit and powers off.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::boot::Ports;
use crate::config::{resolve_user, SessionConfig};
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
    let mut child: Option<i32> = None;
    let mut exited = false;
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
                config = Some(*c);
            }
            Event::Host(HostMsg::Start) => match (&config, child) {
                (_, Some(_)) => {
                    out.send(&AgentMsg::Error("start: the process already runs".into()))
                }
                (None, _) => out.send(&AgentMsg::Error("start: no config received yet".into())),
                (Some(c), None) => match spawn(c, &ports) {
                    Ok(pid) => {
                        child = Some(pid);
                        spawn_reaper(events.clone());
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
                if let Some(pid) = child {
                    // SAFETY: kill(2) on the process group we created with setsid.
                    unsafe { libc::kill(-pid, sig) };
                }
            }
            Event::Host(HostMsg::Poweroff) => {
                // SAFETY: SIGKILL to every process but init, then power off.
                unsafe { libc::kill(-1, libc::SIGKILL) };
                sys::power_off();
            }
            Event::Host(HostMsg::Connect {
                host,
                port,
                timeout_ms,
            }) => {
                let out = out.clone();
                std::thread::spawn(move || out.send(&try_connect(&host, port, timeout_ms)));
            }
            Event::Exited { pid, status } => {
                if Some(pid) == child && !exited {
                    exited = true;
                    let msg = if libc::WIFSIGNALED(status) {
                        AgentMsg::ExitedSignal(libc::WTERMSIG(status))
                    } else {
                        AgentMsg::ExitedCode(libc::WEXITSTATUS(status))
                    };
                    out.send(&msg);
                }
            }
        }
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

fn resolve_program(argv0: &str, path: &str) -> Result<String, String> {
    if argv0.contains('/') {
        return if Path::new(argv0).exists() {
            Ok(argv0.to_owned())
        } else {
            Err(format!("exec {argv0}: no such file in the image"))
        };
    }
    path.split(':')
        .map(|dir| format!("{dir}/{argv0}"))
        .find(|p| Path::new(p).is_file())
        .ok_or_else(|| format!("exec {argv0}: not found in PATH {path}"))
}

fn spawn(c: &SessionConfig, ports: &Ports) -> Result<i32, String> {
    let argv = c.argv()?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let who = resolve_user(c.user.as_deref(), &passwd, &group)?;
    let env = c.environment(&who.home);
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let program = resolve_program(&argv[0], &path)?;
    let open = |p: &Path| {
        File::options()
            .write(true)
            .open(p)
            .map_err(|e| format!("open {}: {e}", p.display()))
    };
    let mut cmd = Command::new(&program);
    cmd.arg0(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(env)
        .current_dir(c.working_dir.as_deref().unwrap_or("/"))
        .stdin(Stdio::null())
        .stdout(open(&ports.stdout)?)
        .stderr(open(&ports.stderr)?)
        .uid(who.uid)
        .gid(who.gid);
    // SAFETY: setsid is async-signal-safe; it makes the process its own group for signals.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| format!("exec {program}: {e}"))?;
    i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())
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

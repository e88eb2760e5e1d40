//! The session's containers as a pod: the main container runs at `/` (the session's root),
//! every other container in its own root filesystem under `/.vm/containers/{name}` (from the
//! initramfs, or an erofs disk found by its virtio serial, under a RAM overlay). All share the
//! VM's one network namespace, so they reach each other on `localhost`.
//!
//! Each container gets `/proc`, `/sys`, `/dev`, `/tmp` and `/run` of its own root, the guest's
//! `/etc/resolv.conf`, `/etc/hosts` and hostname when its image has none, and, where the kernel
//! has cgroup v2, a cgroup limiting its CPU (`cpu.max`) and memory (`memory.max`). In a session
//! of several containers every output line goes to the stdout/stderr port framed as
//! `\x1e{container}\x1f{line}`, so the host knows which container wrote it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{resolve_user, SessionConfig};
use crate::sys;

/// How long to wait for a container's root disk to appear.
const DISK_WAIT: Duration = Duration::from_secs(10);
/// Where cgroup v2 is mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The pseudo file systems every container root gets.
const ROOT_MOUNTS: [(&str, &str, &str); 5] = [
    ("proc", "proc", "proc"),
    ("sysfs", "sys", "sysfs"),
    ("devtmpfs", "dev", "devtmpfs"),
    ("tmpfs", "tmp", "tmpfs"),
    ("tmpfs", "run", "tmpfs"),
];

/// The stdout and stderr ports, shared by every line writer.
#[derive(Clone)]
pub struct LogPorts {
    stdout: Arc<Mutex<File>>,
    stderr: Arc<Mutex<File>>,
}

impl LogPorts {
    /// Opens both ports for writing.
    pub fn open(stdout: &Path, stderr: &Path) -> io::Result<Self> {
        let open = |p: &Path| File::options().write(true).open(p);
        Ok(Self {
            stdout: Arc::new(Mutex::new(open(stdout)?)),
            stderr: Arc::new(Mutex::new(open(stderr)?)),
        })
    }
}

/// Copies lines from `from` to `port`, each framed with the container `name`.
fn frame_lines(from: impl Read + Send + 'static, name: String, port: Arc<Mutex<File>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    let mut line = Vec::with_capacity(buf.len() + name.len() + 3);
                    line.push(0x1e);
                    line.extend_from_slice(name.as_bytes());
                    line.push(0x1f);
                    line.extend_from_slice(&buf);
                    line.push(b'\n');
                    if let Ok(mut f) = port.lock() {
                        let _ = f.write_all(&line);
                    }
                }
            }
        }
    });
}

/// The block device (`/dev/vdX`) whose virtio serial is `serial`, waiting for it to appear.
pub fn device_by_serial(serial: &str) -> io::Result<String> {
    let deadline = Instant::now() + DISK_WAIT;
    loop {
        if let Ok(entries) = std::fs::read_dir("/sys/block") {
            for e in entries.flatten() {
                let got = std::fs::read_to_string(e.path().join("serial")).unwrap_or_default();
                if got.trim() == serial {
                    return Ok(format!("/dev/{}", e.file_name().to_string_lossy()));
                }
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no disk with serial {serial} appeared (virtio_blk missing?)"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Resolves a root disk spec from a marker file: `/dev/vda` or `serial:NAME`.
pub fn disk_device(spec: &str) -> io::Result<String> {
    match spec.strip_prefix("serial:") {
        Some(serial) => device_by_serial(serial),
        None => Ok(spec.to_string()),
    }
}

/// Makes `root` ready to be a container's root: mounts its erofs disk under a RAM overlay
/// when `{root}.disk` says it is on one, then the pseudo file systems and the guest's network
/// files.
pub fn prepare_root(root: &str, hostname: &str) -> io::Result<()> {
    let marker = format!("{root}.disk");
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let mut words = text.split_whitespace();
        let (Some(fstype), Some(spec)) = (words.next(), words.next()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{marker}: expected `<fstype> <device>`"),
            ));
        };
        let device = disk_device(spec)?;
        let lower = format!("{root}.lower");
        let rw = format!("{root}.rw");
        sys::mount(&device, &lower, fstype, libc::MS_RDONLY, "")?;
        sys::mount("tmpfs", &rw, "tmpfs", 0, "mode=0755")?;
        std::fs::create_dir_all(format!("{rw}/upper"))?;
        std::fs::create_dir_all(format!("{rw}/work"))?;
        sys::mount(
            "overlay",
            root,
            "overlay",
            0,
            &format!("lowerdir={lower},upperdir={rw}/upper,workdir={rw}/work"),
        )?;
    }
    for (source, dir, fstype) in ROOT_MOUNTS {
        let target = format!("{root}/{dir}");
        let (flags, data) = match dir {
            "dev" => (libc::MS_NOSUID, "mode=0755"),
            "tmp" => (libc::MS_NOSUID | libc::MS_NODEV, "mode=1777"),
            "run" => (libc::MS_NOSUID | libc::MS_NODEV, "mode=0755"),
            _ => (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC, ""),
        };
        sys::mount(source, &target, fstype, flags, data)?;
    }
    let etc = format!("{root}/etc");
    let _ = std::fs::create_dir_all(&etc);
    for f in ["resolv.conf", "hosts"] {
        let dest = format!("{etc}/{f}");
        if !Path::new(&dest).exists() {
            if let Ok(text) = std::fs::read(format!("/etc/{f}")) {
                let _ = std::fs::write(&dest, text);
            }
        }
    }
    let _ = std::fs::write(format!("{etc}/hostname"), format!("{hostname}\n"));
    Ok(())
}

/// Mounts cgroup v2 once and enables the cpu and memory controllers for children; false when
/// the kernel has no cgroup v2 (containers then run without limits).
pub fn enable_cgroups() -> bool {
    if sys::mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, "").is_err() {
        return false;
    }
    std::fs::write(
        format!("{CGROUP_ROOT}/cgroup.subtree_control"),
        "+cpu +memory",
    )
    .is_ok()
}

/// Puts `pid` into a cgroup of its own named after the container, with its CPU and memory
/// limits. Best effort: a kernel without the controllers leaves the process unlimited.
pub fn limit(name: &str, pid: u32, cpu_millis: Option<u64>, memory_mib: Option<u64>) {
    let dir = format!("{CGROUP_ROOT}/{name}");
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    if let Some(mib) = memory_mib {
        let _ = std::fs::write(format!("{dir}/memory.max"), (mib * 1024 * 1024).to_string());
    }
    if let Some(millis) = cpu_millis {
        // quota/period in microseconds: 1000 millicores = one CPU = 100000/100000.
        let _ = std::fs::write(format!("{dir}/cpu.max"), format!("{} 100000", millis * 100));
    }
    let _ = std::fs::write(format!("{dir}/cgroup.procs"), pid.to_string());
}

fn resolve_program(root: &str, argv0: &str, path: &str) -> Result<String, String> {
    let inside = |p: &str| PathBuf::from(format!("{root}/{}", p.trim_start_matches('/')));
    if argv0.contains('/') {
        return if inside(argv0).exists() {
            Ok(argv0.to_owned())
        } else {
            Err(format!("exec {argv0}: no such file in the image"))
        };
    }
    path.split(':')
        .map(|dir| format!("{dir}/{argv0}"))
        .find(|p| inside(p).is_file())
        .ok_or_else(|| format!("exec {argv0}: not found in PATH {path}"))
}

/// How a container's output leaves it.
pub enum Output<'a> {
    /// Straight to the ports (the only container of a session: no framing needed).
    Direct(&'a Path, &'a Path),
    /// Framed with the container's name (a session of several containers).
    Framed(&'a LogPorts),
    /// Captured by the caller (`exec`).
    Piped,
}

/// Starts one process of container `name` rooted at `root` (`/` for the main container) with
/// `c`'s argv, env, user and working directory plus `extra_env`, in a session of its own.
pub fn spawn(
    name: &str,
    root: &str,
    c: &SessionConfig,
    extra_env: &[(String, String)],
    argv_override: Option<&[String]>,
    output: Output<'_>,
) -> Result<Child, String> {
    let argv = match argv_override {
        Some(a) => a.to_vec(),
        None => c.argv()?,
    };
    let in_root = |p: &str| {
        format!(
            "{}/{}",
            root.trim_end_matches('/'),
            p.trim_start_matches('/')
        )
    };
    let passwd = std::fs::read_to_string(in_root("etc/passwd")).unwrap_or_default();
    let group = std::fs::read_to_string(in_root("etc/group")).unwrap_or_default();
    let who = resolve_user(c.user.as_deref(), &passwd, &group)?;
    let mut env = c.environment(&who.home);
    for (k, v) in extra_env {
        match env.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let program = resolve_program(root, &argv[0], &path)?;
    let workdir = c.working_dir.clone().unwrap_or_else(|| "/".into());
    let mut cmd = Command::new(&program);
    cmd.arg0(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .uid(who.uid)
        .gid(who.gid);
    match output {
        Output::Direct(stdout, stderr) => {
            let open = |p: &Path| {
                File::options()
                    .write(true)
                    .open(p)
                    .map_err(|e| format!("open {}: {e}", p.display()))
            };
            cmd.stdout(open(stdout)?).stderr(open(stderr)?);
        }
        Output::Framed(_) | Output::Piped => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
    }
    let chroot = (root != "/")
        .then(|| std::ffi::CString::new(root).map_err(|_| "NUL in root".to_string()))
        .transpose()?;
    let wd =
        std::ffi::CString::new(workdir.clone()).map_err(|_| "NUL in working dir".to_string())?;
    // SAFETY: setsid, chroot and chdir are async-signal-safe; the CStrings outlive the fork.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if let Some(r) = &chroot {
                if libc::chroot(r.as_ptr()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if libc::chdir(wd.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("container '{name}': exec {program}: {e}"))?;
    if let Output::Framed(ports) = output {
        if let Some(out) = child.stdout.take() {
            frame_lines(out, name.to_string(), ports.stdout.clone());
        }
        if let Some(err) = child.stderr.take() {
            frame_lines(err, name.to_string(), ports.stderr.clone());
        }
    }
    Ok(child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_specs() {
        assert_eq!(disk_device("/dev/vda").expect("plain"), "/dev/vda");
    }

    #[test]
    fn programs_resolve_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("agent-root-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).expect("dir");
        std::fs::write(dir.join("bin/tool"), b"").expect("file");
        let root = dir.to_string_lossy().to_string();
        assert_eq!(
            resolve_program(&root, "tool", "/usr/bin:/bin"),
            Ok("/bin/tool".into())
        );
        assert_eq!(
            resolve_program(&root, "/bin/tool", ""),
            Ok("/bin/tool".into())
        );
        assert!(resolve_program(&root, "nope", "/bin").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

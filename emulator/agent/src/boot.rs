//! The boot sequence of PID 1: file systems, modules, network, virtio-serial ports.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sys;

/// Where the host puts the modules and their load order.
pub const MODULES_DIR: &str = "/.vm/modules";
/// How long to wait for the virtio devices to show up after loading the drivers.
const DEVICE_WAIT: Duration = Duration::from_secs(10);
/// Present (as `<fstype> <device>`) when the rootfs is on a disk rather than in the initramfs.
pub const DISK_MARKER: &str = "/.vm/rootfs";
/// Where the disk root is assembled before it becomes `/`.
const NEW_ROOT: &str = "/.vm/root";
/// Where the session's other containers' roots are (see [`crate::containers`]).
const CONTAINERS: &str = "/.vm/containers";
/// The pseudo file systems carried over into the disk root.
const CARRIED_MOUNTS: [&str; 5] = ["/proc", "/sys", "/dev", "/tmp", "/run"];

/// The device paths of the named virtio-serial ports.
#[derive(Debug, Clone)]
pub struct Ports {
    /// JSON-lines control channel.
    pub control: PathBuf,
    /// The container's stdout.
    pub stdout: PathBuf,
    /// The container's stderr.
    pub stderr: PathBuf,
}

/// Runs the whole boot sequence and returns the ports. Prints one line of phase timings
/// (milliseconds since the kernel started) on the console, for profiling boots.
pub fn boot() -> io::Result<Ports> {
    let start = sys::boottime_ms();
    mount_all();
    let mounted = sys::boottime_ms();
    load_modules();
    disk_root()?;
    let loaded = sys::boottime_ms();
    let ports = wait_ports()?;
    let found = sys::boottime_ms();
    if let Err(e) = network() {
        eprintln!("sessions-agent: network setup failed: {e}");
    }
    write_etc();
    eprintln!(
        "sessions-agent: boot ms since kernel start: init={start} mounts={mounted} modules={loaded} ports={found} net={}",
        sys::boottime_ms()
    );
    Ok(ports)
}

fn mount_all() {
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let mounts: [(&str, &str, &str, libc::c_ulong, &str); 7] = [
        ("proc", "/proc", "proc", nosuid, ""),
        ("sysfs", "/sys", "sysfs", nosuid, ""),
        ("devtmpfs", "/dev", "devtmpfs", libc::MS_NOSUID, "mode=0755"),
        (
            "devpts",
            "/dev/pts",
            "devpts",
            libc::MS_NOSUID | libc::MS_NOEXEC,
            "mode=0620,ptmxmode=0666",
        ),
        (
            "shm",
            "/dev/shm",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            "mode=1777",
        ),
        (
            "tmpfs",
            "/tmp",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            "mode=1777",
        ),
        (
            "tmpfs",
            "/run",
            "tmpfs",
            libc::MS_NOSUID | libc::MS_NODEV,
            "mode=0755",
        ),
    ];
    for (source, target, fstype, flags, data) in mounts {
        if let Err(e) = sys::mount(source, target, fstype, flags, data) {
            eprintln!("sessions-agent: {e}");
        }
    }
}

fn load_modules() {
    let order = match std::fs::read_to_string(Path::new(MODULES_DIR).join("order")) {
        Ok(order) => order,
        Err(_) => return, // a kernel with built-in drivers needs none
    };
    for name in order.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = Path::new(MODULES_DIR).join(format!("{name}.ko"));
        if let Err(e) = sys::load_module(&path) {
            eprintln!("sessions-agent: {e}");
        }
    }
}

/// Large images: mounts the read-only root disk named by [`DISK_MARKER`] under a tmpfs-backed
/// overlay (writes stay in guest RAM) and makes that the root. Nothing to do without the
/// marker.
fn disk_root() -> io::Result<()> {
    let Ok(marker) = std::fs::read_to_string(DISK_MARKER) else {
        return Ok(());
    };
    let mut words = marker.split_whitespace();
    let (Some(fstype), Some(spec)) = (words.next(), words.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{DISK_MARKER}: expected `<fstype> <device>`, got {marker:?}"),
        ));
    };
    let device = crate::containers::disk_device(spec)?;
    let device = device.as_str();
    let deadline = Instant::now() + DEVICE_WAIT;
    while !Path::new(device).exists() {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("root disk {device} did not appear (virtio_blk missing?)"),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    sys::mount(device, "/.vm/lower", fstype, libc::MS_RDONLY, "")?;
    sys::mount("tmpfs", "/.vm/rw", "tmpfs", 0, "mode=0755")?;
    std::fs::create_dir_all("/.vm/rw/upper")?;
    std::fs::create_dir_all("/.vm/rw/work")?;
    sys::mount(
        "overlay",
        NEW_ROOT,
        "overlay",
        0,
        "lowerdir=/.vm/lower,upperdir=/.vm/rw/upper,workdir=/.vm/rw/work",
    )?;
    for m in CARRIED_MOUNTS {
        sys::move_mount(m, &format!("{NEW_ROOT}{m}"))?;
    }
    // The other containers' roots live in the initramfs: keep them reachable.
    if Path::new(CONTAINERS).is_dir() {
        let target = format!("{NEW_ROOT}{CONTAINERS}");
        sys::mount(CONTAINERS, &target, "", libc::MS_BIND | libc::MS_REC, "")?;
    }
    sys::switch_root(NEW_ROOT)
}

fn port_names() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/sys/class/virtio-ports") else {
        return out;
    };
    for entry in entries.flatten() {
        let dev = entry.file_name().to_string_lossy().into_owned();
        if let Ok(name) = std::fs::read_to_string(entry.path().join("name")) {
            out.insert(name.trim().to_owned(), PathBuf::from("/dev").join(dev));
        }
    }
    out
}

fn wait_ports() -> io::Result<Ports> {
    let deadline = Instant::now() + DEVICE_WAIT;
    loop {
        let names = port_names();
        let found = |n: &str| names.get(n).filter(|p| p.exists()).cloned();
        if let (Some(control), Some(stdout), Some(stderr)) =
            (found("control"), found("stdout"), found("stderr"))
        {
            return Ok(Ports {
                control,
                stdout,
                stderr,
            });
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "virtio-serial ports control/stdout/stderr not found (have {:?})",
                    names.keys()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn network() -> io::Result<()> {
    sys::iface_up("lo", None)?;
    let deadline = Instant::now() + DEVICE_WAIT;
    while !Path::new("/sys/class/net/eth0").exists() {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no eth0 (virtio-net) appeared",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sys::iface_up("eth0", Some(([10, 0, 2, 15], [255, 255, 255, 0])))?;
    sys::default_route([10, 0, 2, 2])
}

fn write_etc() {
    let _ = std::fs::create_dir_all("/etc");
    if !Path::new("/etc/resolv.conf").exists() {
        let _ = std::fs::write("/etc/resolv.conf", "nameserver 10.0.2.3\n");
    }
    if !Path::new("/etc/hosts").exists() {
        let _ = std::fs::write("/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n");
    }
}

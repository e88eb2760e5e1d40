//! Thin wrappers over the system calls PID 1 needs: mounts, module loading, interface and
//! route setup, hostname, entropy, power off. Each returns an `io::Error` with context.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in string"))
}

fn check(ret: libc::c_int, what: &str) -> io::Result<()> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(())
    }
}

/// Mounts `fstype` at `target` (created if missing). EBUSY (already mounted) is not an error.
pub fn mount(
    source: &str,
    target: &str,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> io::Result<()> {
    std::fs::create_dir_all(target)?;
    let (s, t, f, d) = (cstr(source)?, cstr(target)?, cstr(fstype)?, cstr(data)?);
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the call.
    let ret = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, d.as_ptr().cast()) };
    if ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EBUSY) {
        return Ok(());
    }
    check(ret, &format!("mount {fstype} on {target}"))
}

/// Moves the mount at `from` to `to` (created if missing), with everything mounted below it.
pub fn move_mount(from: &str, to: &str) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: valid NUL-terminated paths; MS_MOVE ignores fstype and data (null).
    let ret = unsafe {
        libc::mount(
            f.as_ptr(),
            t.as_ptr(),
            std::ptr::null(),
            libc::MS_MOVE,
            std::ptr::null(),
        )
    };
    check(ret, &format!("move mount {from} to {to}"))
}

/// Makes the mount point `new_root` the root directory (what `switch_root` does for an
/// initramfs, which cannot be pivoted away).
pub fn switch_root(new_root: &str) -> io::Result<()> {
    std::env::set_current_dir(new_root)?;
    let (dot, slash) = (cstr(".")?, cstr("/")?);
    // SAFETY: valid NUL-terminated paths; MS_MOVE ignores fstype and data (null).
    let ret = unsafe {
        libc::mount(
            dot.as_ptr(),
            slash.as_ptr(),
            std::ptr::null(),
            libc::MS_MOVE,
            std::ptr::null(),
        )
    };
    check(ret, &format!("move {new_root} onto /"))?;
    // SAFETY: valid NUL-terminated path.
    check(unsafe { libc::chroot(dot.as_ptr()) }, "chroot")?;
    std::env::set_current_dir("/")
}

/// Loads a kernel module from a file. EEXIST (already loaded or built in) is not an error.
pub fn load_module(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    let params = cstr("")?;
    // SAFETY: finit_module takes an open fd, a NUL-terminated param string and flags.
    let ret =
        unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if ret < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EEXIST) {
            return Ok(());
        }
        return Err(io::Error::new(
            e.kind(),
            format!("finit_module {}: {e}", path.display()),
        ));
    }
    Ok(())
}

/// `struct ifreq` with the union as raw bytes.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(iface: &str) -> Self {
        let mut name = [0u8; 16];
        let n = iface.len().min(15);
        name[..n].copy_from_slice(&iface.as_bytes()[..n]);
        Self {
            name,
            data: [0; 24],
        }
    }
    fn set_addr(&mut self, ip: [u8; 4]) {
        let sa = sockaddr_in(ip);
        // SAFETY: sockaddr_in is 16 bytes of plain data and fits the 24-byte union.
        let bytes: [u8; 16] = unsafe { std::mem::transmute(sa) };
        self.data[..16].copy_from_slice(&bytes);
    }
}

fn sockaddr_in(ip: [u8; 4]) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    }
}

const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCSIFFLAGS: libc::c_ulong = 0x8914;
const SIOCSIFADDR: libc::c_ulong = 0x8916;
const SIOCSIFNETMASK: libc::c_ulong = 0x891c;
const SIOCADDRT: libc::c_ulong = 0x890B;

struct Sock(libc::c_int);
impl Drop for Sock {
    fn drop(&mut self) {
        // SAFETY: closing an fd we own.
        unsafe { libc::close(self.0) };
    }
}

fn inet_socket() -> io::Result<Sock> {
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd, "socket")?;
    Ok(Sock(fd))
}

fn ioctl_ifreq(sock: &Sock, req: libc::c_ulong, ifr: &mut IfReq, what: &str) -> io::Result<()> {
    // SAFETY: ifr is a valid, properly sized ifreq for these SIOC* requests.
    let ret = unsafe { libc::ioctl(sock.0, req as _, ifr as *mut IfReq) };
    check(ret, what)
}

/// Brings an interface up, optionally with an IPv4 address and netmask.
pub fn iface_up(iface: &str, addr: Option<([u8; 4], [u8; 4])>) -> io::Result<()> {
    let sock = inet_socket()?;
    if let Some((ip, mask)) = addr {
        let mut ifr = IfReq::new(iface);
        ifr.set_addr(ip);
        ioctl_ifreq(
            &sock,
            SIOCSIFADDR,
            &mut ifr,
            &format!("set address of {iface}"),
        )?;
        let mut ifr = IfReq::new(iface);
        ifr.set_addr(mask);
        ioctl_ifreq(
            &sock,
            SIOCSIFNETMASK,
            &mut ifr,
            &format!("set netmask of {iface}"),
        )?;
    }
    let mut ifr = IfReq::new(iface);
    ioctl_ifreq(
        &sock,
        SIOCGIFFLAGS,
        &mut ifr,
        &format!("get flags of {iface}"),
    )?;
    let flags =
        i16::from_ne_bytes([ifr.data[0], ifr.data[1]]) | (libc::IFF_UP | libc::IFF_RUNNING) as i16;
    ifr.data[..2].copy_from_slice(&flags.to_ne_bytes());
    ioctl_ifreq(&sock, SIOCSIFFLAGS, &mut ifr, &format!("bring {iface} up"))
}

/// Adds the default route via `gateway`.
pub fn default_route(gateway: [u8; 4]) -> io::Result<()> {
    let sock = inet_socket()?;
    // SAFETY: rtentry is plain data; all-zero is a valid starting point.
    let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
    let to_sa = |ip| {
        let sa = sockaddr_in(ip);
        // SAFETY: sockaddr_in and sockaddr are both 16 bytes of plain data.
        unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sa) }
    };
    rt.rt_dst = to_sa([0, 0, 0, 0]);
    rt.rt_genmask = to_sa([0, 0, 0, 0]);
    rt.rt_gateway = to_sa(gateway);
    rt.rt_flags = (libc::RTF_UP | libc::RTF_GATEWAY) as libc::c_ushort;
    // SAFETY: rt is a valid rtentry for SIOCADDRT.
    let ret = unsafe { libc::ioctl(sock.0, SIOCADDRT as _, &mut rt as *mut libc::rtentry) };
    check(ret, "add default route")
}

/// Sets the kernel hostname.
pub fn set_hostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe a valid byte buffer.
    let ret = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    check(ret, "sethostname")
}

const RNDADDENTROPY: libc::c_ulong = 0x4008_5203;
const RNDRESEEDCRNG: libc::c_ulong = 0x5207;

/// Mixes `seed` into the kernel pool (credited) and forces the CRNG to reseed, so clones of
/// one template do not share random state.
pub fn add_entropy(seed: &[u8]) -> io::Result<()> {
    if seed.is_empty() {
        return Ok(());
    }
    let file = File::options().write(true).open("/dev/urandom")?;
    // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
    let mut buf = Vec::with_capacity(8 + seed.len());
    let bits = i32::try_from(seed.len() * 8).unwrap_or(i32::MAX);
    let len = i32::try_from(seed.len()).unwrap_or(i32::MAX);
    buf.extend_from_slice(&bits.to_ne_bytes());
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(seed);
    buf.resize(buf.len().div_ceil(4) * 4, 0);
    // SAFETY: buf holds a complete rand_pool_info of the stated size.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), RNDADDENTROPY as _, buf.as_ptr()) };
    check(ret, "RNDADDENTROPY")?;
    // SAFETY: RNDRESEEDCRNG takes no argument.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), RNDRESEEDCRNG as _) };
    check(ret, "RNDRESEEDCRNG")
}

/// Milliseconds since the kernel started (`CLOCK_BOOTTIME`).
pub fn boottime_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1000
        + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1_000_000
}

/// Sets the wall clock to `unix_ms` milliseconds since the epoch.
pub fn set_clock(unix_ms: i64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: unix_ms.div_euclid(1000),
        tv_nsec: unix_ms.rem_euclid(1000) * 1_000_000,
    };
    // SAFETY: ts is a valid timespec.
    let ret = unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) };
    check(ret, "clock_settime")
}

/// Flushes file systems and powers the machine off. Never returns.
pub fn power_off() -> ! {
    // SAFETY: sync and reboot have no memory-safety preconditions.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // reboot only returns on failure; PID 1 exiting panics the kernel, which (panic=-1 and
    // -no-reboot) also ends the VM.
    std::process::exit(1)
}

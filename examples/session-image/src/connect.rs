//! `GET /connect?host=H&port=P[&mode=tcp|raw][&timeout_ms=N]`: can this session open a TCP
//! connection to `H:P`? The isolation tests ask it from inside a session.
//!
//! - `mode=tcp` (default): an ordinary `connect()`; `H` may be a name (resolved in the session).
//! - `mode=raw`: what code that does not play by the rules could do: a TCP SYN built by hand
//!   and written to the network interface as a raw Ethernet frame (`AF_PACKET`), for any IPv4
//!   destination (even `127.0.0.1`, which the kernel would never route out of the interface);
//!   the answer is read off the interface. Needs `CAP_NET_RAW` (root in the session).
//!
//! The result is one of `open` (the peer accepted: SYN-ACK), `refused` (RST), `timeout` (no
//! answer within `timeout_ms`, default 3000) or `error` (with `detail`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// The outcome of one attempt.
pub struct Outcome {
    /// `open`, `refused`, `timeout` or `error`.
    pub result: &'static str,
    /// The address tried, or what went wrong.
    pub detail: String,
}

/// Tries `host:port` the ordinary way.
pub fn tcp(host: &str, port: u16, timeout: Duration) -> Outcome {
    let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return Outcome {
                result: "error",
                detail: format!("cannot resolve {host}: {e}"),
            }
        }
    };
    let Some(addr) = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
    else {
        return Outcome {
            result: "error",
            detail: format!("{host} has no address"),
        };
    };
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => Outcome {
            result: "open",
            detail: addr.to_string(),
        },
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Outcome {
            result: "refused",
            detail: addr.to_string(),
        },
        Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock => {
            Outcome {
                result: "timeout",
                detail: addr.to_string(),
            }
        }
        Err(e) => Outcome {
            result: "error",
            detail: format!("{addr}: {e}"),
        },
    }
}

/// Tries `ip:port` with a hand-made SYN on the raw interface.
pub fn raw(ip: Ipv4Addr, port: u16, timeout: Duration) -> Outcome {
    match raw_syn(ip, port, timeout) {
        Ok(result) => Outcome {
            result,
            detail: format!("{ip}:{port}"),
        },
        Err(e) => Outcome {
            result: "error",
            detail: format!("raw SYN to {ip}:{port}: {e}"),
        },
    }
}

mod sys {
    //! The few libc calls `AF_PACKET` needs (the sample has no dependencies; musl has them).
    use std::os::raw::{c_char, c_int, c_uint, c_void};

    pub const AF_PACKET: c_int = 17;
    pub const SOCK_RAW: c_int = 3;
    pub const ETH_P_IP: u16 = 0x0800;
    pub const SOL_SOCKET: c_int = 1;
    pub const SO_RCVTIMEO: c_int = 20;

    /// `struct sockaddr_ll`.
    #[repr(C)]
    pub struct SockaddrLl {
        pub family: u16,
        pub protocol: u16,
        pub ifindex: c_int,
        pub hatype: u16,
        pub pkttype: u8,
        pub halen: u8,
        pub addr: [u8; 8],
    }

    /// `struct timeval`.
    #[repr(C)]
    pub struct Timeval {
        pub sec: i64,
        pub usec: i64,
    }

    extern "C" {
        pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
        pub fn bind(fd: c_int, addr: *const SockaddrLl, len: c_uint) -> c_int;
        pub fn sendto(
            fd: c_int,
            buf: *const c_void,
            len: usize,
            flags: c_int,
            addr: *const SockaddrLl,
            addrlen: c_uint,
        ) -> isize;
        pub fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
        pub fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: c_uint,
        ) -> c_int;
        pub fn close(fd: c_int) -> c_int;
        pub fn if_nametoindex(name: *const c_char) -> c_uint;
    }
}

/// The interface with the default route, its MAC and the gateway's.
struct Link {
    ifname: String,
    mac: [u8; 6],
    gateway_mac: [u8; 6],
    local: Ipv4Addr,
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(out)
}

fn link() -> io::Result<Link> {
    let err = |m: &str| io::Error::other(m.to_string());
    // The local address the kernel would use towards the gateway (no packet is sent).
    let probe = UdpSocket::bind("0.0.0.0:0")?;
    probe.connect("10.0.2.2:9")?;
    let IpAddr::V4(local) = probe.local_addr()?.ip() else {
        return Err(err("no IPv4 address"));
    };
    let routes = std::fs::read_to_string("/proc/net/route")?;
    let ifname = routes
        .lines()
        .skip(1)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&"00000000")).then(|| f[0].to_string())
        })
        .ok_or_else(|| err("no default route"))?;
    let mac = parse_mac(&std::fs::read_to_string(format!(
        "/sys/class/net/{ifname}/address"
    ))?)
    .ok_or_else(|| err("cannot read the interface MAC"))?;
    // Resolve the gateway's MAC (an ordinary datagram makes the kernel ask), then read it.
    let _ = probe.send(b"");
    let mut gateway_mac = None;
    for _ in 0..20 {
        let arp = std::fs::read_to_string("/proc/net/arp").unwrap_or_default();
        gateway_mac = arp.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"10.0.2.2"))
                .then(|| parse_mac(f.get(3)?))
                .flatten()
        });
        if gateway_mac.is_some_and(|m| m != [0; 6]) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Link {
        ifname,
        mac,
        // QEMU's user-mode network answers for every address with this MAC.
        gateway_mac: gateway_mac.unwrap_or([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]),
        local,
    })
}

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for c in chunks {
        for pair in c.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Ethernet frame of a TCP SYN from `src:sport` to `dst:dport`.
fn syn_frame(link: &Link, dst: Ipv4Addr, sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(24);
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&0u32.to_be_bytes());
    tcp.push(6 << 4); // data offset: 6 words (MSS option)
    tcp.push(0x02); // SYN
    tcp.extend_from_slice(&64240u16.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&link.local.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    let c = checksum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0];
    let total = (20 + tcp.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&link.local.octets());
    ip.extend_from_slice(&dst.octets());
    let c = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = Vec::with_capacity(14 + ip.len() + tcp.len());
    frame.extend_from_slice(&link.gateway_mac);
    frame.extend_from_slice(&link.mac);
    frame.extend_from_slice(&sys::ETH_P_IP.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&tcp);
    frame
}

/// Closes the descriptor on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { sys::close(self.0) };
    }
}

fn raw_syn(dst: Ipv4Addr, dport: u16, timeout: Duration) -> io::Result<&'static str> {
    let link = link()?;
    let name = std::ffi::CString::new(link.ifname.clone()).map_err(io::Error::other)?;
    // SAFETY: plain libc calls on values we own; every pointer outlives its call.
    unsafe {
        let ifindex = sys::if_nametoindex(name.as_ptr());
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = sys::socket(
            sys::AF_PACKET,
            sys::SOCK_RAW,
            i32::from(sys::ETH_P_IP.to_be()),
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = Fd(fd);
        let mut addr = sys::SockaddrLl {
            family: sys::AF_PACKET as u16,
            protocol: sys::ETH_P_IP.to_be(),
            ifindex: ifindex as i32,
            hatype: 0,
            pkttype: 0,
            halen: 6,
            addr: [0; 8],
        };
        addr.addr[..6].copy_from_slice(&link.gateway_mac);
        let len = std::mem::size_of::<sys::SockaddrLl>() as u32;
        if sys::bind(fd.0, &addr, len) != 0 {
            return Err(io::Error::last_os_error());
        }
        let tv = sys::Timeval {
            sec: 0,
            usec: 100_000,
        };
        sys::setsockopt(
            fd.0,
            sys::SOL_SOCKET,
            sys::SO_RCVTIMEO,
            (&tv as *const sys::Timeval).cast(),
            std::mem::size_of::<sys::Timeval>() as u32,
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id();
        let sport = 40_000 + (nanos % 20_000) as u16;
        let frame = syn_frame(&link, dst, sport, dport, nanos);
        if sys::sendto(fd.0, frame.as_ptr().cast(), frame.len(), 0, &addr, len) < 0 {
            return Err(io::Error::last_os_error());
        }
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            let n = sys::recv(fd.0, buf.as_mut_ptr().cast(), buf.len(), 0);
            if n < 14 + 20 + 20 {
                continue;
            }
            let p = &buf[14..n as usize];
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p[9] != 6 || p.len() < ihl + 14 || p[12..16] != dst.octets() {
                continue;
            }
            let t = &p[ihl..];
            let (from, to) = (
                u16::from_be_bytes([t[0], t[1]]),
                u16::from_be_bytes([t[2], t[3]]),
            );
            if from != dport || to != sport {
                continue;
            }
            let flags = t[13];
            if flags & 0x12 == 0x12 {
                return Ok("open");
            }
            if flags & 0x04 != 0 {
                return Ok("refused");
            }
        }
        Ok("timeout")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_frames() {
        // RFC 1071 example words.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            !0xddf2
        );
        let link = Link {
            ifname: "eth0".into(),
            mac: [2, 0, 0, 0, 0, 1],
            gateway_mac: [0x52, 0x55, 10, 0, 2, 2],
            local: Ipv4Addr::new(10, 0, 2, 15),
        };
        let f = syn_frame(&link, Ipv4Addr::LOCALHOST, 40000, 80, 7);
        assert_eq!(f.len(), 14 + 20 + 24);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        // A correct IP header sums to zero with its checksum.
        assert_eq!(checksum(&[&f[14..34]]), 0);
        assert_eq!(f[14 + 20 + 13], 0x02);
    }

    #[test]
    fn tcp_reports_open_and_refused() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            tcp("127.0.0.1", port, Duration::from_secs(2)).result,
            "open"
        );
        drop(l);
        assert_eq!(
            tcp("127.0.0.1", port, Duration::from_secs(2)).result,
            "refused"
        );
    }
}

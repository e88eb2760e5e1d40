//! Keeps sessions with egress enabled away from the host: every Ethernet frame the guest sends
//! passes through here before QEMU's user-mode network (slirp) sees it.
//!
//! # Why
//!
//! slirp makes outbound connections from the QEMU process, on the host. It translates the
//! guest's gateway address (`10.0.2.2`) to the host's `127.0.0.1` and `255.255.255.255` to
//! loopback too, and it connects to any destination a frame names, `127.0.0.1` or another
//! host address included: code in a session could reach the emulator's listener, other
//! loopback services, other sessions' forwarded ports or anything bound to a host address.
//! QEMU exposes no slirp option that turns this off (libslirp's `disable_host_loopback` is
//! not reachable from `-netdev user`), and a firewall inside the guest is no defence since
//! the guest is not trusted. `restrict=on` (egress disabled) blocks everything, so only
//! egress-enabled sessions need this.
//!
//! # How
//!
//! QEMU's `filter-redirector` on the netdev's receive queue (frames from the guest) sends
//! every frame to a Unix socket we listen on ([`qemu_args`]); [`run`] reads each, decides with
//! [`verdict`], and writes the frames it passes to a second socket, from where QEMU hands them
//! to slirp. Frames from slirp to the guest are not touched. The wire format of both sockets
//! is QEMU's: a 4-byte big-endian length, then the frame.
//!
//! # The rules ([`verdict`])
//!
//! A destination is *the host* when it is loopback (`127.0.0.0/8`), `0.0.0.0/8`, the limited
//! broadcast, any address of slirp's virtual network `10.0.2.0/24` (its gateway `10.0.2.2` is
//! the host's loopback, `10.0.2.3` its DNS forwarder), or an IPv4 address of a host interface
//! ([`host_addresses`], read when the session starts). To the host, only these pass:
//!
//! - TCP segments that do not open a connection (no SYN without ACK): the replies of
//!   connections the host opened to the session (its port forwards, i.e. the data plane and
//!   probes);
//! - DNS (TCP and UDP port 53) to the DNS forwarder `10.0.2.3`;
//! - DHCP (UDP 67) to the gateway or broadcast, and ICMP to the gateway or the DNS forwarder:
//!   slirp answers both itself, without a host socket.
//!
//! Everything else to the host is dropped silently (a connect attempt times out). Any other
//! IPv4 destination (the internet, other machines) passes; ARP passes; IPv6 is dropped (slirp's
//! IPv6 is switched off as well, `ipv6=off`).

use std::net::Ipv4Addr;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;

/// The slirp network every session sees (`10.0.2.0/24`).
const SLIRP_NET: (Ipv4Addr, u32) = (Ipv4Addr::new(10, 0, 2, 0), 24);
/// slirp's gateway: the host's loopback as seen from the guest.
const SLIRP_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// slirp's DNS forwarder.
const SLIRP_DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
/// Largest frame accepted from QEMU (a jumbo frame plus headers; the guest's MTU is 1500).
const MAX_FRAME: usize = 65_550;

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to slirp.
    Pass,
    /// Drop it.
    Drop,
}

/// The host's own addresses, besides loopback and slirp's network (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAddrs(pub Vec<Ipv4Addr>);

/// The IPv4 addresses of every interface of this host (`getifaddrs`).
pub fn host_addresses() -> HostAddrs {
    let mut out = Vec::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `ifap` with a list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return HostAddrs(out);
        }
        let mut cur = ifap;
        while !cur.is_null() {
            let addr = (*cur).ifa_addr;
            if !addr.is_null() && i32::from((*addr).sa_family) == libc::AF_INET {
                let sin = addr.cast::<libc::sockaddr_in>();
                out.push(Ipv4Addr::from(u32::from_be((*sin).sin_addr.s_addr)));
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    out.sort();
    out.dedup();
    HostAddrs(out)
}

fn in_net(ip: Ipv4Addr, (net, bits): (Ipv4Addr, u32)) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

/// True when a frame to `ip` would reach the host itself (see the module docs).
pub fn is_host(ip: Ipv4Addr, host: &HostAddrs) -> bool {
    ip.is_loopback()
        || in_net(ip, (Ipv4Addr::UNSPECIFIED, 8))
        || ip.is_broadcast()
        || in_net(ip, SLIRP_NET)
        || host.0.contains(&ip)
}

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// Decides one Ethernet frame from the guest (see the module docs). Anything it cannot parse
/// is dropped.
pub fn verdict(frame: &[u8], host: &HostAddrs) -> Verdict {
    let Some(ethertype) = frame.get(12..14) else {
        return Verdict::Drop;
    };
    match u16::from_be_bytes([ethertype[0], ethertype[1]]) {
        ETH_ARP => return Verdict::Pass,
        ETH_IPV4 => {}
        _ => return Verdict::Drop,
    }
    let ip = &frame[14..];
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return Verdict::Drop;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return Verdict::Drop;
    }
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if !is_host(dst, host) {
        return Verdict::Pass;
    }
    let proto = ip[9];
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    let fragmented = frag & 0x3fff != 0; // more-fragments flag or an offset
    let l4 = &ip[ihl..];
    let dport = || l4.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    let pass = match proto {
        PROTO_TCP if !fragmented => match (l4.get(13), dport()) {
            (Some(flags), Some(port)) => {
                let opens = flags & TCP_SYN != 0 && flags & TCP_ACK == 0;
                !opens || (dst == SLIRP_DNS && port == 53)
            }
            _ => false,
        },
        PROTO_UDP if !fragmented => match dport() {
            Some(53) => dst == SLIRP_DNS,
            Some(67) => dst == SLIRP_GATEWAY || dst.is_broadcast(),
            _ => false,
        },
        PROTO_ICMP => dst == SLIRP_GATEWAY || dst == SLIRP_DNS,
        _ => false,
    };
    if pass {
        Verdict::Pass
    } else {
        Verdict::Drop
    }
}

/// The QEMU arguments that route netdev `netdev`'s frames from the guest through `out`
/// (QEMU writes them there) and back in through `back` (QEMU reads the frames that pass).
/// Both are Unix sockets we listen on; QEMU connects as a client.
pub fn qemu_args(netdev: &str, out: &std::path::Path, back: &std::path::Path) -> Vec<String> {
    vec![
        "-chardev".into(),
        format!("socket,id=nf-out,path={}", out.display()),
        "-chardev".into(),
        format!("socket,id=nf-in,path={}", back.display()),
        "-object".into(),
        format!("filter-redirector,id=nf,netdev={netdev},queue=rx,outdev=nf-out,indev=nf-in"),
    ]
}

/// Frames seen and dropped by one filter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Frames read from QEMU.
    pub seen: u64,
    /// Frames dropped.
    pub dropped: u64,
}

/// Filters frames from `from_guest` into `to_slirp` until either socket closes (QEMU exited).
pub async fn run(from_guest: UnixStream, to_slirp: UnixStream, host: HostAddrs) -> Counts {
    let mut counts = Counts::default();
    let mut reader = BufReader::with_capacity(256 * 1024, from_guest);
    let mut writer = BufWriter::with_capacity(256 * 1024, to_slirp);
    let mut frame = vec![0u8; MAX_FRAME];
    while let Ok(len) = reader.read_u32().await {
        let len = len as usize;
        if len > MAX_FRAME {
            tracing::warn!(
                len,
                "oversized frame from QEMU's network filter; closing it"
            );
            break;
        }
        if reader.read_exact(&mut frame[..len]).await.is_err() {
            break;
        }
        counts.seen += 1;
        match verdict(&frame[..len], &host) {
            Verdict::Pass => {
                if writer.write_u32(len as u32).await.is_err()
                    || writer.write_all(&frame[..len]).await.is_err()
                {
                    break;
                }
            }
            Verdict::Drop => {
                counts.dropped += 1;
                tracing::trace!(len, "dropped a frame from a session to the host");
            }
        }
        // Flush once nothing more is waiting: frames that arrive together leave together.
        if reader.buffer().is_empty() && writer.flush().await.is_err() {
            break;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(dst: [u8; 4], proto: u8, l4: &[u8], frag: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETH_IPV4.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 2, 15];
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip.extend_from_slice(&dst);
        f.extend_from_slice(&ip);
        f.extend_from_slice(l4);
        f
    }

    fn tcp(dport: u16, flags: u8) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t
    }

    fn udp(dport: u16) -> Vec<u8> {
        let mut u = vec![0u8; 8];
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u
    }

    fn host() -> HostAddrs {
        HostAddrs(vec![Ipv4Addr::new(192, 0, 2, 2)])
    }

    #[test]
    fn connections_to_the_host_are_dropped() {
        let h = host();
        for dst in [
            [127, 0, 0, 1],
            [127, 0, 0, 2],
            [10, 0, 2, 2],
            [10, 0, 2, 3],
            [10, 0, 2, 99],
            [255, 255, 255, 255],
            [0, 0, 0, 0],
            [192, 0, 2, 2],
        ] {
            assert_eq!(
                verdict(&frame(dst, PROTO_TCP, &tcp(7443, TCP_SYN), 0), &h),
                Verdict::Drop,
                "{dst:?}"
            );
            assert_eq!(
                verdict(&frame(dst, PROTO_UDP, &udp(5000), 0), &h),
                Verdict::Drop,
                "{dst:?}"
            );
            // A fragment could hide the TCP flags.
            assert_eq!(
                verdict(&frame(dst, PROTO_TCP, &tcp(7443, TCP_ACK), 0x2000), &h),
                Verdict::Drop,
                "{dst:?}"
            );
        }
    }

    #[test]
    fn replies_dns_dhcp_and_the_internet_pass() {
        let h = host();
        // Replies on connections the host opened (the data plane, probes).
        assert_eq!(
            verdict(
                &frame([10, 0, 2, 2], PROTO_TCP, &tcp(50000, TCP_SYN | TCP_ACK), 0),
                &h
            ),
            Verdict::Pass
        );
        assert_eq!(
            verdict(
                &frame([10, 0, 2, 2], PROTO_TCP, &tcp(50000, TCP_ACK), 0),
                &h
            ),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&frame([10, 0, 2, 3], PROTO_UDP, &udp(53), 0), &h),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&frame([10, 0, 2, 3], PROTO_TCP, &tcp(53, TCP_SYN), 0), &h),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&frame([10, 0, 2, 2], PROTO_UDP, &udp(53), 0), &h),
            Verdict::Drop
        );
        assert_eq!(
            verdict(&frame([255, 255, 255, 255], PROTO_UDP, &udp(67), 0), &h),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&frame([10, 0, 2, 2], PROTO_ICMP, &[8, 0, 0, 0], 0), &h),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&frame([127, 0, 0, 1], PROTO_ICMP, &[8, 0, 0, 0], 0), &h),
            Verdict::Drop
        );
        for dst in [[93, 184, 216, 34], [192, 0, 2, 1], [8, 8, 8, 8]] {
            assert_eq!(
                verdict(&frame(dst, PROTO_TCP, &tcp(443, TCP_SYN), 0), &h),
                Verdict::Pass
            );
            assert_eq!(
                verdict(&frame(dst, PROTO_UDP, &udp(443), 0x2000), &h),
                Verdict::Pass
            );
        }
    }

    #[test]
    fn arp_passes_ipv6_and_garbage_are_dropped() {
        let h = host();
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&ETH_ARP.to_be_bytes());
        arp.extend_from_slice(&[0u8; 28]);
        assert_eq!(verdict(&arp, &h), Verdict::Pass);
        let mut v6 = vec![0u8; 12];
        v6.extend_from_slice(&0x86ddu16.to_be_bytes());
        v6.extend_from_slice(&[0x60; 40]);
        assert_eq!(verdict(&v6, &h), Verdict::Drop);
        assert_eq!(verdict(&[], &h), Verdict::Drop);
        let mut short = frame([127, 0, 0, 1], PROTO_TCP, &[0, 0], 0);
        assert_eq!(verdict(&short, &h), Verdict::Drop);
        short[14] = 0x4f; // header longer than the frame
        assert_eq!(verdict(&short, &h), Verdict::Drop);
    }

    #[test]
    fn this_host_has_addresses() {
        assert!(host_addresses().0.contains(&Ipv4Addr::LOCALHOST));
    }

    #[tokio::test]
    async fn frames_are_relayed_or_dropped_in_order() {
        let (mut qemu_out, ours_in) = UnixStream::pair().expect("pair");
        let (ours_out, mut qemu_in) = UnixStream::pair().expect("pair");
        let task = tokio::spawn(run(ours_in, ours_out, host()));
        let frames = [
            frame([8, 8, 8, 8], PROTO_TCP, &tcp(443, TCP_SYN), 0),
            frame([127, 0, 0, 1], PROTO_TCP, &tcp(7443, TCP_SYN), 0),
            frame([10, 0, 2, 2], PROTO_TCP, &tcp(50000, TCP_ACK), 0),
        ];
        for f in &frames {
            qemu_out.write_u32(f.len() as u32).await.expect("len");
            qemu_out.write_all(f).await.expect("frame");
        }
        drop(qemu_out);
        let mut got = Vec::new();
        while let Ok(n) = qemu_in.read_u32().await {
            let mut f = vec![0u8; n as usize];
            qemu_in.read_exact(&mut f).await.expect("frame");
            got.push(f);
        }
        assert_eq!(got, vec![frames[0].clone(), frames[2].clone()]);
        assert_eq!(
            task.await.expect("task"),
            Counts {
                seen: 3,
                dropped: 1
            }
        );
    }

    proptest! {
        /// Whatever the bytes, nothing panics; and a TCP SYN to a host address never passes,
        /// whatever its IP options, other flags and trailing bytes.
        #[test]
        fn no_syn_to_the_host_passes(
            noise in proptest::collection::vec(any::<u8>(), 0..80),
            opts in proptest::collection::vec(any::<u8>(), 40),
            ihl in 5u8..=15,
            last in 0u8..=255,
            flags in 0u8..=255,
        ) {
            let h = host();
            let _ = verdict(&noise, &h);
            let mut f = frame([127, 0, 0, last], PROTO_TCP, &[], 0);
            f[14] = 0x40 | ihl;
            f.extend_from_slice(&opts[..usize::from(ihl - 5) * 4]);
            f.extend_from_slice(&tcp(7443, (flags | TCP_SYN) & !TCP_ACK));
            f.extend_from_slice(&noise);
            prop_assert_eq!(verdict(&f, &h), Verdict::Drop);
        }
    }
}

//! Builds the `qemu-system-x86_64` command line of one microVM. Pure: every input is in
//! [`VmLaunch`], so the exact arguments are unit-tested.

use std::path::PathBuf;

/// Host address every session's port forward binds to.
///
/// Not 127.0.0.1 on purpose: slirp maps a guest's connections to its gateway (10.0.2.2) onto
/// the host's 127.0.0.1, so forwards there would be one step away from every guest. A guest
/// can still name any host address in a hand-made frame; what keeps egress-enabled sessions
/// away from the host (this address included) is [`super::netfilter`].
pub const FORWARD_ADDR: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 2);

/// TCG translation-block cache size in MiB for clones: a clone translates about 16 MiB of
/// code to serve its first requests, and the cache is resident memory, so it stays small.
pub const TCG_TB_MIB: u32 = 32;
/// TCG translation-block cache size in MiB for VMs that boot the kernel (cold sessions and
/// templates): a boot generates about 44 MiB of code, and a cache that fills up is flushed
/// and everything translated again (about a fifth of the boot time).
pub const TCG_BOOT_TB_MIB: u32 = 64;

/// Guest kernel arguments that make boots cheaper (each measured under TCG): no clocksource
/// watchdog (it marks the TSC unstable on a busy host, and microvm has no HPET to fall back
/// to), no crypto self-tests, one UART to probe, no IO-APIC timer check, no lockup detectors,
/// no audit. `mitigations=off` drops the guest's own Spectre/Meltdown work (page-table
/// isolation costs a TLB flush per syscall under TCG); it only concerns processes inside one
/// session's VM, never the boundary between sessions or to the host.
pub const GUEST_KERNEL_ARGS: &str = "tsc=reliable cryptomgr.notests 8250.nr_uarts=1 \
     no_timer_check nowatchdog audit=0 mitigations=off";

/// Which accelerator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl Accel {
    /// `kvm` / `tcg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// How guest RAM is backed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Memory {
    /// Anonymous memory (cold boot without a template).
    Anonymous,
    /// A template being made: RAM lives in this file, shared (writes land in the file).
    TemplateSource(PathBuf),
    /// A clone: private copy-on-write mapping of the template's RAM file, state from
    /// `-incoming defer`.
    Clone(PathBuf),
}

/// Everything that decides one QEMU command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmLaunch {
    /// Guest kernel (bzImage).
    pub kernel: PathBuf,
    /// Initramfs.
    pub initrd: PathBuf,
    /// Read-only erofs root disk (large images; see [`super::media`]).
    pub disk: Option<PathBuf>,
    /// Read-only erofs disks of the session's other containers, with their virtio serials.
    pub sidecar_disks: Vec<(PathBuf, String)>,
    /// Accelerator.
    pub accel: Accel,
    /// Host TSC frequency in kHz (`tsc_early_khz`, needed by microvm under TCG).
    pub tsc_khz: Option<u64>,
    /// vCPUs.
    pub vcpus: u32,
    /// Guest RAM in MiB.
    pub memory_mib: u64,
    /// RAM backing.
    pub memory: Memory,
    /// Host port on [`FORWARD_ADDR`] forwarded to `target_port`.
    pub host_port: u16,
    /// Guest port.
    pub target_port: u16,
    /// More forwards (host port on [`FORWARD_ADDR`], guest port), e.g. for
    /// probes on other container ports.
    pub extra_forwards: Vec<(u16, u16)>,
    /// Whether the guest may open outbound connections (`restrict=on` when not; through
    /// [`Self::net_filter`] when it may).
    pub egress: bool,
    /// With egress: the Unix sockets of the frame filter ([`super::netfilter`]): QEMU writes
    /// the guest's frames to the first and reads the ones that pass from the second.
    pub net_filter: Option<(PathBuf, PathBuf)>,
    /// Unix sockets QEMU connects to (we listen): QMP, control, stdout, stderr.
    pub qmp_socket: PathBuf,
    /// Control port socket.
    pub control_socket: PathBuf,
    /// Stdout port socket.
    pub stdout_socket: PathBuf,
    /// Stderr port socket.
    pub stderr_socket: PathBuf,
    /// Serial console log file.
    pub console_log: PathBuf,
}

fn p(path: &std::path::Path) -> String {
    path.display().to_string()
}

impl VmLaunch {
    /// The arguments (without the program name).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        let machine = match self.memory {
            Memory::Anonymous => "microvm".to_string(),
            _ => "microvm,memory-backend=mem".to_string(),
        };
        let cpu = match self.accel {
            Accel::Tcg => "max",
            // PVM-style hosts abort on arch-capabilities; real KVM does not need it either.
            Accel::Kvm => "host,-arch-capabilities",
        };
        // Boots get a cache big enough to never flush; clones a small one (resident memory).
        let accel = match self.accel {
            Accel::Tcg => {
                let mib = match self.memory {
                    Memory::Clone(_) => TCG_TB_MIB,
                    Memory::Anonymous | Memory::TemplateSource(_) => TCG_BOOT_TB_MIB,
                };
                format!("tcg,tb-size={mib}")
            }
            Accel::Kvm => "kvm".to_string(),
        };
        push(&["-M", &machine, "-accel", &accel, "-cpu", cpu]);
        push(&[
            "-m",
            &format!("{}M", self.memory_mib),
            "-smp",
            &self.vcpus.to_string(),
        ]);
        push(&["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"]);
        match &self.memory {
            Memory::Anonymous => {}
            Memory::TemplateSource(file) | Memory::Clone(file) => {
                let share = if matches!(self.memory, Memory::TemplateSource(_)) {
                    "on"
                } else {
                    "off"
                };
                push(&[
                    "-object",
                    &format!(
                        "memory-backend-file,id=mem,size={}M,mem-path={},share={share}",
                        self.memory_mib,
                        p(file)
                    ),
                ]);
            }
        }
        let mut append = format!("console=ttyS0 quiet panic=-1 {GUEST_KERNEL_ARGS}");
        if let Some(khz) = self.tsc_khz {
            append.push_str(&format!(" tsc_early_khz={khz}"));
        }
        push(&[
            "-kernel",
            &p(&self.kernel),
            "-initrd",
            &p(&self.initrd),
            "-append",
            &append,
        ]);
        if let Some(disk) = &self.disk {
            push(&[
                "-drive",
                &format!(
                    "file={},if=none,id=rootdisk,format=raw,readonly=on",
                    p(disk)
                ),
                "-device",
                &format!(
                    "virtio-blk-device,drive=rootdisk,serial={}",
                    super::media::ROOT_DISK_SERIAL
                ),
            ]);
        }
        for (disk, serial) in &self.sidecar_disks {
            push(&[
                "-drive",
                &format!(
                    "file={},if=none,id=disk-{serial},format=raw,readonly=on",
                    p(disk)
                ),
                "-device",
                &format!("virtio-blk-device,drive=disk-{serial},serial={serial}"),
            ]);
        }
        push(&[
            "-chardev",
            &format!("file,id=con,path={}", p(&self.console_log)),
            "-serial",
            "chardev:con",
        ]);
        let mut netdev = format!(
            "user,id=n0,hostfwd=tcp:{}:{}-:{}",
            FORWARD_ADDR, self.host_port, self.target_port
        );
        for (host, guest) in &self.extra_forwards {
            netdev.push_str(&format!(",hostfwd=tcp:{FORWARD_ADDR}:{host}-:{guest}"));
        }
        if !self.egress {
            netdev.push_str(",restrict=on");
        }
        // No IPv6: slirp maps its whole IPv6 prefix onto the host's ::1.
        netdev.push_str(",ipv6=off");
        push(&["-netdev", &netdev, "-device", "virtio-net-device,netdev=n0"]);
        if let (true, Some((out, back))) = (self.egress, &self.net_filter) {
            let filter = super::netfilter::qemu_args("n0", out, back);
            push(&filter.iter().map(String::as_str).collect::<Vec<_>>());
        }
        push(&[
            "-chardev",
            &format!("socket,id=qmp,path={}", p(&self.qmp_socket)),
            "-mon",
            "chardev=qmp,mode=control",
        ]);
        push(&["-device", "virtio-serial-device"]);
        for (id, path) in [
            ("control", &self.control_socket),
            ("stdout", &self.stdout_socket),
            ("stderr", &self.stderr_socket),
        ] {
            push(&[
                "-chardev",
                &format!("socket,id={id},path={}", p(path)),
                "-device",
                &format!("virtserialport,chardev={id},name={id}"),
            ]);
        }
        if matches!(self.memory, Memory::Clone(_)) {
            push(&["-incoming", "defer"]);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(memory: Memory, egress: bool) -> VmLaunch {
        VmLaunch {
            kernel: "/boot/vmlinuz".into(),
            initrd: "/d/initrd.cpio".into(),
            disk: None,
            sidecar_disks: Vec::new(),
            accel: Accel::Tcg,
            tsc_khz: Some(2_100_000),
            vcpus: 1,
            memory_mib: 512,
            memory,
            host_port: 40000,
            target_port: 8080,
            extra_forwards: Vec::new(),
            egress,
            net_filter: None,
            qmp_socket: "/r/qmp".into(),
            control_socket: "/r/control".into(),
            stdout_socket: "/r/stdout".into(),
            stderr_socket: "/r/stderr".into(),
            console_log: "/r/console.log".into(),
        }
    }

    #[test]
    fn cold_boot_command_line() {
        let args = launch(Memory::Anonymous, true).args().join(" ");
        insta::assert_snapshot!(args);
    }

    #[test]
    fn large_rootfs_disk_is_a_read_only_virtio_blk() {
        let mut l = launch(Memory::Anonymous, true);
        l.disk = Some("/d/root.erofs".into());
        l.sidecar_disks = vec![("/d/root.c1.erofs".into(), "c1".into())];
        let args = l.args().join(" ");
        assert!(
            args.contains(
                "-drive file=/d/root.erofs,if=none,id=rootdisk,format=raw,readonly=on \
                 -device virtio-blk-device,drive=rootdisk,serial=root"
            ),
            "{args}"
        );
        assert!(
            args.contains(
                "-drive file=/d/root.c1.erofs,if=none,id=disk-c1,format=raw,readonly=on \
                 -device virtio-blk-device,drive=disk-c1,serial=c1"
            ),
            "{args}"
        );
    }

    #[test]
    fn egress_disabled_restricts_slirp() {
        let args = launch(Memory::Anonymous, false).args().join(" ");
        assert!(
            args.contains("hostfwd=tcp:127.0.0.2:40000-:8080,restrict=on"),
            "{args}"
        );
    }

    #[test]
    fn egress_enabled_frames_go_through_the_filter() {
        let mut l = launch(Memory::Anonymous, true);
        l.net_filter = Some(("/r/net-out".into(), "/r/net-in".into()));
        let args = l.args().join(" ");
        assert!(!args.contains("restrict=on"), "{args}");
        assert!(
            args.contains(",ipv6=off -device virtio-net-device,netdev=n0"),
            "{args}"
        );
        assert!(
            args.contains(
                "-chardev socket,id=nf-out,path=/r/net-out -chardev socket,id=nf-in,path=/r/net-in \
                 -object filter-redirector,id=nf,netdev=n0,queue=rx,outdev=nf-out,indev=nf-in"
            ),
            "{args}"
        );
        // Egress disabled: restrict=on alone, no filter.
        let mut l = launch(Memory::Anonymous, false);
        l.net_filter = Some(("/r/net-out".into(), "/r/net-in".into()));
        assert!(!l.args().join(" ").contains("filter-redirector"));
    }

    #[test]
    fn extra_ports_get_their_own_forwards() {
        let mut l = launch(Memory::Anonymous, false);
        l.extra_forwards = vec![(40001, 9090)];
        let args = l.args().join(" ");
        assert!(
            args.contains(
                "hostfwd=tcp:127.0.0.2:40000-:8080,hostfwd=tcp:127.0.0.2:40001-:9090,restrict=on"
            ),
            "{args}"
        );
    }

    #[test]
    fn template_and_clone_share_the_ram_file() {
        let src = launch(Memory::TemplateSource("/t/ram".into()), true)
            .args()
            .join(" ");
        let clone = launch(Memory::Clone("/t/ram".into()), true)
            .args()
            .join(" ");
        assert!(
            src.contains("mem-path=/t/ram,share=on") && !src.contains("-incoming"),
            "{src}"
        );
        assert!(
            clone.contains("mem-path=/t/ram,share=off") && clone.ends_with("-incoming defer"),
            "{clone}"
        );
        assert!(clone.contains("-M microvm,memory-backend=mem"));
    }
}

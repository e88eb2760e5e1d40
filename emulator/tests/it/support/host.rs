//! What an emulator process holds on this host, read from `/proc` and the temp dir: open
//! descriptors, resident memory, its QEMU processes and VM run dirs. The leak and crash tests
//! compare these before and after.

use std::path::PathBuf;

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Resident memory of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The VM run dirs of emulator `pid` (`{tmp}/sessions-vm/{pid}-*`).
pub fn run_dirs(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("{pid}-");
    std::fs::read_dir(std::env::temp_dir().join("sessions-vm"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Pids of the QEMU processes emulator `pid` started (their command line names one of its
/// run dirs), alive or not yet reaped.
pub fn qemu_of(pid: u32) -> Vec<u32> {
    let marker = format!("sessions-vm/{pid}-");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("qemu-system") && cmd.contains(&marker)
        })
        .collect()
}

/// Waits up to `limit` for `f` to hold; returns whether it did.
pub fn wait_for(limit: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

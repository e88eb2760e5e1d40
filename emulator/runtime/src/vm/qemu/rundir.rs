//! Per-VM runtime directories (sockets, console log) under `/tmp/sessions-vm/`, short enough
//! for unix socket paths. Each is named after the owning emulator pid so a later start can
//! sweep the leftovers of a killed emulator.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::vm::error::{BackendError, Result};

/// Root of all runtime dirs.
pub fn root() -> PathBuf {
    std::env::temp_dir().join("sessions-vm")
}

/// A directory removed (recursively) on drop.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `<root>/<pid>-<n>-<label>`.
    pub fn create(label: &str) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let safe: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(16)
            .collect();
        let path = root().join(format!("{}-{n}-{safe}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| BackendError::io(format!("creating {}", path.display()), e))?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes runtime dirs whose owning process no longer exists. Returns how many.
pub fn sweep_stale() -> usize {
    let Ok(entries) = std::fs::read_dir(root()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the pid exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

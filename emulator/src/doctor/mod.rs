//! `sessions-emulator doctor`: checks what the emulator needs on this host and prints one line
//! per check: `ok`, `note` (sessions still run) or `FAIL` with what to do. It exits 0 only when
//! sessions can run. `serve` runs the hard checks ([`preflight`]) before it starts and refuses
//! to start with the same lines when one fails; `--backend fake` needs no QEMU, kernel or
//! guest.
//!
//! The checks, in order: the guest built into this program, the QEMU binary and version, the
//! guest kernel (which file), the accelerator (KVM or the TCG fallback and why, e.g. a PVM
//! `/dev/kvm` that cannot boot stock kernels), the data dir writable, its free disk, the listen
//! address free, `mkfs.erofs` (optional: large images), `terraform` (optional).
//!
//! # Layout
//! - [`checks`]: the individual checks.

pub mod checks;

use std::path::{Path, PathBuf};

use crate::config::BackendKind;

pub use checks::{Check, Level};

/// Where and how the emulator would run: the `serve` flags that matter to the checks.
#[derive(Debug, Clone)]
pub struct Target {
    /// `--listen`.
    pub listen: String,
    /// The data dir, `None` for `--in-memory`.
    pub data_dir: Option<PathBuf>,
    /// Where images, boot media and the accelerator cache live (the data dir, or the user
    /// cache dir for `--in-memory`).
    pub vm_dir: PathBuf,
    /// `--backend`.
    pub backend: BackendKind,
}

/// Every finding, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether sessions can run (no `FAIL`).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.level != Level::Fail)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.level == Level::Fail)
    }

    /// One aligned line per check.
    pub fn render(&self) -> String {
        render(self.checks.iter())
    }
}

fn render<'a>(checks: impl Iterator<Item = &'a Check>) -> String {
    checks
        .map(|c| format!("{:<5} {:<13} {}\n", c.level.word(), c.name, c.detail))
        .collect()
}

fn not_needed(name: &'static str) -> Check {
    Check {
        name,
        level: Level::Note,
        detail: "not needed with --backend fake".into(),
    }
}

/// The checks `serve` cannot start without (no KVM probe, no listen check: binding reports
/// that itself).
fn hard_checks(target: &Target) -> Vec<Check> {
    let mut out = Vec::new();
    if target.backend == BackendKind::Qemu {
        out.push(checks::guest());
        out.push(checks::qemu().0);
        out.push(checks::kernel().0);
    }
    out.push(checks::writable("data dir", &target.vm_dir));
    out.push(checks::disk(&target.vm_dir));
    out
}

/// Every check, for `doctor`.
pub async fn run(target: &Target) -> Report {
    let mut out = Vec::new();
    if target.backend == BackendKind::Qemu {
        out.push(checks::guest());
        let (q, qemu) = checks::qemu();
        out.push(q);
        let (k, kernel) = checks::kernel();
        out.push(k);
        out.push(match (qemu, kernel) {
            (Some(q), Some(k)) => checks::accelerator(&q, &k, &target.vm_dir).await,
            _ => Check {
                name: "accelerator",
                level: Level::Note,
                detail: "not checked: needs QEMU and a guest kernel first".into(),
            },
        });
    } else {
        for name in ["guest", "qemu", "guest kernel", "accelerator"] {
            out.push(not_needed(name));
        }
    }
    out.push(checks::writable("data dir", &target.vm_dir));
    out.push(checks::disk(&target.vm_dir));
    out.push(checks::listen(&target.listen, target.data_dir.as_deref()));
    out.push(checks::mkfs_erofs());
    out.push(checks::terraform());
    Report { checks: out }
}

/// The error `serve` stops with when a hard requirement is missing.
#[derive(Debug, thiserror::Error)]
#[error("sessions-emulator cannot run sessions on this host:\n{lines}Run `sessions-emulator doctor` for every check, or `serve --backend fake` for in-process sessions without VMs.")]
pub struct PreflightError {
    /// The failed checks, rendered as `doctor` prints them.
    pub lines: String,
}

/// `serve`'s start-up check: the hard requirements for `target`.
pub fn preflight(target: &Target) -> Result<(), PreflightError> {
    let report = Report {
        checks: hard_checks(target),
    };
    if report.ok() {
        return Ok(());
    }
    Err(PreflightError {
        lines: render(report.failures()),
    })
}

/// Prints the report of `doctor` and returns whether sessions can run.
pub async fn print(target: &Target) -> bool {
    let where_ = match &target.data_dir {
        Some(d) => format!("data dir {}", d.display()),
        None => format!("--in-memory, images in {}", target.vm_dir.display()),
    };
    let backend = match target.backend {
        BackendKind::Qemu => "qemu",
        BackendKind::Fake => "fake",
    };
    println!(
        "sessions-emulator doctor: {where_}, listen {}, backend {backend}",
        target.listen
    );
    let report = run(target).await;
    print!("{}", report.render());
    if report.ok() {
        println!("Sessions can run here.");
    } else {
        println!("Sessions cannot run here: fix the FAIL lines above.");
    }
    report.ok()
}

/// The directory images and VM state use for `data_dir` (see [`crate::wiring::vm_dir`]).
pub fn vm_dir_for(data_dir: Option<&Path>) -> PathBuf {
    let mut config = crate::config::Config::in_memory("http://127.0.0.1");
    config.data_dir = data_dir.map(Path::to_path_buf);
    crate::wiring::vm_dir(&config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_backend_needs_no_vm_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = Target {
            listen: "127.0.0.1:0".into(),
            data_dir: Some(dir.path().to_path_buf()),
            vm_dir: dir.path().to_path_buf(),
            backend: BackendKind::Fake,
        };
        assert!(preflight(&target).is_ok());
        let names: Vec<_> = hard_checks(&target).iter().map(|c| c.name).collect();
        assert_eq!(names, ["data dir", "free disk"]);
    }

    #[test]
    fn preflight_error_lists_the_failures_and_the_way_out() {
        let target = Target {
            listen: "127.0.0.1:0".into(),
            data_dir: None,
            vm_dir: PathBuf::from("/proc/not-a-data-dir"),
            backend: BackendKind::Fake,
        };
        let e = preflight(&target).expect_err("unwritable").to_string();
        assert!(e.contains("FAIL  data dir"), "{e}");
        assert!(e.contains("sessions-emulator doctor"), "{e}");
        assert!(!e.contains("ok    "), "only failures are listed: {e}");
    }

    #[test]
    fn rendering_aligns_columns() {
        let r = Report {
            checks: vec![
                Check {
                    name: "qemu",
                    level: Level::Ok,
                    detail: "v".into(),
                },
                Check {
                    name: "guest kernel",
                    level: Level::Fail,
                    detail: "missing".into(),
                },
            ],
        };
        assert_eq!(
            r.render(),
            "ok    qemu          v\nFAIL  guest kernel  missing\n"
        );
        assert!(!r.ok());
    }
}

//! Container resources as the VM layer sees them: `cpu` (cores, fractional allowed) and
//! `memory` (Kubernetes quantities such as `0.5Gi`, `512Mi`, `1G`) mapped to `-smp`/`-m`.

use serde::{Deserialize, Serialize};

use super::error::{BackendError, Result};

/// Smallest guest RAM that boots the distro kernel plus our agent.
pub const MIN_MEMORY_MIB: u64 = 128;
/// Largest guest RAM we accept (64 GiB); more is certainly a typo.
pub const MAX_MEMORY_MIB: u64 = 64 * 1024;
/// Largest vCPU count we accept.
pub const MAX_CPUS: u32 = 64;

/// Resources of one session, already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resources {
    /// CPU in millicores (`0.25` cores = 250).
    pub cpu_millis: u32,
    /// Memory in MiB as requested (before the VM minimum is applied).
    pub memory_mib: u64,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpu_millis: 250,
            memory_mib: 512,
        }
    }
}

impl Resources {
    /// Parses the ARM shape: `cpu` in cores (e.g. `0.25`), `memory` as a quantity (e.g. `0.5Gi`).
    pub fn parse(cpu: f64, memory: &str) -> Result<Self> {
        if !cpu.is_finite() || cpu <= 0.0 || cpu > f64::from(MAX_CPUS) {
            return Err(BackendError::InvalidSpec {
                field: "resources.cpu",
                message: format!(
                    "must be a number of cores above 0 and at most {MAX_CPUS}, got {cpu}"
                ),
            });
        }
        let memory_mib = parse_memory_mib(memory)?;
        // Rounded to whole millicores; the range check above keeps it well inside u32.
        let cpu_millis = (cpu * 1000.0).round().max(1.0) as u32;
        Ok(Self {
            cpu_millis,
            memory_mib,
        })
    }

    /// `-smp`: whole vCPUs, rounded up, at least one.
    pub fn vcpus(&self) -> u32 {
        self.cpu_millis.div_ceil(1000).max(1)
    }

    /// `-m` in MiB: the requested memory, at least [`MIN_MEMORY_MIB`].
    pub fn vm_memory_mib(&self) -> u64 {
        self.memory_mib.max(MIN_MEMORY_MIB)
    }
}

/// Parses a Kubernetes-style memory quantity into MiB (rounded up).
///
/// Accepts a decimal number followed by `Ki`, `Mi`, `Gi`, `Ti`, `K`, `M`, `G`, `T`, or nothing
/// (bytes). Examples: `0.5Gi` = 512, `1Gi` = 1024, `256Mi` = 256, `1G` = 954.
pub fn parse_memory_mib(text: &str) -> Result<u64> {
    let bad = |why: &str| {
        BackendError::InvalidSpec {
        field: "resources.memory",
        message: format!(
            "{why}: got {text:?}; use a quantity such as \"0.5Gi\", \"512Mi\" or \"2Gi\" (at most 64Gi)"
        ),
    }
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(bad("missing number"));
    }
    let value: f64 = number.parse().map_err(|_| bad("not a number"))?;
    let multiplier: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "K" | "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return Err(bad("unknown unit")),
    };
    let mib = (value * multiplier / (1024.0 * 1024.0)).ceil();
    if !mib.is_finite() || mib <= 0.0 {
        return Err(bad("must be above zero"));
    }
    if mib > MAX_MEMORY_MIB as f64 {
        return Err(bad("too large"));
    }
    Ok(mib as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_memory_mib("0.5Gi").ok(), Some(512));
        assert_eq!(parse_memory_mib("1Gi").ok(), Some(1024));
        assert_eq!(parse_memory_mib("256Mi").ok(), Some(256));
        assert_eq!(parse_memory_mib("1G").ok(), Some(954));
        assert_eq!(parse_memory_mib("4Gi").ok(), Some(4096));
    }

    #[test]
    fn memory_errors_name_the_field() {
        for bad in ["", "Gi", "1Xi", "-1Gi", "0Gi", "1000Ti", "1.2.3Gi"] {
            let err = parse_memory_mib(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("resources.memory"), "{bad:?} -> {err}");
        }
    }

    #[test]
    fn cpu_maps_to_whole_vcpus() {
        let r = Resources::parse(0.25, "0.5Gi").expect("valid");
        assert_eq!((r.vcpus(), r.vm_memory_mib()), (1, 512));
        let r = Resources::parse(1.5, "64Mi").expect("valid");
        assert_eq!((r.vcpus(), r.vm_memory_mib()), (2, MIN_MEMORY_MIB));
        assert!(Resources::parse(0.0, "1Gi").is_err());
        assert!(Resources::parse(f64::NAN, "1Gi").is_err());
    }

    proptest! {
        #[test]
        fn memory_parser_never_panics(s in ".{0,12}") {
            let _ = parse_memory_mib(&s);
        }

        #[test]
        fn mebibytes_round_trip(n in 1u64..65536) {
            prop_assert_eq!(parse_memory_mib(&format!("{n}Mi")).ok(), Some(n));
        }
    }
}

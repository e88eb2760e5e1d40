//! Progress for loads and pulls: one rewritten line on stderr when it is a terminal, silence
//! otherwise (CI logs, the emulator's own output, tests).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Reports bytes and layers while an image is imported.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    label: String,
    layers_total: usize,
    layer: usize,
    bytes: u64,
    last: Option<Instant>,
}

impl Progress {
    /// A reporter that prints only when stderr is a terminal.
    pub fn auto(label: impl Into<String>) -> Self {
        Self::new(label, std::io::stderr().is_terminal())
    }

    /// A reporter that never prints.
    pub fn quiet() -> Self {
        Self::new("", false)
    }

    fn new(label: impl Into<String>, enabled: bool) -> Self {
        Self {
            enabled,
            label: label.into(),
            layers_total: 0,
            layer: 0,
            bytes: 0,
            last: None,
        }
    }

    /// Starts layer `n` (1-based) of `total`.
    pub fn layer(&mut self, n: usize, total: usize) {
        self.layer = n;
        self.layers_total = total;
        self.draw(true);
    }

    /// Adds `n` transferred bytes.
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes += n;
        self.draw(false);
    }

    /// Total bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Ends the progress line with a summary.
    pub fn done(&mut self, summary: &str) {
        if self.enabled {
            let mut e = std::io::stderr();
            let _ = writeln!(
                e,
                "\r\x1b[2K{}: {summary} ({})",
                self.label,
                human_bytes(self.bytes)
            );
        }
    }

    fn draw(&mut self, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|l| now.duration_since(l) < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let mut e = std::io::stderr();
        let _ = if self.layers_total == 0 {
            write!(e, "\r\x1b[2K{}: {}", self.label, human_bytes(self.bytes))
        } else {
            write!(
                e,
                "\r\x1b[2K{}: layer {}/{}, {}",
                self.label,
                self.layer,
                self.layers_total,
                human_bytes(self.bytes)
            )
        };
        let _ = e.flush();
    }
}

/// `1.5 MiB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn quiet_counts_bytes() {
        let mut p = Progress::quiet();
        p.layer(1, 2);
        p.add_bytes(10);
        p.add_bytes(5);
        p.done("ok");
        assert_eq!(p.bytes(), 15);
    }
}

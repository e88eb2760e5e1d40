//! The runtime's own timings, for the emulator's Prometheus endpoint (`/metrics`): how long
//! sessions take to start (cold boot and template clone apart) and how long allocations take.
//!
//! The numbers are process-wide (one emulator per process), kept in fixed-bucket histograms
//! whose recording is a few relaxed atomic adds: nothing here blocks a pool actor or a
//! supervisor. Rendering them is the emulator's job; this module only counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bounds (seconds) of the histogram buckets: from a fraction of a millisecond (an
/// allocation from the ready set) to a minute (a cold boot under software emulation).
pub const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// A cumulative histogram of durations with the bounds [`BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or below each bound (not cumulative; [`Histogram::snapshot`] sums).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum of observations in nanoseconds.
    sum_nanos: AtomicU64,
}

/// A consistent-enough copy of a histogram (each field read once).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound, observations <= bound)`, cumulative, in [`BUCKETS`] order.
    pub buckets: Vec<(f64, u64)>,
    /// Every observation.
    pub count: u64,
    /// Sum of observations, seconds.
    pub sum: f64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The current counts.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0;
        let buckets = BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(b, n)| {
                acc += n.load(Ordering::Relaxed);
                (*b, acc)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// How a session came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartKind {
    /// Booted from scratch (or any backend without templates).
    Boot,
    /// Cloned from a template snapshot.
    Clone,
}

/// The runtime's timings.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// Backend start until the session is ready (probes passed), cold boots.
    pub boot: Histogram,
    /// The same for template clones.
    pub clone: Histogram,
    /// `allocate` calls that bound an identifier: request until the binding is answered.
    pub allocation: Histogram,
}

impl Telemetry {
    /// The histogram of sessions started as `kind`.
    pub fn start(&self, kind: StartKind) -> &Histogram {
        match kind {
            StartKind::Boot => &self.boot,
            StartKind::Clone => &self.clone,
        }
    }
}

/// The process's telemetry.
pub fn global() -> &'static Telemetry {
    static T: OnceLock<Telemetry> = OnceLock::new();
    T.get_or_init(Telemetry::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_sum_is_kept() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(20));
        h.observe(Duration::from_secs(120));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], (0.0005, 1));
        assert_eq!(s.buckets[5], (0.025, 2));
        // 120 s is above every bound: only in the count (+Inf).
        assert_eq!(s.buckets.last().map(|b| b.1), Some(2));
        assert!((s.sum - 120.0203).abs() < 1e-6, "{}", s.sum);
    }
}

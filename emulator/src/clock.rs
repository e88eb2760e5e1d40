//! Injected time: [`SystemClock`] in production, [`ManualClock`] in tests that need to move
//! time deterministically (token expiry, cooldowns) instead of sleeping.

use std::sync::Arc;

use parking_lot::Mutex;
use time::OffsetDateTime;

/// A source of the current UTC time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: time::Duration) {
        let mut now = self.now.lock();
        *now += d;
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: OffsetDateTime) {
        *self.now.lock() = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances() {
        let c = ManualClock::new(OffsetDateTime::UNIX_EPOCH);
        c.advance(time::Duration::seconds(5));
        assert_eq!(c.now().unix_timestamp(), 5);
    }
}

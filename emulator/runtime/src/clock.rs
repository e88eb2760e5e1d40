//! Injected time: the one [`Clock`] of an emulator instance (tokens, timestamps, cooldowns,
//! `maxAlivePeriodInSeconds`, probe schedules). [`SystemClock`] in production sleeps until each
//! deadline with one tokio timer (no polling); [`ManualClock`] in tests moves only when told to
//! and wakes every sleeper whose deadline it passes, so lifecycle and token-expiry tests advance
//! time instead of sleeping. Nothing in the runtime calls `OffsetDateTime::now_utc()` for a
//! decision: time comes from the injected clock.
//!
//! [`TimeScale`] is the documented `--time-scale` option of `sessions-emulator serve`: it multiplies
//! every configured lifecycle and probe *duration* (cooldown, maxAlive, initialDelay, period) by a
//! factor, so `--time-scale 0.01` makes a 300 s cooldown last 3 s. The rules (what resets a
//! cooldown, how many probe failures end a session) never change. Network timeouts of probes
//! (`timeoutSeconds`) are not scaled below [`TimeScale::MIN_TIMEOUT`], so a slow guest is not
//! declared dead by a shortened timeout.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;
use tokio::sync::watch;

/// A source of wall-clock time plus a way to wait for a moment of that time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;
    /// Completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: OffsetDateTime) -> BoxFuture<'static, ()>;
    /// Completes after `duration` of this clock's time has passed.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleep_until(self.now() + duration)
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: system time and tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, deadline: OffsetDateTime) -> BoxFuture<'static, ()> {
        let left = deadline - OffsetDateTime::now_utc();
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(left))
    }
}

/// A clock that only moves when a test calls [`ManualClock::advance`] or [`ManualClock::set`].
/// Sleepers wake as soon as the time they wait for is reached.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<OffsetDateTime>>,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// A manual clock starting at the current wall-clock time (so timestamps look plausible).
    pub fn starting_now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// Moves time forward by `by` (a `std::time::Duration` or a `time::Duration`) and wakes
    /// every sleeper whose deadline has passed.
    pub fn advance<D>(&self, by: D)
    where
        OffsetDateTime: std::ops::Add<D, Output = OffsetDateTime>,
    {
        self.now.send_modify(|t| *t = *t + by);
    }

    /// Sets the time (forward only; an earlier time is ignored so deadlines never un-pass).
    pub fn set(&self, to: OffsetDateTime) {
        self.now.send_if_modified(|t| {
            if to > *t {
                *t = to;
                true
            } else {
                false
            }
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: OffsetDateTime) -> BoxFuture<'static, ()> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            loop {
                if *rx.borrow_and_update() >= deadline {
                    return;
                }
                if rx.changed().await.is_err() {
                    // The clock is gone: nobody can ever advance it again; never wake.
                    futures::future::pending::<()>().await;
                }
            }
        })
    }
}

/// Errors from parsing a time scale.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TimeScaleError {
    /// Not a positive finite number.
    #[error("invalid --time-scale `{0}`: use a number greater than 0 and at most 1, e.g. 0.01")]
    Invalid(String),
}

/// Factor applied to configured lifecycle and probe durations (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl Default for TimeScale {
    fn default() -> Self {
        Self(1.0)
    }
}

impl TimeScale {
    /// Shortest duration a scaled probe timeout gets.
    pub const MIN_TIMEOUT: Duration = Duration::from_millis(500);
    /// Shortest duration any scaled period gets (keeps probes from spinning).
    pub const MIN_PERIOD: Duration = Duration::from_millis(10);

    /// A scale factor in `(0, 1]`.
    pub fn new(factor: f64) -> Result<Self, TimeScaleError> {
        if factor.is_finite() && factor > 0.0 && factor <= 1.0 {
            Ok(Self(factor))
        } else {
            Err(TimeScaleError::Invalid(factor.to_string()))
        }
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// `seconds` of configured time, scaled.
    pub fn secs(self, seconds: u64) -> Duration {
        Duration::from_secs_f64(seconds as f64 * self.0)
    }

    /// A configured period, scaled but never below [`Self::MIN_PERIOD`].
    pub fn period(self, seconds: u64) -> Duration {
        self.secs(seconds).max(Self::MIN_PERIOD)
    }

    /// A configured network timeout, scaled but never below [`Self::MIN_TIMEOUT`].
    pub fn timeout(self, seconds: u64) -> Duration {
        self.secs(seconds).max(Self::MIN_TIMEOUT)
    }
}

impl std::str::FromStr for TimeScale {
    type Err = TimeScaleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let f: f64 = s
            .trim()
            .parse()
            .map_err(|_| TimeScaleError::Invalid(s.to_string()))?;
        Self::new(f).map_err(|_| TimeScaleError::Invalid(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced() {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        let sleeper = tokio::spawn(clock.sleep(Duration::from_secs(300)));
        clock.advance(Duration::from_secs(299));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke")
            .expect("no panic");
        assert_eq!(clock.now() - start, time::Duration::seconds(300));
    }

    #[tokio::test]
    async fn manual_clock_past_deadline_is_immediate() {
        let clock = ManualClock::starting_now();
        let past = clock.now() - Duration::from_secs(1);
        tokio::time::timeout(Duration::from_secs(5), clock.sleep_until(past))
            .await
            .expect("immediate");
    }

    #[test]
    fn manual_clock_never_goes_back() {
        let clock = ManualClock::starting_now();
        let t = clock.now();
        clock.set(t - Duration::from_secs(10));
        assert_eq!(clock.now(), t);
    }

    #[test]
    fn time_scale_parses_and_scales() {
        let s: TimeScale = "0.01".parse().expect("valid");
        assert_eq!(s.secs(300), Duration::from_secs(3));
        assert_eq!(s.period(0), TimeScale::MIN_PERIOD);
        assert_eq!(s.timeout(1), TimeScale::MIN_TIMEOUT);
        assert_eq!(TimeScale::default().secs(5), Duration::from_secs(5));
    }

    #[test]
    fn time_scale_rejects_nonsense() {
        for bad in ["0", "-1", "2", "nan", "abc", "inf"] {
            assert!(bad.parse::<TimeScale>().is_err(), "{bad}");
        }
    }
}

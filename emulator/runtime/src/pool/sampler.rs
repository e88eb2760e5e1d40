//! The metric sampler: at every minute boundary of the emulator's clock it records, for each
//! pool, how many sessions are allocated (`PoolExecutingPodCount`), being created
//! (`PoolPendingPodCount`) and ready (`PoolReadyPodCount`) at that instant, as the sample of
//! the minute that just ended, and asks the log store to apply retention.
//!
//! Time is the injected clock's: a test advancing a manual clock by a minute gets exactly one
//! more sample per pool.

use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::manager::PoolManager;
use super::session::SessionState;
use super::PoolSnapshot;
use crate::clock::SharedClock;
use crate::logstore::persist::Sample;
use crate::logstore::LogStore;

/// `[executing, pending, ready]` of a snapshot.
pub fn gauges(snap: &PoolSnapshot) -> [u32; 3] {
    let n = |s: SessionState| snap.count(s) as u32;
    [
        n(SessionState::Allocated),
        n(SessionState::Booting),
        n(SessionState::Ready),
    ]
}

/// Start of the minute containing `t` (unix seconds).
pub fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60) * 60
}

/// Records one sample per registered pool, labelled `minute` (unix seconds).
pub fn sample_all(pools: &PoolManager, logs: &LogStore, minute: i64) {
    for h in pools.pools() {
        let snap = h.snapshot();
        if snap.deleted {
            continue;
        }
        let [executing, pending, ready] = gauges(&snap);
        let ctx = h.context();
        logs.send_sample(Sample {
            minute,
            pool_id: ctx.resource_id.as_str().to_string(),
            environment_id: ctx.environment_id.clone(),
            executing,
            pending,
            ready,
            routes: 0,
        });
    }
}

/// Most minutes filled in after the clock jumped (a manual clock advanced by hours, a host
/// that slept): each gets the state seen at wake-up.
pub const MAX_CATCH_UP_MINUTES: i64 = 60;

/// Starts the sampler task (it runs until the returned handle is aborted).
pub fn spawn(pools: PoolManager, logs: LogStore, clock: SharedClock) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut next = minute_of(clock.now()) + 60;
        loop {
            let Ok(at) = OffsetDateTime::from_unix_timestamp(next) else {
                return;
            };
            clock.sleep_until(at).await;
            let last = minute_of(clock.now());
            let first = next.max(last - 60 * (MAX_CATCH_UP_MINUTES - 1));
            for boundary in (first..=last).step_by(60) {
                sample_all(&pools, &logs, boundary - 60);
            }
            logs.sweep().await;
            next = last + 60;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn minutes() {
        assert_eq!(
            minute_of(datetime!(2024-05-01 10:00:59.9 UTC)),
            datetime!(2024-05-01 10:00 UTC).unix_timestamp()
        );
    }
}

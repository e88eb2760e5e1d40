//! Retry policy: exponential backoff on 408/429/5xx and connection errors, honouring
//! `Retry-After` (seconds or HTTP date), bounded in attempts and in delay.

use std::time::{Duration, SystemTime};

/// How often and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry when the server gives no `Retry-After`.
    pub base_delay: Duration,
    /// Upper bound on any single delay, including a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `attempt` (0-based), preferring the server's `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let d = retry_after.unwrap_or_else(|| {
            self.base_delay
                .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        });
        d.min(self.max_delay)
    }
}

/// Statuses worth retrying: request timeout, throttling, and server-side failures.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Reads `Retry-After` (or the millisecond `retry-after-ms` / `x-ms-retry-after-ms`) from headers.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| parse_retry_after(v.to_str().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, None), Duration::from_secs(1));
        assert_eq!(p.delay(1, None), Duration::from_secs(2));
        assert_eq!(p.delay(3, None), Duration::from_secs(8));
        assert_eq!(p.delay(30, None), Duration::from_secs(60));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7000))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_retryable_status(s));
        }
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_cap(attempt in 0u32..1000, ra in proptest::option::of(0u64..1_000_000)) {
            let p = RetryPolicy::default();
            prop_assert!(p.delay(attempt, ra.map(Duration::from_secs)) <= p.max_delay);
        }

        #[test]
        fn parse_retry_after_never_panics(s in ".{0,64}") {
            let _ = parse_retry_after(&s);
        }
    }
}

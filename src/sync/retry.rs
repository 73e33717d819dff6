//! When to try a request again and how long to wait first: exponential
//! backoff with jitter, and the server's own `Retry-After` when it sends
//! one (RFC 9110 §10.2.3: delay-seconds or an HTTP-date). Every wait must
//! fit in the pull's deadline, so a pull ends in bounded time.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retry limits of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first one.
    pub max_retries: u32,
    /// First backoff; doubled per try.
    pub base_delay: Duration,
    /// Longest backoff between two tries (a `Retry-After` may ask for more,
    /// as long as it fits in the deadline).
    pub max_delay: Duration,
    /// Limit of one request, connection to last byte.
    pub request_timeout: Duration,
    /// Limit of one whole pull, every request and wait included.
    pub pull_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            pull_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): base * 2^attempt,
    /// capped, times a random factor in [0.5, 1.0] so that many clients
    /// throttled at once do not come back in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let jitter = 0.5 + rand::random::<f64>() / 2.0;
        capped.mul_f64(jitter)
    }
}

/// Statuses worth another try: throttling and server-side failures
/// (ARM's guidance for 429 and 5xx). 501 and 505 will not change.
pub fn retryable(status: u16) -> bool {
    status == 429 || status == 408 || (status >= 500 && status != 501 && status != 505)
}

/// The wait a response asks for. ARM and Entra ID send `Retry-After` in
/// seconds; RFC 9110 also allows an HTTP-date, read against `now`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        // RFC 9110's example date is 784111777 in Unix time.
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT"), now),
            Some(Duration::ZERO)
        );
        let earlier = now - Duration::from_secs(120);
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT"), earlier),
            Some(Duration::from_secs(120))
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&headers("-3"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_capped() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            let d = p.backoff(attempt);
            let full = (p.base_delay * 2u32.pow(attempt.min(10))).min(p.max_delay);
            assert!(d <= full && d >= full / 2, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn what_is_retried() {
        for s in [429, 408, 500, 502, 503, 504] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 501, 505] {
            assert!(!retryable(s), "{s}");
        }
    }
}

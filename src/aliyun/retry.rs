//! The retry policy of API calls: how many attempts, how long between them (exponential
//! backoff with jitter, or what throttling asks for), all within one deadline.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::log::verbose;

/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 5;
/// First backoff; it doubles per attempt up to [`MAX_BACKOFF`], and full jitter takes up to
/// half of it off.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// What one attempt came to.
pub(crate) enum Attempt<T> {
    Done(T),
    /// Worth another attempt after the given wait (`None`: the usual backoff).
    Retry(Error, Option<Duration>),
    Fail(Error),
}

/// Run attempts until one is done or fails for good, the attempts run out or the deadline
/// comes. Each attempt is told how long it may take. The error of the last attempt is returned,
/// with the number of attempts and the endpoint filled in.
pub(crate) fn with_retries<T>(
    deadline: Instant,
    action: &'static str,
    endpoint: &str,
    attempt_timeout: Duration,
    mut attempt: impl FnMut(Duration) -> Attempt<T>,
) -> Result<T, Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let (error, wait) = match attempt(remaining.min(attempt_timeout)) {
            Attempt::Done(answer) => return Ok(answer),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry(error, wait) => (error, wait),
        };
        // A server's hint is a floor, never less than the backoff (a `TimeLeft:0` must not
        // turn into a tight loop), and gets the backoff's jitter on top.
        let wait = wait.map_or_else(|| backoff(attempts), |hint| hint + backoff(attempts));
        let remaining = deadline.saturating_duration_since(Instant::now());
        // Give up when out of attempts, or when the wait would leave no time to try again.
        if attempts >= MAX_ATTEMPTS || wait + Duration::from_millis(100) >= remaining {
            return Err(match error {
                Error::Unreachable { detail, .. } => Error::Unreachable {
                    action,
                    endpoint: endpoint.to_string(),
                    attempts,
                    detail,
                },
                Error::Api(mut api) => {
                    api.attempts = attempts;
                    Error::Api(api)
                }
                other => other,
            });
        }
        verbose!(
            "attempt {attempts} failed; retrying in {} ms",
            wait.as_millis()
        );
        std::thread::sleep(wait);
    }
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, less up to half at random.
fn backoff(attempt: u32) -> Duration {
    let full = BASE_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    full.mul_f64(0.5 + f64::from(byte[0]) / 510.0)
}

/// How long throttling asks us to wait: the `TimeLeft` (milliseconds) of the
/// `x-ratelimit-user-api` or `x-ratelimit-user` header, e.g.
/// `Limit:10,Remain:0,TimeLeft:2000,Reset:1700000000000`; else `Retry-After`.
pub(crate) fn throttle_wait(headers: &HeaderMap) -> Option<Duration> {
    ["x-ratelimit-user-api", "x-ratelimit-user"]
        .iter()
        .filter_map(|name| header(headers, name))
        .find_map(|value| parse_time_left(&value))
        .or_else(|| retry_after(headers))
}

/// The `TimeLeft` field of a rate-limit header, in milliseconds.
pub(crate) fn parse_time_left(value: &str) -> Option<Duration> {
    value.split(',').find_map(|part| {
        let (name, number) = part.split_once(':')?;
        (name.trim() == "TimeLeft")
            .then(|| number.trim().parse::<u64>().ok())
            .flatten()
            .map(Duration::from_millis)
    })
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A header's value, when it is text.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_left_from_rate_limit_headers() {
        assert_eq!(
            parse_time_left("Limit:10,Remain:0,TimeLeft:2000,Reset:1700000000000"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_time_left("Limit:10, TimeLeft: 15"),
            Some(Duration::from_millis(15))
        );
        assert_eq!(parse_time_left("Limit:10,Remain:0"), None);
        assert_eq!(parse_time_left("TimeLeft:soon"), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let wait = backoff(attempt);
            let full = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1))
                .min(MAX_BACKOFF);
            assert!(
                wait >= full / 2 && wait <= full,
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}

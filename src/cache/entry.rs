//! One cached credential: what it is, when it must be refreshed, and when it stops working.

use serde::{Deserialize, Serialize};

use crate::cert::Validity;
use crate::exec_credential::{Status, StatusJson};

/// The entry file's layout version; an entry of another version is a miss.
pub(crate) const FORMAT: u32 = 1;

/// The refresh window is the longer of a fifth of the lifetime and this.
const MIN_REFRESH_WINDOW: i64 = 10 * 60;
/// Inside the window, the printed expiry sits this far before the end, or half the time left.
const END_MARGIN: i64 = 60;
/// Inside the window, the printed expiry is at most this far ahead, so that a client comes back
/// soon for the certificate a refresh is fetching.
const WINDOW_HOLD: i64 = 5 * 60;
/// A certificate inside its window is served at once (and refreshed in the background) only
/// while at least this much of it is left; closer to its end the call waits for a new one.
const BACKGROUND_MARGIN: i64 = 2 * 60;
/// How far in the future a fresh certificate's NotBefore may lie and still count as valid now:
/// the API server judges validity by its own clock, which the issuer shares, so a machine whose
/// clock is a little behind theirs must not refuse a certificate that works.
const CLOCK_ALLOWANCE: i64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) format: u32,
    /// The canonical cache key it was stored under.
    pub(crate) key: String,
    pub(crate) fetched_at: i64,
    /// When it stops working: the earlier of the certificate's NotAfter and the API's expiry.
    pub(crate) not_after: i64,
    /// From here on the next call fetches a new one.
    pub(crate) refresh_at: i64,
    /// The certificate and key (or token), as printed. Secret: only ever printed to stdout.
    pub(crate) credential: StatusJson,
    /// The last refresh that failed, while this entry was kept: shown by `cache list`, and gone
    /// with the next entry stored. Holds the error text the user would have seen (no secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_failed: Option<RefreshFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshFailure {
    pub(crate) at: i64,
    pub(crate) message: String,
}

impl Entry {
    /// An entry for a freshly fetched credential.
    ///
    /// `validity` is the certificate's (absent for a token), `api_expiration` what the API said;
    /// the earlier wins. With neither, `fallback_lifetime` seconds from now. A certificate that
    /// is not valid now (expired, or valid only from some time on) is an error.
    ///
    /// The refresh window is a share of the lifetime left from now (from NotBefore if that is
    /// later): a NotBefore backdated by a month must not put a fresh certificate inside its
    /// window at once, which would make every call a miss.
    pub(crate) fn new(
        key: String,
        credential: &Status,
        now: i64,
        validity: Option<Validity>,
        api_expiration: Option<i64>,
        fallback_lifetime: i64,
    ) -> Result<Entry, String> {
        let not_after = [validity.map(|v| v.not_after), api_expiration]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + fallback_lifetime);
        if not_after <= now {
            return Err(format!(
                "the credential the API returned expired at {}, and this machine's clock reads {}: \
                 if the clock is wrong, correct it",
                crate::time::rfc3339(not_after),
                crate::time::rfc3339(now)
            ));
        }
        if let Some(validity) = validity
            && validity.not_before > now + CLOCK_ALLOWANCE
        {
            return Err(format!(
                "the certificate the API returned is valid only from {}, and this machine's \
                 clock reads {}: if the clock is wrong, correct it",
                crate::time::rfc3339(validity.not_before),
                crate::time::rfc3339(now)
            ));
        }
        let start = validity.map_or(now, |v| v.not_before.max(now));
        Ok(Entry {
            format: FORMAT,
            key,
            fetched_at: now,
            not_after,
            refresh_at: refresh_point(start, not_after),
            credential: StatusJson::new(credential),
            refresh_failed: None,
        })
    }

    /// Good to serve without asking the API.
    pub(crate) fn is_fresh(&self, now: i64) -> bool {
        now < self.refresh_at
    }

    /// Due for refresh, but still working: served with a warning when the refresh fails.
    pub(crate) fn is_usable(&self, now: i64) -> bool {
        now < self.not_after
    }

    /// Inside its window but with enough left to be served while a new one is fetched in the
    /// background (at least [`BACKGROUND_MARGIN`]).
    pub(crate) fn can_wait_for_refresh(&self, now: i64) -> bool {
        !self.is_fresh(now) && self.not_after - now >= BACKGROUND_MARGIN
    }

    /// The `expirationTimestamp` to print: the refresh point, so a long-running client comes
    /// back in time; inside the window, a moment before the end (always still in the future
    /// while the entry is usable) and at most [`WINDOW_HOLD`] ahead, so the client comes back
    /// soon for the new certificate.
    pub(crate) fn expiration_to_print(&self, now: i64) -> i64 {
        if now < self.refresh_at {
            self.refresh_at
        } else {
            let end = self.not_after - END_MARGIN.min((self.not_after - now) / 2);
            end.min(now + WINDOW_HOLD)
        }
    }
}

/// Refresh once less than a fifth of the lifetime or ten minutes remain, whichever is longer.
fn refresh_point(not_before: i64, not_after: i64) -> i64 {
    let window = ((not_after - not_before) / 5).max(MIN_REFRESH_WINDOW);
    not_after - window
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn status() -> Status {
        Status {
            client_certificate_data: Some("cert".into()),
            client_key_data: Some("key".into()),
            token: None,
        }
    }

    fn entry(not_before: i64, not_after: i64, api: Option<i64>) -> Entry {
        let validity = Validity {
            not_before,
            not_after,
        };
        Entry::new("k".into(), &status(), NOW, Some(validity), api, 0).unwrap()
    }

    #[test]
    fn three_hour_certificate_refreshes_with_a_fifth_left() {
        let e = entry(NOW - 60, NOW + 3 * HOUR, Some(NOW + 3 * HOUR));
        let lifetime = 3 * HOUR;
        assert_eq!(e.refresh_at, NOW + 3 * HOUR - lifetime / 5);
        assert!(e.is_fresh(NOW));
        assert!(e.is_fresh(e.refresh_at - 1));
        assert!(!e.is_fresh(e.refresh_at));
        assert_eq!(e.expiration_to_print(NOW), e.refresh_at);
        assert!(e.expiration_to_print(NOW) < e.not_after);
    }

    #[test]
    fn short_certificate_keeps_ten_minutes() {
        let e = entry(NOW, NOW + 30 * 60, None);
        assert_eq!(e.refresh_at, NOW + 20 * 60);
    }

    #[test]
    fn the_earlier_of_not_after_and_api_expiration_wins() {
        let e = entry(NOW, NOW + 3 * HOUR, Some(NOW + HOUR));
        assert_eq!(e.not_after, NOW + HOUR);
        assert!(e.expiration_to_print(NOW) < NOW + HOUR);
        let e = entry(NOW, NOW + HOUR, Some(NOW + 3 * HOUR));
        assert_eq!(e.not_after, NOW + HOUR);
    }

    #[test]
    fn certificate_already_in_the_window_expires_a_moment_before_not_after() {
        let e = entry(NOW - 60, NOW + 8 * 60, None);
        assert!(!e.is_fresh(NOW), "the next call must fetch again");
        assert!(e.is_usable(NOW));
        let printed = e.expiration_to_print(NOW);
        assert_eq!(printed, NOW + 5 * 60, "at most five minutes ahead");
        // Close to the end, still strictly in the future and before NotAfter.
        let late = NOW + 8 * 60 - 10;
        let printed = e.expiration_to_print(late);
        assert!(printed > late && printed < e.not_after, "{printed}");
    }

    #[test]
    fn inside_the_window_it_is_served_for_at_most_five_minutes_while_two_are_left() {
        let e = entry(NOW - HOUR, NOW + 3 * HOUR, None);
        let inside = e.refresh_at + 1;
        assert!(e.can_wait_for_refresh(inside));
        assert_eq!(e.expiration_to_print(inside), inside + 5 * 60);
        assert!(
            !e.can_wait_for_refresh(e.refresh_at - 1),
            "fresh: nothing to wait for"
        );
        let late = e.not_after - 2 * 60;
        assert!(e.can_wait_for_refresh(late));
        assert_eq!(
            e.expiration_to_print(late),
            e.not_after - 60,
            "NotAfter - 1 min"
        );
        assert!(
            !e.can_wait_for_refresh(late + 1),
            "under 2 minutes: fetched in the call"
        );
    }

    #[test]
    fn expired_on_arrival_is_an_error() {
        let validity = Validity {
            not_before: NOW - HOUR,
            not_after: NOW - 1,
        };
        let error = Entry::new("k".into(), &status(), NOW, Some(validity), None, 0).unwrap_err();
        assert!(error.contains("clock"), "{error}");
    }

    #[test]
    fn a_backdated_not_before_does_not_stretch_the_window() {
        let e = entry(NOW - 30 * 24 * HOUR, NOW + 3 * HOUR, None);
        assert_eq!(e.refresh_at, NOW + 3 * HOUR - 3 * HOUR / 5);
        assert!(e.is_fresh(NOW + HOUR));
    }

    #[test]
    fn not_yet_valid_is_an_error_beyond_a_little_clock_skew() {
        let validity = |from: i64| Validity {
            not_before: NOW + from,
            not_after: NOW + from + 3 * HOUR,
        };
        let skewed = Entry::new("k".into(), &status(), NOW, Some(validity(60)), None, 0).unwrap();
        assert_eq!(skewed.refresh_at, NOW + 60 + 3 * HOUR - 3 * HOUR / 5);
        let error =
            Entry::new("k".into(), &status(), NOW, Some(validity(HOUR)), None, 0).unwrap_err();
        assert_eq!(
            error,
            format!(
                "the certificate the API returned is valid only from {}, and this machine's \
                 clock reads {}: if the clock is wrong, correct it",
                crate::time::rfc3339(NOW + HOUR),
                crate::time::rfc3339(NOW)
            )
        );
    }

    #[test]
    fn token_without_expiry_uses_the_asked_lifetime() {
        let e = Entry::new("k".into(), &status(), NOW, None, None, 3 * HOUR).unwrap();
        assert_eq!(e.not_after, NOW + 3 * HOUR);
        assert_eq!(e.refresh_at, NOW + 3 * HOUR - 3 * HOUR / 5);
    }
}

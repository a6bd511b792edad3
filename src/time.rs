//! Time as the plugin needs it: Unix seconds, RFC 3339 for kubectl, RFC 1123 for ROA's `Date`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> i64 {
    Utc::now().timestamp()
}

/// `2026-01-02T03:04:05Z`, the form kubectl parses for `expirationTimestamp`.
pub(crate) fn rfc3339(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parse an RFC 3339 timestamp (`2024-03-10T09:56:17Z`) into Unix seconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// `Mon, 02 Jan 2006 15:04:05 GMT`, the `Date` header the ROA signature covers.
pub(crate) fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parse an HTTP `Date` header (RFC 1123) into Unix seconds.
pub(crate) fn parse_http_date(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        assert_eq!(rfc3339(1_767_323_045), "2026-01-02T03:04:05Z");
        assert_eq!(parse_rfc3339("2026-01-02T03:04:05Z"), Some(1_767_323_045));
        assert_eq!(
            parse_rfc3339("2026-01-02T11:04:05+08:00"),
            Some(1_767_323_045)
        );
        assert_eq!(parse_rfc3339("2026-01-02 03:04:05"), None);
        let t = DateTime::<Utc>::from_timestamp(1_136_214_245, 0).unwrap();
        assert_eq!(http_date(t), "Mon, 02 Jan 2006 15:04:05 GMT");
        assert_eq!(
            parse_http_date("Mon, 02 Jan 2006 15:04:05 GMT"),
            Some(1_136_214_245)
        );
    }
}

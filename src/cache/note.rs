//! A failed fetch, noted beside the entry for a few seconds: the calls that waited on that
//! fetch, and those that come right after it, fail at once with the same error instead of each
//! spending a full budget on an API that is down.
//!
//! A note is keyed like the entry (it holds the canonical key and is used only when that
//! matches in full), so it never fails a call for another identity; it lapses after
//! [`LIFETIME`]; `--force-refresh` ignores it; and it holds only the error text the user sees,
//! which never carries a secret. A successful fetch removes it.

use serde::{Deserialize, Serialize};

/// The note file's layout version.
pub(crate) const FORMAT: u32 = 1;
/// How long a note stands, in seconds.
pub(crate) const LIFETIME: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Note {
    pub(crate) format: u32,
    /// The canonical cache key of the entry the fetch was for.
    pub(crate) key: String,
    /// A digest of how the fetch went (the caller's `route`: endpoints, proxies, budget): a
    /// note stands only for a fetch that would go the same way.
    pub(crate) route: String,
    /// When the fetch failed.
    pub(crate) at: i64,
    /// When the note lapses.
    pub(crate) until: i64,
    /// The error, as the user saw it, and its exit code.
    pub(crate) message: String,
    pub(crate) exit_code: i32,
}

impl Note {
    pub(crate) fn new(
        key: String,
        route: String,
        now: i64,
        message: String,
        exit_code: i32,
    ) -> Note {
        Note {
            format: FORMAT,
            key,
            route,
            at: now,
            until: now + LIFETIME,
            message,
            exit_code,
        }
    }

    /// Whether it stands at `now` (a note from the future, after the clock was set back, does
    /// not).
    pub(crate) fn stands(&self, now: i64) -> bool {
        self.format == FORMAT && self.at <= now && now < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_stands_for_seconds() {
        let note = Note::new("k".into(), "r".into(), 100, "it failed".into(), 1);
        assert!(note.stands(100) && note.stands(100 + LIFETIME - 1));
        assert!(!note.stands(100 + LIFETIME));
        assert!(!note.stands(99), "not before it was written");
    }
}

//! A snapshot of the process environment: the one place variables are read from, so a test can
//! hand any part of the plugin a made-up environment.

use std::ffi::OsString;
use std::path::PathBuf;

/// The environment, read once. Empty values count as unset, as in the official SDKs.
///
/// A list searched in order, not a map: a call reads a few dozen names among a few dozen
/// variables, and hashing every variable into a map cost a fifth of a cache hit.
pub(crate) struct Env {
    vars: Vec<(OsString, OsString)>,
}

impl Env {
    pub(crate) fn from_process() -> Self {
        Env {
            vars: std::env::vars_os().collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The variables that are text: a name or value that is not UTF-8 is never one of ours.
    fn text(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .filter_map(|(name, value)| Some((name.to_str()?, value.to_str()?)))
    }

    /// Every variable whose name starts with one of `prefixes`, sorted by name.
    pub(crate) fn with_prefixes(&self, prefixes: &[&str]) -> Vec<(&str, &str)> {
        let mut found: Vec<(&str, &str)> = self
            .text()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .collect();
        found.sort_unstable();
        found.dedup_by(|a, b| a.0 == b.0);
        found
    }

    /// The variable's value; the first one when the environment holds the name twice (as
    /// `getenv` does).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(key, _)| key.as_encoded_bytes() == name.as_bytes())
            .and_then(|(_, value)| value.to_str())
            .filter(|v| !v.is_empty())
    }

    /// `HOME`, else the account's home directory.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from).or_else(dirs::home_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_unset_and_the_first_of_two_wins() {
        let env = Env::from_pairs([("A", "1"), ("EMPTY", ""), ("A", "2"), ("ACK_X", "x")]);
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("EMPTY"), None);
        assert_eq!(env.get("MISSING"), None);
        assert_eq!(
            env.with_prefixes(&["ACK_", "A"]),
            [("A", "1"), ("ACK_X", "x")]
        );
    }
}

//! A snapshot of the process environment: the one place variables are read from, so a test can
//! hand any part of the plugin a made-up environment.

use std::collections::HashMap;
use std::path::PathBuf;

/// The environment, read once. Empty values count as unset, as in the official SDKs.
pub(crate) struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub(crate) fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Every variable whose name starts with one of `prefixes`, sorted by name.
    pub(crate) fn with_prefixes(&self, prefixes: &[&str]) -> Vec<(&str, &str)> {
        let mut found: Vec<(&str, &str)> = self
            .vars
            .iter()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        found.sort_unstable();
        found
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `HOME`, else the account's home directory.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from).or_else(dirs::home_dir)
    }
}

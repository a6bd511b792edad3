//! The plugin's cache on disk, as the tests see it: the entry files, and editing an entry's
//! times to make it due for refresh or expired now instead of waiting for that to happen.
//!
//! An entry is a JSON file `<hash>.json` holding (among others) `refresh_at` and `not_after`,
//! in Unix seconds: from `refresh_at` on the next call fetches a new credential, and at
//! `not_after` the credential stops working. This file is the one place the tests know that.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::Value;

/// The regular files and symlinks directly in `dir`, sorted (empty when it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|listing| listing.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// The cache entries (`*.json`, neither hidden nor a kept STS session, `session_*.json`)
/// directly in `dir`.
pub fn entry_files(dir: &Path) -> Vec<PathBuf> {
    files_in(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            p.extension().is_some_and(|e| e == "json")
                && !name
                    .as_deref()
                    .is_some_and(|n| n.starts_with('.') || n.starts_with("session_"))
        })
        .collect()
}

/// The one cache entry in `dir` (panics unless there is exactly one).
pub fn only_entry(dir: &Path) -> PathBuf {
    let entries = entry_files(dir);
    assert_eq!(
        entries.len(),
        1,
        "expected one entry in {}: {entries:?}",
        dir.display()
    );
    entries[0].clone()
}

/// Every `*.json` file under `dir`, recursively.
pub fn json_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(json_files_under(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Rewrites the entry at `path` through `edit` (keeping its mode: the file is rewritten in place).
pub fn edit_entry(path: &Path, edit: impl FnOnce(&mut Value)) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut entry: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {text}", path.display()));
    edit(&mut entry);
    fs::write(path, serde_json::to_vec(&entry).unwrap())
        .unwrap_or_else(|e| panic!("rewrite {}: {e}", path.display()));
}

/// Makes the entry expired now: `not_after` (and `refresh_at` before it) in the past.
pub fn make_expired(path: &Path) {
    let now = Utc::now().timestamp();
    edit_entry(path, |entry| {
        entry["not_after"] = (now - 1).into();
        entry["refresh_at"] = (now - 2).into();
    });
}

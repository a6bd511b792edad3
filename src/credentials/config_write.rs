//! Writing the aliyun CLI's config.json: only the OAuth tokens the plugin rotated, so that the
//! CLI keeps working after the plugin refreshed them. Nothing else of the file changes meaning.
//!
//! The discipline is credentials-go's (the SDK the CLI is built on): an exclusive `flock` on
//! config.json itself, the new content in a temporary file beside it (with the file's mode),
//! then a rename over it. Unlike credentials-go, the lock is held until after the rename, the
//! file is read again under the lock and edited as a JSON document (other profiles, fields this
//! version does not know, `current`, `meta_path` are kept as they are), and after taking the
//! lock the plugin checks that the file it locked is still the one at the path: a writer that
//! renamed a new file into place meanwhile would otherwise leave two processes each holding
//! "the" lock. A symlinked config.json is written through to its target.
//!
//! (Over 400 lines with its tests, byte-for-byte round trips of the CLI's file: they belong
//! beside the writer.)

use std::fs::{self, File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::{Deserialize, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::cli_profile::file;
use crate::error::Error;

/// The whole file as a JSON document.
pub(crate) fn read(path: &Path) -> Result<Value, Error> {
    let bytes = fs::read(path).map_err(|e| {
        Error::NoCredentials(format!(
            "cannot read the aliyun CLI config {}: {e}",
            path.display()
        ))
    })?;
    file::parse_as(&bytes, path)
}

/// Profile `name` of a config document.
pub(crate) fn profile<'d>(document: &'d Value, name: &str) -> Option<&'d Value> {
    document
        .get("profiles")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
}

/// The fields an OAuth refresh changes, under the CLI's names.
pub(crate) struct TokenUpdate<'a> {
    pub(crate) access_token: &'a str,
    pub(crate) refresh_token: &'a str,
    /// Unix seconds.
    pub(crate) access_token_expire: i64,
}

/// The exclusive lock on a config.json, held until dropped.
pub(crate) struct ConfigLock {
    /// Held, not read: the lock goes with it.
    _file: File,
    /// The file itself, symlinks resolved.
    target: PathBuf,
}

impl ConfigLock {
    /// Lock `path` (its target, through symlinks), waiting at most `wait` for another holder.
    pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<ConfigLock, String> {
        let deadline = Instant::now() + wait;
        let target =
            fs::canonicalize(path).map_err(|e| format!("cannot find {}: {e}", path.display()))?;
        loop {
            let file = File::open(&target)
                .map_err(|e| format!("cannot open {}: {e}", target.display()))?;
            let mut pause = Duration::from_millis(10);
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                        std::thread::sleep(pause.min(deadline - Instant::now()));
                        pause = (pause * 2).min(Duration::from_millis(100));
                    }
                    Err(TryLockError::WouldBlock) => {
                        return Err(format!(
                            "another process held the lock on {} for {} s",
                            target.display(),
                            wait.as_secs()
                        ));
                    }
                    Err(TryLockError::Error(e)) => {
                        return Err(format!("cannot lock {}: {e}", target.display()));
                    }
                }
            }
            // Still the file at the path? A writer may have renamed a new one into place.
            let locked = file.metadata().map_err(|e| e.to_string())?;
            let current = fs::metadata(&target)
                .map_err(|e| format!("cannot find {}: {e}", target.display()))?;
            if (locked.dev(), locked.ino()) == (current.dev(), current.ino()) {
                return Ok(ConfigLock {
                    _file: file,
                    target,
                });
            }
            if Instant::now() >= deadline {
                return Err(format!("{} kept being replaced", target.display()));
            }
        }
    }

    /// Set profile `name`'s OAuth tokens in the file as it is now, and replace it atomically,
    /// keeping its mode and owner. Everything else in it is kept, every key in its place.
    pub(crate) fn write_tokens(&self, name: &str, update: &TokenUpdate) -> Result<(), String> {
        let bytes = fs::read(&self.target)
            .map_err(|e| format!("cannot read {}: {e}", self.target.display()))?;
        let mut document: Ordered = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is not valid: {}",
                self.target.display(),
                file::mistake(&e)
            )
        })?;
        let profile = document
            .field_mut("profiles")
            .and_then(|profiles| match profiles {
                Ordered::Array(items) => items.iter_mut().find(|p| p.names(name)),
                _ => None,
            })
            .ok_or_else(|| format!("the profile `{name}` is no longer in it"))?;
        profile.set("oauth_access_token", update.access_token.into());
        profile.set("oauth_refresh_token", update.refresh_token.into());
        profile.set(
            "oauth_access_token_expire",
            update.access_token_expire.into(),
        );
        // Tab-indented, as the CLI writes it.
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        document
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut bytes, formatter,
            ))
            .map_err(|e| e.to_string())?;
        crate::fsutil::replace_file(&self.target, &bytes, true)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A JSON document whose objects keep their keys in the file's order, so that a write-back
/// moves nothing. `serde_json`'s `Value` sorts keys unless its `preserve_order` feature is on, and
/// that feature is off on purpose: it seeds a hash map from `getrandom`, and the cache keys'
/// identities are JSON objects built on every cache hit.
enum Ordered {
    /// Anything but an array or an object, as `serde_json` reads it.
    Scalar(Value),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// The value of key `name`, if this is an object that has it.
    fn field_mut(&mut self, name: &str) -> Option<&mut Ordered> {
        match self {
            Ordered::Object(fields) => fields
                .iter_mut()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// Whether this is a profile called `name`.
    fn names(&self, name: &str) -> bool {
        let Ordered::Object(fields) = self else {
            return false;
        };
        fields.iter().any(|(key, value)| {
            key == "name" && matches!(value, Ordered::Scalar(Value::String(n)) if n == name)
        })
    }

    /// Set key `name` of an object: in its place if it is there, else at the end.
    fn set(&mut self, name: &str, value: Value) {
        if let Some(slot) = self.field_mut(name) {
            *slot = Ordered::Scalar(value);
        } else if let Ordered::Object(fields) = self {
            fields.push((name.to_string(), Ordered::Scalar(value)));
        }
    }
}

impl Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Scalar(value) => value.serialize(serializer),
            Ordered::Array(items) => serializer.collect_seq(items),
            Ordered::Object(fields) => {
                serializer.collect_map(fields.iter().map(|(key, value)| (key, value)))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }

    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut fields: Vec<(String, Ordered)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            // A repeated key: the last one wins, in the first one's place, as serde_json reads it.
            match fields.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => fields.push((key, value)),
            }
        }
        Ok(Ordered::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn config() -> Value {
        json!({
            "current": "work",
            "profiles": [
                {"name": "work", "mode": "OAuth", "oauth_site_type": "CN",
                 "oauth_access_token": "old-access", "oauth_refresh_token": "old-refresh",
                 "oauth_access_token_expire": 1, "future_field": {"kept": [1, 2.5, null]}},
                {"name": "other", "mode": "AK", "access_key_id": "LTAI", "access_key_secret": "s"}
            ],
            "meta_path": "",
            "unknown_top": true
        })
    }

    /// The file as the aliyun CLI writes it: tab-indented, keys in its order.
    fn cli_text(value: &Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        value
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut bytes, formatter,
            ))
            .unwrap();
        bytes
    }

    #[test]
    fn only_the_tokens_change_and_the_mode_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, cli_text(&config())).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let lock = ConfigLock::acquire(&path, Duration::from_secs(1)).unwrap();
        lock.write_tokens(
            "work",
            &TokenUpdate {
                access_token: "new-access",
                refresh_token: "new-refresh",
                access_token_expire: 2_000_000_000,
            },
        )
        .unwrap();
        drop(lock);
        let mut expected = config();
        expected["profiles"][0]["oauth_access_token"] = "new-access".into();
        expected["profiles"][0]["oauth_refresh_token"] = "new-refresh".into();
        expected["profiles"][0]["oauth_access_token_expire"] = 2_000_000_000.into();
        assert_eq!(read(&path).unwrap(), expected);
        // Byte for byte: every other value, and every key's place, as it was.
        assert_eq!(
            String::from_utf8(fs::read(&path).unwrap()).unwrap(),
            String::from_utf8(cli_text(&expected)).unwrap()
        );
        // Keys in the CLI's order, not sorted, stay in that order.
        let text = "{\n\t\"profiles\": [\n\t\t{\n\t\t\t\"name\": \"work\",\n\t\t\t\
                    \"oauth_refresh_token\": \"r0\",\n\t\t\t\"mode\": \"OAuth\"\n\t\t}\n\t],\n\t\
                    \"current\": \"work\"\n}";
        fs::write(&path, text).unwrap();
        set_work_tokens(&path);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\n\t\"profiles\": [\n\t\t{\n\t\t\t\"name\": \"work\",\n\t\t\t\
             \"oauth_refresh_token\": \"r1\",\n\t\t\t\"mode\": \"OAuth\",\n\t\t\t\
             \"oauth_access_token\": \"a1\",\n\t\t\t\"oauth_access_token_expire\": 7\n\t\t}\n\t],\n\t\
             \"current\": \"work\"\n}"
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn a_symlinked_config_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("config.json");
        fs::write(&real, config().to_string()).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let lock = ConfigLock::acquire(&link, Duration::from_secs(1)).unwrap();
        lock.write_tokens(
            "work",
            &TokenUpdate {
                access_token: "a",
                refresh_token: "r",
                access_token_expire: 3,
            },
        )
        .unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            read(&real).unwrap()["profiles"][0]["oauth_refresh_token"],
            "r"
        );
    }

    #[test]
    fn a_second_locker_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, config().to_string()).unwrap();
        let first = ConfigLock::acquire(&path, Duration::from_secs(1)).unwrap();
        let error = ConfigLock::acquire(&path, Duration::from_millis(50))
            .err()
            .unwrap();
        assert!(error.contains("held the lock"), "{error}");
        drop(first);
        assert!(ConfigLock::acquire(&path, Duration::from_millis(50)).is_ok());
    }

    /// Sets profile `work`'s tokens in the file at `path` (a1, r1, 7), under the lock.
    fn set_work_tokens(path: &Path) {
        let lock = ConfigLock::acquire(path, Duration::from_secs(1)).unwrap();
        lock.write_tokens(
            "work",
            &TokenUpdate {
                access_token: "a1",
                refresh_token: "r1",
                access_token_expire: 7,
            },
        )
        .unwrap();
    }

    /// Writes `text` as config.json, sets profile `work`'s tokens, and returns the file after.
    fn written_back(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, text).unwrap();
        set_work_tokens(&path);
        fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn every_other_value_and_key_comes_back_as_it_was() {
        // Unsorted keys at every depth, the edges of the integers, a fraction, unicode and
        // escapes, fields this version does not know, another profile: all as the CLI writes.
        let before = "{\n\t\"zeta\": {\n\t\t\"b\": [\n\t\t\t1,\n\t\t\t{\n\t\t\t\t\"y\": null,\n\t\t\t\t\
                      \"x\": true\n\t\t\t}\n\t\t],\n\t\t\"a\": -9223372036854775808\n\t},\n\t\
                      \"profiles\": [\n\t\t{\n\t\t\t\"name\": \"other\",\n\t\t\t\
                      \"oauth_access_token\": \"keep\"\n\t\t},\n\t\t{\n\t\t\t\"name\": \"work\",\n\t\t\t\
                      \"oauth_access_token_expire\": 1,\n\t\t\t\"big\": 18446744073709551615,\n\t\t\t\
                      \"ratio\": 1.5,\n\t\t\t\"label\": \"名前 \\\"quoted\\\" \\u001b\",\n\t\t\t\
                      \"oauth_access_token\": \"a0\",\n\t\t\t\"mode\": \"OAuth\",\n\t\t\t\
                      \"oauth_refresh_token\": \"r0\"\n\t\t}\n\t],\n\t\"current\": \"work\"\n}";
        let expected = before
            .replace(
                "\"oauth_access_token_expire\": 1,",
                "\"oauth_access_token_expire\": 7,",
            )
            .replace(
                "\"oauth_access_token\": \"a0\"",
                "\"oauth_access_token\": \"a1\"",
            )
            .replace(
                "\"oauth_refresh_token\": \"r0\"",
                "\"oauth_refresh_token\": \"r1\"",
            );
        assert_ne!(before, expected);
        assert_eq!(written_back(before), expected);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_in_its_first_place() {
        // As serde_json reads it, and Go's encoding/json (the CLI) too: the last value wins.
        let after = written_back(
            r#"{"profiles": [{"name": "work", "mode": "A", "region_id": "x", "mode": "OAuth"}]}"#,
        );
        assert_eq!(
            after,
            "{\n\t\"profiles\": [\n\t\t{\n\t\t\t\"name\": \"work\",\n\t\t\t\"mode\": \"OAuth\",\n\t\t\t\
             \"region_id\": \"x\",\n\t\t\t\"oauth_access_token\": \"a1\",\n\t\t\t\
             \"oauth_refresh_token\": \"r1\",\n\t\t\t\"oauth_access_token_expire\": 7\n\t\t}\n\t]\n}"
        );
    }
}

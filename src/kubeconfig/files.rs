//! Writing the user's kubeconfig files the way kubectl does (client-go's `clientcmd`,
//! `kubectl config --help`):
//! - the files are `--kubeconfig FILE`, else the `KUBECONFIG` list, else `~/.kube/config`;
//! - an entry that exists is updated in the first file that defines it (the one kubectl uses);
//! - a new entry goes into the first file that exists, or the last one when none does;
//! - the current context is the first one a file sets; it is left alone unless asked
//!   (`--set-current-context`), or when no file sets one at all, so that the next kubectl call
//!   works; it is written into the file new entries go to, where it comes first;
//! - every file of the list is locked as kubectl locks it ([`super::lock`]) while they are read
//!   and written, so concurrent merges and kubectl's own writes lose nothing;
//! - only the files that change are written, each keeping its symlinks, mode and owner
//!   ([`fsutil::replace_file`]), and everything in it the plugin does not know ([`super::yaml`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::lock::{self, Locks};
use super::write::{
    NewContext, Section, current_context, defines, empty_document, set_current_context,
};
use super::yaml::{self, Node};
use crate::fsutil;

/// What a merge did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Merged {
    /// The file that holds each context entry, in the order the contexts were given.
    pub(crate) context_files: Vec<PathBuf>,
    /// The files written, each with what changed in it (`cluster`, `current-context`...).
    pub(crate) written: Vec<(PathBuf, Vec<&'static str>)>,
}

/// One file of the list, as read.
struct File<'a> {
    path: &'a Path,
    /// Its text; `None` when it does not exist.
    text: Option<String>,
    document: Option<Node>,
    changes: Vec<&'static str>,
}

/// What a merge does with the current context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Current<'a> {
    /// Leave it as it is, set or not.
    Keep,
    /// Make this context current when no file sets one (so that the next kubectl call works).
    IfUnset(&'a str),
    /// Make this context current.
    Set(&'a str),
}

/// Merges `new` (one context or several, each with its cluster and user) into the kubeconfig
/// files `paths` (kubectl's list, in its order; not empty), in one locked pass that writes each
/// changed file once, and sets the current context as `current` says.
///
/// # Errors
/// A message naming the file that could not be locked, read, understood or written. Every file
/// is read and the new contents of each worked out before the first is written, so a file that
/// cannot be locked, read or understood leaves all of them as they were; a write that fails
/// (a full disk, say) after another file of the list was replaced leaves that one replaced.
pub(crate) fn merge(
    paths: &[PathBuf],
    new: &[NewContext],
    current: Current,
) -> Result<Merged, String> {
    let _locks = Locks::acquire(paths, lock::WAIT).map_err(|(path, why)| failed(&path, &why))?;
    let mut files = paths
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<_>, _>>()?;
    // kubectl's file for new entries (`GetDefaultFilename`): the first that exists, else the last.
    let default = files
        .iter()
        .position(|f| f.text.is_some())
        .unwrap_or(files.len() - 1);

    let mut context_files = Vec::with_capacity(new.len());
    for new in new {
        for section in Section::ALL {
            let mut holder = default;
            for (i, file) in files.iter().enumerate() {
                if let Some(document) = &file.document
                    && defines(document, section, &new.name)
                        .map_err(|why| failed(file.path, &why))?
                {
                    holder = i;
                    break;
                }
            }
            let file = &mut files[holder];
            let document = file.document.get_or_insert_with(empty_document);
            new.put_into(document, section)
                .map_err(|why| failed(file.path, &why))?;
            if !file.changes.contains(&section.singular()) {
                file.changes.push(section.singular());
            }
            if section == Section::Contexts {
                context_files.push(holder);
            }
        }
    }

    let effective = files
        .iter()
        .find_map(|f| f.document.as_ref().and_then(current_context))
        .map(str::to_string);
    let make_current = match current {
        Current::Keep => None,
        Current::IfUnset(name) => effective.is_none().then_some(name),
        Current::Set(name) => Some(name),
    };
    if let Some(name) = make_current
        && effective.as_deref() != Some(name)
    {
        let file = &mut files[default];
        set_current_context(file.document.get_or_insert_with(empty_document), name);
        file.changes.push("current-context");
    }

    let mut written = Vec::new();
    for file in &files {
        let Some(document) = file.document.as_ref().filter(|_| !file.changes.is_empty()) else {
            continue;
        };
        let text = yaml::emit(document);
        if file.text.as_deref() == Some(text.as_str()) {
            continue;
        }
        fsutil::replace_file(file.path, text.as_bytes(), true)
            .map_err(|e| failed(file.path, &e.to_string()))?;
        written.push((file.path.to_path_buf(), file.changes.clone()));
    }
    Ok(Merged {
        context_files: context_files
            .into_iter()
            .map(|i| files[i].path.to_path_buf())
            .collect(),
        written,
    })
}

/// Replaces the kubeconfig `path` with `text` (`kubeconfig --output`: a file of its own, 0600),
/// under kubectl's lock, through its symlinks, keeping its owner.
///
/// # Errors
/// A message naming the file.
pub(crate) fn replace(path: &Path, text: &str) -> Result<(), String> {
    let _locks = Locks::acquire(&[path.to_path_buf()], lock::WAIT)
        .map_err(|(path, why)| failed(&path, &why))?;
    fsutil::replace_file(path, text.as_bytes(), false).map_err(|e| failed(path, &e.to_string()))?;
    Ok(())
}

fn read(path: &Path) -> Result<File<'_>, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => Some(text),
        // A dangling symlink too: kubectl takes it for a file that does not exist.
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(failed(path, &e.to_string())),
    };
    let document = match &text {
        Some(text) => yaml::load(text)
            .map_err(|why| failed(path, &format!("it {why}")))?
            // An empty document (`---`, `~`) is an empty kubeconfig, as for kubectl.
            .filter(|d| !d.is_null()),
        None => None,
    };
    Ok(File {
        path,
        text,
        document,
        changes: Vec::new(),
    })
}

fn failed(path: &Path, why: &str) -> String {
    format!("cannot write the kubeconfig {}: {why}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec_credential::ApiVersion;
    use crate::kubeconfig::write::tests::new_context;

    fn token_config(name: &str, current: bool) -> String {
        format!(
            "clusters:\n- name: {name}\n  cluster:\n    server: https://{name}\nusers:\n- name: {name}\n  \
             user:\n    token: t\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    \
             user: {name}\n{}",
            if current {
                format!("current-context: {name}\n")
            } else {
                String::new()
            }
        )
    }

    fn names(path: &Path, section: &str) -> Vec<String> {
        let text = fs::read_to_string(path).unwrap();
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        value[section]
            .as_sequence()
            .map(|l| {
                l.iter()
                    .map(|e| e["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn current(path: &Path) -> Option<String> {
        let text = fs::read_to_string(path).unwrap();
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        value["current-context"].as_str().map(String::from)
    }

    /// `KUBECONFIG=missing:config`: new entries go into `config` (the first that exists), whose
    /// current context stays; `missing` is not created.
    #[test]
    fn new_entries_go_into_the_first_file_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("extra");
        let config = dir.path().join("config");
        fs::write(&config, token_config("prod", true)).unwrap();
        let merged = merge(
            &[missing.clone(), config.clone()],
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::IfUnset("c1"),
        )
        .unwrap();
        assert_eq!(
            merged,
            Merged {
                context_files: vec![config.clone()],
                written: vec![(config.clone(), vec!["cluster", "context", "user"])],
            }
        );
        assert!(!missing.exists());
        assert_eq!(names(&config, "contexts"), ["prod", "c1"]);
        assert_eq!(current(&config).as_deref(), Some("prod"));
        assert!(!dir.path().join("config.lock").exists());
        assert!(!dir.path().join("extra.lock").exists());
    }

    /// An entry that exists is updated where it is defined; the effective current context
    /// (the first file's) stays unless asked, and then goes into the first file.
    #[test]
    fn existing_entries_are_updated_where_they_are_defined() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        fs::write(&first, token_config("prod", true)).unwrap();
        fs::write(&second, token_config("c1", true)).unwrap();
        let paths = [first.clone(), second.clone()];
        let merged = merge(
            &paths,
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::IfUnset("c1"),
        )
        .unwrap();
        assert_eq!(merged.context_files, std::slice::from_ref(&second));
        assert_eq!(names(&first, "clusters"), ["prod"]);
        assert_eq!(names(&second, "clusters"), ["c1"]);
        assert!(fs::read_to_string(&second).unwrap().contains("exec:"));
        assert_eq!(current(&first).as_deref(), Some("prod"));
        // Asked: the first file (where new entries go, read first) gets it.
        let merged = merge(
            &paths,
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::Set("c1"),
        )
        .unwrap();
        assert_eq!(merged.written, [(first.clone(), vec!["current-context"])]);
        assert_eq!(current(&first).as_deref(), Some("c1"));
        // Twice: nothing to write.
        let merged = merge(
            &paths,
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::Set("c1"),
        )
        .unwrap();
        assert_eq!(merged.written, []);
    }

    /// No file sets a current context: the new one becomes current. No file exists: the last
    /// one is created.
    #[test]
    fn without_any_current_context_the_new_one_becomes_current() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let merged = merge(
            &[a.clone(), b.clone()],
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::IfUnset("c1"),
        )
        .unwrap();
        assert_eq!(
            merged.written,
            [(
                b.clone(),
                vec!["cluster", "context", "user", "current-context"]
            )]
        );
        assert!(!a.exists());
        assert_eq!(current(&b).as_deref(), Some("c1"));
        fs::write(&a, token_config("dev", false)).unwrap();
        merge(
            &[a.clone(), b.clone()],
            &[new_context("c2", "/p", ApiVersion::V1)],
            Current::IfUnset("c2"),
        )
        .unwrap();
        assert_eq!(names(&a, "contexts"), ["dev", "c2"]);
        assert_eq!(current(&a), None, "b sets the current context");
        assert_eq!(current(&b).as_deref(), Some("c1"));
    }

    #[test]
    fn a_broken_file_is_not_written_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        let bad = dir.path().join("bad");
        fs::write(&good, token_config("prod", true)).unwrap();
        fs::write(&bad, "clusters: [\n").unwrap();
        let error = merge(
            &[good.clone(), bad.clone()],
            &[new_context("c1", "/p", ApiVersion::V1)],
            Current::IfUnset("c1"),
        )
        .unwrap_err();
        assert_eq!(
            error,
            format!(
                "cannot write the kubeconfig {}: it is not valid YAML (line 2, column 1)",
                bad.display()
            )
        );
        assert_eq!(
            fs::read_to_string(&good).unwrap(),
            token_config("prod", true)
        );
        assert!(!dir.path().join("good.lock").exists());
        assert!(!dir.path().join("bad.lock").exists());
    }

    /// Several contexts in one pass: each entry where kubectl would put it (an existing one
    /// updated in its file, new ones in the first file that exists), each file written once,
    /// and the current context left alone when asked to keep it, even when none is set.
    #[test]
    fn several_contexts_go_in_one_write_and_keep_the_current_context() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        fs::write(&first, token_config("prod", false)).unwrap();
        fs::write(&second, token_config("b", false)).unwrap();
        let paths = [first.clone(), second.clone()];
        let merged = merge(
            &paths,
            &[
                new_context("a", "/p", ApiVersion::V1),
                new_context("b", "/p", ApiVersion::V1),
                new_context("c", "/p", ApiVersion::V1),
            ],
            Current::Keep,
        )
        .unwrap();
        assert_eq!(
            merged,
            Merged {
                context_files: vec![first.clone(), second.clone(), first.clone()],
                written: vec![
                    (first.clone(), vec!["cluster", "context", "user"]),
                    (second.clone(), vec!["cluster", "context", "user"]),
                ],
            }
        );
        assert_eq!(names(&first, "contexts"), ["prod", "a", "c"]);
        assert_eq!(names(&second, "users"), ["b"]);
        assert_eq!(current(&first), None);
        assert_eq!(current(&second), None);
        assert!(fs::read_to_string(&second).unwrap().contains("exec:"));
        let again = merge(
            &paths,
            &[
                new_context("a", "/p", ApiVersion::V1),
                new_context("b", "/p", ApiVersion::V1),
                new_context("c", "/p", ApiVersion::V1),
            ],
            Current::Keep,
        )
        .unwrap();
        assert_eq!(again.written, []);
    }
}

//! Atomic file writes of the user's kubeconfigs, which keep their owner, mode and symlinks.
//! (The cache writes through its opened directory instead: `cache/dir.rs`.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Create a new file, mode 0600, never through a symlink (anything already there is refused).
fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The name of a temporary file for `name`, beside it: `.<name>.<pid>.<nonce>.tmp`, unique to
/// this process and this write (the cache tells its own temporary files by this shape).
pub(crate) fn temp_name(name: &str) -> io::Result<String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ))
}

/// Replace the file `path` names with `bytes` atomically (a temporary file beside it is
/// written, fsynced and renamed over it, so a reader, or a crash, sees the old contents or the
/// new, never a mix), as the user's own file: through symlinks to the file they name (a dangling link gets its target
/// created, so the link stays a link), with the owner the file had (the plugin may run as root
/// through `sudo -E`; the temporary file gets it before the rename) and, with `keep_mode`, its
/// mode; else, and for a new file, 0600. A new file's directory is created. Returns the file
/// written.
pub(crate) fn replace_file(path: &Path, bytes: &[u8], keep_mode: bool) -> io::Result<PathBuf> {
    let target = resolve_links(path)?;
    let existing = match fs::metadata(&target) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", target.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if existing.is_none()
        && let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
    {
        fs::create_dir_all(dir)?;
    }
    let like = existing.map(|meta| Like {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: keep_mode.then_some(meta.mode() & 0o7777),
    });
    replace(&target, bytes, like.as_ref())?;
    Ok(target)
}

/// The path `path` names once every symlink in its last component is followed, also when the
/// last link dangles (then: where the file would be). A relative link is read against the
/// directory of the link.
pub(crate) fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As many hops as Linux follows (MAXSYMLINKS).
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// The owner (and mode) a replacing file takes from the file it replaces.
struct Like {
    uid: u32,
    gid: u32,
    mode: Option<u32>,
}

/// Writes `bytes` to a temporary file beside `path` (0600, with the owner and mode of `like`),
/// fsyncs it and renames it over `path`.
fn replace(path: &Path, bytes: &[u8], like: Option<&Like>) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(temp_name(&name.to_string_lossy())?);
    let written = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        if let Some(like) = like {
            let own = file.metadata()?;
            if (own.uid(), own.gid()) != (like.uid, like.gid) {
                std::os::unix::fs::fchown(&file, Some(like.uid), Some(like.gid)).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot give the new file the owner of the old one \
                             (uid {}, gid {}): {e}",
                            like.uid, like.gid
                        ),
                    )
                })?;
            }
            // After the chown, which may clear set-id bits.
            if let Some(mode) = like.mode {
                file.set_permissions(fs::Permissions::from_mode(mode))?;
            }
        }
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_privately_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        replace(&path, b"new", None).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_file_keeps_mode_owner_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        assert_eq!(replace_file(&link, b"new", true).unwrap(), real);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );

        // A dangling chain of relative links: the target is created, 0600, in a new directory.
        let first = dir.path().join("first");
        std::os::unix::fs::symlink("second", &first).unwrap();
        std::os::unix::fs::symlink("sub/dir/target", dir.path().join("second")).unwrap();
        let target = dir.path().join("sub/dir/target");
        assert_eq!(replace_file(&first, b"x", true).unwrap(), target);
        assert_eq!(fs::read_to_string(&first).unwrap(), "x");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // A loop is an error, and nothing is written.
        std::os::unix::fs::symlink("loop-b", dir.path().join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", dir.path().join("loop-b")).unwrap();
        assert!(replace_file(&dir.path().join("loop-a"), b"x", true).is_err());
        let leftovers = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}

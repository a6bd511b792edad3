//! The cache directory, opened: every check and every file operation goes through one open
//! handle (`fstat`, `openat`, `fstatat`, `renameat`, `unlinkat`, `fchmod`), so swapping a
//! component of its path during a call cannot redirect any of them to another directory. The
//! path is followed once, when the directory is opened; what it led to is checked (ours, closed
//! to others) and from then on only that directory is used.
//!
//! The directory is the plugin's alone to change. Only the names the plugin gives its files
//! ([`kind`]) are ever read, written, renamed or removed here, and a directory that others can
//! read or write is made private only when it holds nothing but such files; one that holds
//! anything else is refused as it is (a `--cache-dir` pointed at a project folder keeps its
//! `package.json` and its mode).
//!
//! [`CacheDir`] is also the narrow API for other caches kept here (the STS session cache):
//! read a named file, write a named file atomically, remove a named file.
//!
//! (Over 400 lines with its tests, one per name rule and handle operation: they belong beside the
//! code.)

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{AtFlags, Mode, OFlags};

/// What a file in the cache directory is, by the name the plugin gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `<id>-<hash>.json`: a cached credential.
    Entry,
    /// `<id>-<hash>.lock` or `session_<hash>.lock`: a key's lock.
    Lock,
    /// `<id>-<hash>.failed`: a short-lived note of a failed fetch.
    Note,
    /// `session_<hash>.json`: cached STS credentials of a credential source.
    Session,
    /// `.<own name>.<pid>.<nonce>.tmp`: a file being written, renamed over its name when done.
    Temp,
    /// `.swept`: when stale temporary files were last swept.
    Stamp,
}

/// The stamp file's name.
pub(crate) const STAMP: &str = ".swept";

/// What `name` is, if the plugin could have made it; `None` for anything else, which the
/// plugin never touches.
pub(crate) fn kind(name: &str) -> Option<Kind> {
    if name == STAMP {
        return Some(Kind::Stamp);
    }
    if let Some(inner) = name.strip_prefix('.') {
        // `.<name>.<pid>.<nonce>.tmp`
        let rest = inner.strip_suffix(".tmp")?;
        let (rest, nonce) = rest.rsplit_once('.')?;
        let (target, pid) = rest.rsplit_once('.')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        return (digits(pid)
            && digits(nonce)
            && matches!(
                kind(target),
                Some(Kind::Entry | Kind::Note | Kind::Session | Kind::Stamp)
            ))
        .then_some(Kind::Temp);
    }
    let (stem, extension) = name.rsplit_once('.')?;
    if let Some(hash) = stem.strip_prefix("session_")
        && is_hash(hash)
    {
        return match extension {
            "json" => Some(Kind::Session),
            "lock" => Some(Kind::Lock),
            _ => None,
        };
    }
    let (id, hash) = stem.rsplit_once('-')?;
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !id_ok || !is_hash(hash) {
        return None;
    }
    match extension {
        "json" => Some(Kind::Entry),
        "lock" => Some(Kind::Lock),
        "failed" => Some(Kind::Note),
        _ => None,
    }
}

/// Exactly what the plugin writes ([`crate::digest::name_hash`]: 32 lower-case hex digits), so
/// that a file of someone else's that merely looks alike is not taken for one of ours.
fn is_hash(text: &str) -> bool {
    text.len() == crate::digest::NAME_HASH_LEN
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The cache directory, open.
#[derive(Debug)]
pub(crate) struct CacheDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// The names in the directory, the plugin's own apart from the rest.
pub(crate) struct Listing {
    pub(crate) own: Vec<(String, Kind)>,
    /// One name the plugin did not give (the first met), to name in a message.
    pub(crate) foreign: Option<String>,
}

impl CacheDir {
    /// Open the directory to read from it: `Ok(None)` when there is none. Refused (`Err`, with
    /// the reason) when it cannot be trusted: another user's, or writable by others, who could
    /// have planted a certificate for us to hand to kubectl.
    pub(crate) fn open(path: &Path) -> Result<Option<CacheDir>, String> {
        let dir = match Self::open_existing(path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let mode = dir.check_owner()?;
        if mode & 0o022 != 0 {
            return Err(
                "others can write to it; it is made private on the next fetch if it holds \
                 nothing but the plugin's files"
                    .to_string(),
            );
        }
        Ok(Some(dir))
    }

    /// Open the directory to change its files: created (0700) if need be; refused if it is
    /// another user's; made private if others can read or write it, but only when it holds
    /// nothing but the plugin's files, else refused as it is. When others could write to it,
    /// whatever they might have planted (entries, notes, sessions, temporary files) is
    /// removed. The error is the reason, for [`crate::error::Error::Cache`].
    pub(crate) fn open_for_writing(path: &Path) -> Result<CacheDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| format!("cannot create it: {e}"))?;
        let dir = Self::open_existing(path).map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
                "it is not a directory".to_string()
            }
            _ => format!("cannot open it: {e}"),
        })?;
        let mode = dir
            .check_owner()
            .map_err(|why| format!("{why}, who could plant credentials in it"))?;
        let open_to_others = mode & 0o077;
        if open_to_others == 0 {
            return Ok(dir);
        }
        let listing = dir.listing().map_err(|e| format!("cannot list it: {e}"))?;
        if let Some(name) = listing.foreign {
            return Err(format!(
                "others can {} it (mode {:o}) and it holds files the plugin did not create \
                 (such as `{name}`), so it is left as it is",
                if mode & 0o022 == 0 {
                    "read"
                } else {
                    "write to"
                },
                mode & 0o777
            ));
        }
        crate::log::verbose!("tightening {} to 0700", path.display());
        rustix::fs::fchmod(&dir.fd, Mode::from_raw_mode(0o700))
            .map_err(|e| format!("others can read it and it cannot be made private: {e}"))?;
        if mode & 0o022 != 0 {
            // Others could write here: whatever is in it may have been planted. Now that it is
            // private again, start from nothing rather than trust it. Locks stay: removing one
            // that a process holds would let a second fetch run beside it.
            for (name, kind) in &listing.own {
                if *kind != Kind::Lock {
                    let _ = dir.remove(name);
                }
            }
        }
        Ok(dir)
    }

    /// Open the directory only to look at it (`doctor`), whatever its mode: `Ok(None)` when
    /// there is none; else the directory and its mode, if it is ours (the reason otherwise).
    pub(crate) fn inspect(path: &Path) -> Result<Option<(CacheDir, u32)>, String> {
        let dir = match Self::open_existing(path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
                return Err("it is not a directory".to_string());
            }
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let mode = dir.check_owner()?;
        Ok(Some((dir, mode)))
    }

    /// Open the directory to remove the plugin's files from it (`cache clear`): `Ok(None)`
    /// when there is none; refused only when it is another user's.
    pub(crate) fn open_to_clear(path: &Path) -> Result<Option<CacheDir>, String> {
        let dir = match Self::open_existing(path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        dir.check_owner()?;
        Ok(Some(dir))
    }

    fn open_existing(path: &Path) -> io::Result<CacheDir> {
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(CacheDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The mode of the open directory, if it is ours.
    fn check_owner(&self) -> Result<u32, String> {
        let stat = rustix::fs::fstat(&self.fd).map_err(|e| e.to_string())?;
        if stat.st_uid != rustix::process::geteuid().as_raw() {
            return Err(format!("it belongs to another user (uid {})", stat.st_uid));
        }
        Ok(stat.st_mode)
    }

    /// The path it was opened by, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The contents of the file `name` (one of the plugin's, never through a symlink, a
    /// regular file of at most `max` bytes).
    pub(crate) fn read(&self, name: &str, max: u64) -> io::Result<Vec<u8>> {
        own(name, |k| k != Kind::Temp)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            // NONBLOCK: a FIFO planted here must not hang the open.
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )?;
        let mut file = File::from(fd);
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "it is not a regular file",
            ));
        }
        if metadata.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "it is too large",
            ));
        }
        // One read of the known size (plus one to see the end), not a series of growing ones.
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0) + 1);
        (&mut file).take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Replace the file `name` with `bytes`, mode 0600: a temporary file beside it is written
    /// and renamed over it, so a reader, or a process killed at any moment, sees the old
    /// contents or the new, never a mix.
    ///
    /// Not fsynced, on purpose: the cache holds copies of what the API hands out, and every
    /// entry that cannot be read whole is a miss. After a power loss a filesystem may keep the
    /// old file, the new one or an empty one, and each of those is served or refetched
    /// correctly; while the two fsyncs a durable write needs took 1.2–1.5 ms of a 3 ms miss on
    /// ext4. (Files the user owns, kubeconfigs and the aliyun CLI's config, are fsynced.)
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        own(name, |k| {
            matches!(k, Kind::Entry | Kind::Note | Kind::Session | Kind::Stamp)
        })?;
        let tmp = crate::fsutil::temp_name(name)?;
        let written = (|| {
            let fd = rustix::fs::openat(
                &self.fd,
                &*tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            let mut file = File::from(fd);
            file.write_all(bytes)?;
            rustix::fs::renameat(&self.fd, &*tmp, &self.fd, name)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &*tmp, AtFlags::empty());
        }
        written
    }

    /// Remove the file `name`, one of the plugin's. `Ok(false)` when it was not there.
    pub(crate) fn remove(&self, name: &str) -> io::Result<bool> {
        own(name, |_| true)?;
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// When the file `name` (one of the plugin's) was last changed; `None` when there is none.
    pub(crate) fn modified(&self, name: &str) -> io::Result<Option<SystemTime>> {
        own(name, |_| true)?;
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => {
                let seconds = u64::try_from(stat.st_mtime).unwrap_or(0);
                Ok(Some(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
                ))
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Open (creating it, 0600) the lock file `name`, never through a symlink.
    pub(crate) fn open_lock(&self, name: &str) -> io::Result<File> {
        own(name, |k| k == Kind::Lock)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(File::from(fd))
    }

    /// Whether `name` is, right now, the very file `file` has open.
    pub(crate) fn names(&self, name: &str, file: &File) -> io::Result<bool> {
        own(name, |_| true)?;
        let open = file.metadata()?;
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(stat.st_dev == open.dev() && stat.st_ino == open.ino()),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every name in the directory, by name alone (no `stat` of any file).
    pub(crate) fn listing(&self) -> io::Result<Listing> {
        let mut listing = Listing {
            own: Vec::new(),
            foreign: None,
        };
        for item in rustix::fs::Dir::read_from(self.fd.as_fd())? {
            let item = item?;
            let name: &CStr = item.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            match std::str::from_utf8(bytes)
                .ok()
                .and_then(|n| Some((n, kind(n)?)))
            {
                Some((name, kind)) => listing.own.push((name.to_string(), kind)),
                None => {
                    if listing.foreign.is_none() {
                        listing.foreign = Some(String::from_utf8_lossy(bytes).into_owned());
                    }
                }
            }
        }
        listing.own.sort();
        Ok(listing)
    }
}

/// Refuse a name the plugin does not give, or not of the kinds `allowed`.
fn own(name: &str, allowed: impl Fn(Kind) -> bool) -> io::Result<()> {
    match kind(name) {
        Some(kind) if allowed(kind) => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a name the plugin gives its files"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    const STEM: &str = "c1-0123456789abcdef0123456789abcdef";

    #[test]
    fn only_the_plugins_names_are_its_own() {
        let cases = [
            (format!("{STEM}.json"), Some(Kind::Entry)),
            (format!("{STEM}.lock"), Some(Kind::Lock)),
            (format!("{STEM}.failed"), Some(Kind::Note)),
            (format!(".{STEM}.json.123.456.tmp"), Some(Kind::Temp)),
            (format!(".{STEM}.failed.1.2.tmp"), Some(Kind::Temp)),
            (
                "session_0123456789abcdef0123456789abcdef.json".to_string(),
                Some(Kind::Session),
            ),
            (
                "session_0123456789abcdef0123456789abcdef.lock".to_string(),
                Some(Kind::Lock),
            ),
            (STAMP.to_string(), Some(Kind::Stamp)),
            (format!(".{STAMP}.7.8.tmp"), Some(Kind::Temp)),
            // Alike but not ours: another length of hash.
            ("chunk-0123456789abcdef.json".to_string(), None),
            ("report-0123456789abcdef0123.failed".to_string(), None),
            ("session_0123456789abcdef.json".to_string(), None),
            ("package.json".to_string(), None),
            ("notes.json".to_string(), None),
            ("c1-foo.json".to_string(), None),
            (format!("{STEM}.JSON"), None),
            (format!("{STEM}.yaml"), None),
            ("c1-0123456789ABCDEF0123456789ABCDEF.json".to_string(), None),
            (
                "c_1-0123456789abcdef0123456789abcdef.json".to_string(),
                None,
            ),
            (format!(".{STEM}.lock.1.2.tmp"), None),
            (format!(".{STEM}.json.x.2.tmp"), None),
            (".package.json.1.2.tmp".to_string(), None),
            (format!(".{STEM}.json.tmp"), None),
            ("session_xyz.json".to_string(), None),
            // A cluster called `session` has entries like any other.
            (
                "session-0123456789abcdef0123456789abcdef.json".to_string(),
                Some(Kind::Entry),
            ),
            (".hidden".to_string(), None),
            (String::new(), None),
        ];
        for (name, expected) in cases {
            assert_eq!(kind(&name), expected, "{name:?}");
        }
    }

    #[test]
    fn reads_writes_and_removes_only_its_own_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::open_for_writing(&tmp.path().join("c")).unwrap();
        let name = format!("{STEM}.json");
        dir.write(&name, b"{}").unwrap();
        assert_eq!(dir.read(&name, 100).unwrap(), b"{}");
        let mode = fs::metadata(tmp.path().join("c").join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        for foreign in ["package.json", "../x.json", "a/b.json"] {
            assert_eq!(
                dir.write(foreign, b"x").unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                dir.read(foreign, 100).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                dir.remove(foreign).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
        assert!(dir.remove(&name).unwrap());
        assert!(!dir.remove(&name).unwrap());
        assert_eq!(fs::read_dir(tmp.path().join("c")).unwrap().count(), 0);
    }

    #[test]
    fn a_loose_directory_holding_foreign_files_is_refused_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("project");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("package.json"), "{}").unwrap();
        fs::write(path.join(format!("{STEM}.json")), "{}").unwrap();
        for mode in [0o755, 0o777] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let why = CacheDir::open_for_writing(&path).unwrap_err();
            assert!(why.contains("such as `package.json`"), "{why}");
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                mode
            );
            assert!(path.join("package.json").exists());
            assert!(path.join(format!("{STEM}.json")).exists());
        }
        // Private already: usable, and nothing in it is touched.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        let dir = CacheDir::open_for_writing(&path).unwrap();
        assert_eq!(
            dir.listing().unwrap().foreign.as_deref(),
            Some("package.json")
        );
        assert!(path.join("package.json").exists());
    }

    #[test]
    fn the_open_directory_is_used_even_when_its_path_moves() {
        let tmp = tempfile::tempdir().unwrap();
        let first = tmp.path().join("first");
        let dir = CacheDir::open_for_writing(&first).unwrap();
        fs::rename(&first, tmp.path().join("moved")).unwrap();
        fs::create_dir(&first).unwrap();
        let name = format!("{STEM}.json");
        dir.write(&name, b"{}").unwrap();
        assert!(tmp.path().join("moved").join(&name).exists());
        assert!(!first.join(&name).exists());
    }

    #[test]
    fn a_fifo_or_a_symlink_is_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CacheDir::open_for_writing(tmp.path()).unwrap();
        let name = format!("{STEM}.json");
        rustix::fs::mknodat(
            &dir.fd,
            &*name,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(
            dir.read(&name, 100).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        fs::remove_file(tmp.path().join(&name)).unwrap();
        fs::write(tmp.path().join("elsewhere"), "{}").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), tmp.path().join(&name)).unwrap();
        assert!(dir.read(&name, 100).is_err());
    }
}

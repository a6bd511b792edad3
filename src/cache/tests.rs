//! The cache as a whole: stores and loads, corrupt and foreign entries, planted symlinks and
//! files, loose and foreign directories, locks, notes, sweeps and the named files of sessions.
//!
//! (Over 400 lines: one test per rule named above, sharing the set-up at the top.)

use super::*;
use crate::exec_credential::{Status, StatusJson};
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn key_input() -> KeyInput<'static> {
    static IDENTITY: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(|| serde_json::json!({"type": "access-key", "id": "LTAI1"}));
    KeyInput {
        api: "DescribeClusterUserKubeconfig",
        id: "c1",
        uid: None,
        private_ip: false,
        minutes: 180,
        endpoint: "https://cs.aliyuncs.com",
        identity: &IDENTITY,
    }
}

fn key() -> CacheKey {
    CacheKey::new(&key_input())
}

fn entry(key: &CacheKey) -> Entry {
    Entry {
        format: entry::FORMAT,
        key: key.canonical.clone(),
        fetched_at: 1,
        not_after: 3,
        refresh_at: 2,
        credential: StatusJson::new(&Status {
            client_certificate_data: None,
            client_key_data: None,
            token: Some("t".into()),
        }),
        refresh_failed: None,
    }
}

fn lock<'a>(cache: &'a Cache, key: &'a CacheKey) -> Result<Guard<'a>, Error> {
    match cache.lock(key, Duration::from_millis(100), |_| None::<()>)? {
        Locking::Guard(guard) => Ok(guard),
        Locking::Polled(()) => unreachable!("nothing is polled for"),
    }
}

fn store(cache: &Cache, key: &CacheKey, entry: &Entry) {
    let guard = lock(cache, key).unwrap();
    assert!(guard.is_locked());
    guard.store(entry).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn stores_and_loads_privately() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("a/b"));
    let key = key();
    assert!(cache.load(&key).is_none());
    store(&cache, &key, &entry(&key));
    assert_eq!(cache.load(&key), Some(entry(&key)));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    assert_eq!(mode(&cache.entry_path(&key)), 0o600);
    let temporary = |n: &String| Path::new(n).extension().is_some_and(|e| e == "tmp");
    assert!(
        !names(&dir.path().join("a/b")).iter().any(temporary),
        "no temporary files left behind"
    );
}

#[test]
fn corrupt_or_foreign_entries_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let key = key();
    for junk in ["", "{", "null", "{\"format\":1}", "[1,2]"] {
        fs::write(cache.entry_path(&key), junk).unwrap();
        assert!(cache.load(&key).is_none(), "{junk:?}");
    }
    let mut other = entry(&key);
    other.key = "another".into();
    store(&cache, &key, &other);
    assert!(cache.load(&key).is_none());
    let mut future = entry(&key);
    future.format = 99;
    store(&cache, &key, &future);
    assert!(cache.load(&key).is_none());
}

#[test]
fn planted_symlinks_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let key = key();
    let elsewhere = dir.path().join("elsewhere.json");
    fs::write(&elsewhere, serde_json::to_vec(&entry(&key)).unwrap()).unwrap();
    fs::create_dir(cache.dir()).unwrap();
    fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, cache.entry_path(&key)).unwrap();
    assert!(cache.load(&key).is_none());
    let lock_path = dir.path().join("cache").join(lock_name(&key));
    std::os::unix::fs::symlink(&elsewhere, &lock_path).unwrap();
    assert!(lock(&cache, &key).is_err());
}

#[test]
fn loose_directory_permissions_are_distrusted_then_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    store(&cache, &key(), &entry(&key()));
    fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o777)).unwrap();
    assert!(
        cache.load(&key()).is_none(),
        "a world-writable directory is not trusted"
    );
    // Taking the lock makes it private again and drops what might have been planted.
    let key = key();
    let guard = lock(&cache, &key).unwrap();
    assert_eq!(
        fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(
        cache.load(&key).is_none(),
        "nothing from the open time survives"
    );
    guard.store(&entry(&key)).unwrap();
    assert!(cache.load(&key).is_some());
}

#[test]
fn stale_temporary_files_are_swept_but_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let other = CacheKey::new(&KeyInput {
        id: "c2",
        ..key_input()
    });
    store(&cache, &other, &entry(&other));
    let old_tmp = cache
        .dir()
        .join(format!(".{}.123.456.tmp", entry_name(&key())));
    let new_tmp = cache
        .dir()
        .join(format!(".{}.123.789.tmp", entry_name(&key())));
    let foreign_tmp = cache.dir().join(".package.json.1.2.tmp");
    for path in [&old_tmp, &new_tmp, &foreign_tmp] {
        fs::write(path, "half").unwrap();
    }
    let old = std::time::SystemTime::now() - Duration::from_secs(600);
    let age = |path: &Path| {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    };
    age(&old_tmp);
    age(&foreign_tmp);
    age(&cache.entry_path(&other));
    // Within the hour since the last sweep, nothing is looked at.
    store(&cache, &key(), &entry(&key()));
    assert!(old_tmp.exists(), "swept at most once an hour");
    fs::File::options()
        .write(true)
        .open(cache.dir().join(dir::STAMP))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - SWEEP_EVERY)
        .unwrap();
    store(&cache, &key(), &entry(&key()));
    assert!(!old_tmp.exists(), "a stale temporary file is swept");
    assert!(new_tmp.exists(), "a fresh one may belong to a live writer");
    assert!(foreign_tmp.exists(), "a file the plugin did not make stays");
    assert!(cache.load(&other).is_some(), "old entries stay");
}

#[test]
fn misses_and_notes_leave_no_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let keys: Vec<CacheKey> = ["c1", "c2"]
        .iter()
        .map(|id| CacheKey::new(&KeyInput { id, ..key_input() }))
        .collect();
    let mut counts = Vec::new();
    for round in 0..20 {
        for key in &keys {
            let guard = lock(&cache, key).unwrap();
            if round % 2 == 0 {
                guard
                    .store_note(&Note::new(
                        key.canonical.clone(),
                        "r".into(),
                        0,
                        "down".into(),
                        1,
                    ))
                    .unwrap();
            } else {
                guard.store(&entry(key)).unwrap();
            }
        }
        counts.push(names(cache.dir()).len());
    }
    // Each kind of round leaves as many files as the same kind before it.
    assert!(
        counts[3..]
            .iter()
            .zip(&counts[1..])
            .all(|(now, before)| now == before),
        "{counts:?}"
    );
    // Two entries and the sweep stamp: no lock file, no note.
    let names = names(cache.dir());
    let kinds: Vec<_> = names.iter().map(|n| dir::kind(n)).collect();
    assert_eq!(
        kinds,
        [Some(Kind::Stamp), Some(Kind::Entry), Some(Kind::Entry)],
        "{names:?}"
    );
}

#[test]
fn a_note_is_read_only_for_its_own_key_and_while_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let key = key();
    let now = crate::time::now();
    let guard = lock(&cache, &key).unwrap();
    guard
        .store_note(&Note::new(
            key.canonical.clone(),
            "r".into(),
            now,
            "down".into(),
            1,
        ))
        .unwrap();
    assert_eq!(cache.note(&key, "r").unwrap().message, "down");
    assert!(cache.note(&key, "s").is_none(), "another route's note");
    guard
        .store_note(&Note::new(
            "another".into(),
            "r".into(),
            now,
            "down".into(),
            1,
        ))
        .unwrap();
    assert!(cache.note(&key, "r").is_none(), "another key's note");
    guard
        .store_note(&Note::new(
            key.canonical.clone(),
            "r".into(),
            now - 60,
            "down".into(),
            1,
        ))
        .unwrap();
    assert!(cache.note(&key, "r").is_none(), "a lapsed note");
    guard
        .store_note(&Note::new(
            key.canonical.clone(),
            "r".into(),
            now,
            "down".into(),
            1,
        ))
        .unwrap();
    guard.store(&entry(&key)).unwrap();
    assert!(
        cache.note(&key, "r").is_none(),
        "a stored entry drops the note"
    );
}

#[test]
fn clear_removes_only_the_plugins_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    store(&cache, &key(), &entry(&key()));
    // Names alike to the plugin's (another hash length, or its own shape with content that is
    // no entry of its) are someone else's.
    let foreign = [
        "package.json",
        "notes.json",
        "c1-foo.json",
        "chunk-0123456789abcdef.json",
        "report-0123456789abcdef0123.failed",
        "c9-0123456789abcdef0123456789abcdef.json",
    ];
    for name in foreign {
        fs::write(cache.dir().join(name), "{}").unwrap();
    }
    let session = "session_0123456789abcdef0123456789abcdef.json";
    CacheDir::open_for_writing(cache.dir())
        .unwrap()
        .write(session, b"{}")
        .unwrap();
    let listed = cache.entries().unwrap();
    assert_eq!(listed.len(), 2, "the look-alike is listed, as unreadable");
    assert_eq!(listed.iter().filter(|(_, e)| e.is_some()).count(), 1);
    assert_eq!(
        cache.clear(|_| true).unwrap(),
        Cleared {
            entries: 1,
            sessions: 1
        }
    );
    assert!(
        !cache.dir().join(session).exists(),
        "clearing all drops STS sessions"
    );
    assert_eq!(
        names(cache.dir()).len(),
        foreign.len() + 1,
        "the sweep stamp stays"
    );
    assert!(cache.load(&key()).is_none());
    for foreign in foreign {
        assert!(cache.dir().join(foreign).exists(), "{foreign}");
    }
}

#[test]
fn session_files_live_beside_entries_through_the_narrow_api() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let name = "session_0123456789abcdef0123456789abcdef.json";
    assert!(cache.read_file(name).is_none());
    cache.write_file(name, b"{}").unwrap();
    assert_eq!(cache.read_file(name).unwrap(), b"{}");
    let mode = fs::metadata(cache.dir().join(name))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    store(&cache, &key(), &entry(&key()));
    assert_eq!(cache.entries().unwrap().len(), 1, "a session is no entry");
    assert_eq!(cache.session_names().unwrap(), [name]);
    // Only the plugin's own names.
    for bad in ["../x.json", "package.json", "session_xyz.json"] {
        assert!(cache.write_file(bad, b"{}").is_err(), "{bad}");
        assert!(cache.read_file(bad).is_none(), "{bad}");
    }
    let lock = "session_0123456789abcdef0123456789abcdef.lock";
    let held = cache
        .lock_file(lock, Duration::from_millis(10), || None::<()>)
        .unwrap();
    assert!(matches!(held, NamedLocking::Locked(_)));
    assert!(matches!(
        cache
            .lock_file(lock, Duration::from_millis(10), || None::<()>)
            .unwrap(),
        NamedLocking::TimedOut
    ));
    assert!(matches!(
        cache
            .lock_file(lock, Duration::from_millis(10), || Some(7))
            .unwrap(),
        NamedLocking::Polled(7)
    ));
    drop(held);
    assert!(
        !cache.dir().join(lock).exists(),
        "the holder removes its lock file"
    );
    cache.remove_file(name).unwrap();
    cache.remove_file(name).unwrap();
    assert!(cache.read_file(name).is_none());
}

#[test]
fn a_directory_of_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // As root, hand a directory to `nobody`; as anyone else, `/` already belongs to root.
    let foreign = if rustix::process::geteuid().is_root() {
        let path = dir.path().join("foreign");
        fs::create_dir(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        path
    } else {
        PathBuf::from("/")
    };
    let cache = Cache::new(foreign.clone());
    let owner = if rustix::process::geteuid().is_root() {
        65534
    } else {
        0
    };
    assert_eq!(
        CacheDir::open(&foreign).unwrap_err(),
        format!("it belongs to another user (uid {owner})")
    );
    let error = lock(&cache, &key()).err().unwrap();
    assert!(error.to_string().contains("another user"), "{error}");
}

/// A refresher that cannot resolve its request removes the lock file it holds, and only that
/// file: not one that has taken its name since.
#[test]
fn an_orphaned_lock_file_is_removed_only_while_its_name_leads_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let path = dir.path().join("c1-0123456789abcdef0123456789abcdef.lock");
    fs::write(&path, "").unwrap();
    let held = fs::File::open(&path).unwrap();
    cache.remove_orphan_lock(&held);
    assert!(!path.exists());

    fs::write(&path, "").unwrap();
    let held = fs::File::open(&path).unwrap();
    fs::remove_file(&path).unwrap();
    fs::write(&path, "another").unwrap();
    cache.remove_orphan_lock(&held);
    assert_eq!(fs::read_to_string(&path).unwrap(), "another");
}

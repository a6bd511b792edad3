//! The cache directory is the plugin's alone to change: files it did not create stay as they
//! are, a directory holding them is never chmodded, and every check and file operation goes
//! through the opened directory, so a path component swapped during a call cannot redirect
//! them (PRODUCT.md, "Files the user owns are never damaged").

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

const OTHER_KEY_ID: &str = "LTAI5tCacheDirKey0002";
const OTHER_KEY_SECRET: &str = "cacheDirSecretCacheDirSecret0002";

/// Files a user might keep in a folder they point `--cache-dir` at, with their contents.
const FOREIGN: &[(&str, &str)] = &[
    ("package.json", "{\"name\": \"my-project\"}\n"),
    ("notes.json", "[1, 2, 3]\n"),
    // Looks like one of the plugin's names, but is not one (no hash).
    ("c1-foo.json", "{}\n"),
    ("README", "hello\n"),
];

fn is_json(name: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == "json")
}

/// A folder of the user's holding [`FOREIGN`], with this mode.
fn project_dir(parent: &Path, mode: u32) -> PathBuf {
    let dir = parent.join("project");
    fs::create_dir(&dir).unwrap();
    for (name, contents) in FOREIGN {
        fs::write(dir.join(name), contents).unwrap();
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
    dir
}

fn assert_foreign_files_intact(dir: &Path, run: &Run) {
    for (name, contents) in FOREIGN {
        let path = dir.join(name);
        assert_eq!(
            fs::read_to_string(&path).ok().as_deref(),
            Some(*contents),
            "{} was changed or removed\n{run}",
            path.display()
        );
    }
}

/// The plugin's own files in `dir`: the names that start with the cluster id of its keys.
fn own_files(dir: &Path) -> Vec<String> {
    files_in(dir)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .filter(|n| n.starts_with(&format!("{CLUSTER}-")))
        .collect()
}

#[test]
fn a_cache_dir_holding_the_users_files_is_neither_emptied_nor_chmodded() {
    let (fake, _) = cloud();
    for loose in [0o777, 0o755] {
        let parent = tempfile::tempdir().unwrap();
        let dir = project_dir(parent.path(), loose);
        let plugin = get_credential(&fake)
            .arg("--cache-dir")
            .arg(dir.display().to_string());

        let run = plugin.run_ok();

        assert_foreign_files_intact(&dir, &run);
        assert_eq!(
            mode(&dir),
            loose,
            "the mode of the user's folder stays\n{run}"
        );
        assert_eq!(
            own_files(&dir),
            Vec::<String>::new(),
            "nothing cached there\n{run}"
        );
        let who = if loose & 0o022 == 0 {
            "read"
        } else {
            "write to"
        };
        assert_stderr(
            &run,
            &format!(
                "ack-credential-plugin: warning: cache directory `[tmp]/project` cannot be used: \
                 others can {who} it (mode {loose:o}) and it holds files the plugin did not \
                 create (such as `{}`), so it is left as it is\n\
                 hint: fix its permissions, or choose another with --cache-dir or ACK_CACHE_DIR\n\
                 going on without the cache",
                first_foreign(&dir),
            ),
        );
    }
}

/// The foreign name the plugin names: the first the directory listing gives.
fn first_foreign(dir: &Path) -> String {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| FOREIGN.iter().any(|(f, _)| f == n))
        .unwrap()
}

#[test]
fn a_private_cache_dir_shared_with_the_users_files_keeps_them_through_clear() {
    let (fake, _) = cloud();
    let parent = tempfile::tempdir().unwrap();
    let dir = project_dir(parent.path(), 0o700);
    let cache_dir = ["--cache-dir".to_string(), dir.display().to_string()];
    let plugin = get_credential(&fake).args(cache_dir.clone());

    let first = plugin.run_ok();
    assert_eq!(
        first.stderr, "",
        "a private folder is used as it is\n{first}"
    );
    assert_eq!(
        own_files(&dir).iter().filter(|n| is_json(n)).count(),
        1,
        "{first}"
    );
    let second = plugin.run_ok();
    assert_eq!(fake.count(), 1, "the second call is a hit\n{second}");

    let list = Plugin::new(&fake)
        .args(["cache", "list"])
        .args(cache_dir.clone())
        .run_success();
    assert_eq!(
        list.stdout.lines().count(),
        2,
        "a header and the one entry; the user's files are not listed\n{list}"
    );
    assert!(!list.stdout.contains("unreadable"), "{list}");

    let clear = Plugin::new(&fake)
        .args(["cache", "clear"])
        .args(cache_dir)
        .run_success();
    assert_stderr(&clear, "removed 1 cached credential from [tmp]/project");
    assert!(own_files(&dir).iter().all(|n| !is_json(n)), "{clear}");
    assert_foreign_files_intact(&dir, &clear);
    assert_eq!(mode(&dir), 0o700);
}

/// The cache directory's path ends in a symlink that someone else controls and swaps between
/// the user's real cache and a directory of their own, which holds another identity's
/// certificate relabelled with the user's key. The plugin checked the directory by path and
/// then reopened the entry by path: a swap in between served the planted certificate (4 calls
/// in 300). Now the directory is opened once, checked through the handle, and read through it.
#[test]
fn swapping_a_symlinked_cache_path_never_serves_another_identity() {
    let (fake, me) = cloud();
    let other = fake.add_access_key(OTHER_KEY_ID, OTHER_KEY_SECRET);
    let root = tempfile::tempdir().unwrap();
    let mine = root.path().join("mine");
    let link = root.path().join("link");
    fs::create_dir(&mine).unwrap();
    fs::set_permissions(&mine, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    let plugin = get_credential(&fake).arg("-v").cache_dir(&link);
    let first = plugin.run_ok();
    let entry_name = own_files(&mine).into_iter().find(|n| is_json(n)).unwrap();
    let my_entry: serde_json::Value =
        serde_json::from_slice(&fs::read(mine.join(&entry_name)).unwrap()).unwrap();

    // The other identity's entry, relabelled with my key, in a directory that is not mine.
    let scratch = root.path().join("scratch");
    let other_run = Plugin::new(&fake)
        .access_key(OTHER_KEY_ID, OTHER_KEY_SECRET)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .cache_dir(&scratch)
        .run_ok();
    let other_certificate = other_run.credential().client_certificate_data.unwrap();
    let other_name = own_files(&scratch)
        .into_iter()
        .find(|n| is_json(n))
        .unwrap();
    let mut planted: serde_json::Value =
        serde_json::from_slice(&fs::read(scratch.join(other_name)).unwrap()).unwrap();
    planted["key"] = my_entry["key"].clone();
    let (theirs, cleanup) = if rustix::process::geteuid().is_root() {
        let theirs = root.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::write(theirs.join(&entry_name), planted.to_string()).unwrap();
        for path in [theirs.join(&entry_name), theirs.clone()] {
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        }
        fs::set_permissions(&theirs, fs::Permissions::from_mode(0o755)).unwrap();
        (theirs, None)
    } else {
        // Not root: `/tmp` is another user's (root's) directory that anyone can plant in.
        let planted_path = Path::new("/tmp").join(&entry_name);
        fs::write(&planted_path, planted.to_string()).unwrap();
        (PathBuf::from("/tmp"), Some(planted_path))
    };

    let stop = AtomicBool::new(false);
    let runs: Vec<Run> = thread::scope(|scope| {
        let swapper = scope.spawn(|| {
            let next = root.path().join("link.next");
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for target in [&theirs, &mine] {
                    let _ = fs::remove_file(&next);
                    std::os::unix::fs::symlink(target, &next).unwrap();
                    fs::rename(&next, &link).unwrap();
                    swaps += 1;
                }
            }
            swaps
        });
        let callers: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| (0..100).map(|_| plugin.run()).collect::<Vec<_>>()))
            .collect();
        let runs = callers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        stop.store(true, Ordering::Relaxed);
        assert!(
            swapper.join().unwrap() > 300,
            "the link was swapped throughout"
        );
        runs
    });
    if let Some(path) = cleanup {
        let _ = fs::remove_file(path);
    }

    let mut hits = 0;
    let mut refused = 0;
    for run in &runs {
        assert!(run.status.success(), "{run}");
        let credential = run.credential();
        assert_ne!(
            credential.client_certificate_data.as_deref(),
            Some(other_certificate.as_str()),
            "another identity's certificate was served\n{run}"
        );
        let certificate = credential.certificate();
        assert_eq!(certificate.common_name, me.uid, "{run}");
        assert_ne!(certificate.common_name, other.uid, "{run}");
        hits += usize::from(run.stderr.contains("cache hit"));
        refused += usize::from(run.stderr.contains("belongs to another user"));
    }
    // The race was run: some calls were served from my cache, some met the other directory.
    assert!(
        hits > 0 && refused > 0,
        "hits {hits}, refused {refused}\n{first}"
    );
}

//! `cache list` and `cache clear`: one line per cached credential (never a key or secret), its
//! state (valid, refresh due, expired, unreadable), where the cache is, and removing exactly
//! the entries asked for.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::support::cache_files::{entry_files, make_expired};
use crate::support::checks::{assert_no_certificate, issued};
use crate::support::fake_cloud::{FakeCloud, Issued};
use crate::support::golden::assert_stderr;
use crate::support::{
    CLUSTER, CLUSTER_2, KEY_ID, MESH, MESH_2, Plugin, Principal, as_ram_user, cloud_with_meshes,
};

const MAIN_KEY_ID: &str = "LTAI5tMainAccountKey0001";
const MAIN_KEY_SECRET: &str = "mainAccountSecretMainAccountSecret1";

/// One row of `cache list`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    kind: String,
    id: String,
    uid: String,
    identity: String,
    state: String,
}

/// `cache list`'s stdout: the header's columns, the entry rows (with their EXPIRES) and the
/// unreadable lines.
fn parse_listing(stdout: &str) -> (Vec<String>, Vec<(Row, String)>, Vec<String>) {
    let mut lines = stdout.lines();
    let header = lines
        .next()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    for line in lines {
        if line.starts_with('?') {
            unreadable.push(line.to_string());
            continue;
        }
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut kind = words.remove(0).to_string();
        if words.first() == Some(&"(private)") {
            kind.push_str(" (private)");
            words.remove(0);
        }
        assert!(words.len() >= 5, "a short line in the listing: {line:?}");
        rows.push((
            Row {
                kind,
                id: words[0].to_string(),
                uid: words[1].to_string(),
                identity: words[2].to_string(),
                state: words[4..].join(" "),
            },
            words[3].to_string(),
        ));
    }
    (header, rows, unreadable)
}

fn row(kind: &str, id: &str, uid: &str, key_id: &str) -> Row {
    Row {
        kind: kind.to_string(),
        id: id.to_string(),
        uid: uid.to_string(),
        identity: format!("access-key:{key_id}"),
        state: "valid".to_string(),
    }
}

/// Fills one cache with a cluster, the same cluster for another user's uid (main account key),
/// another cluster with --private-ip, and a mesh. Returns the plugin (RAM user key) and the
/// main account's plugin, sharing the cache.
fn filled_cache<'a>(fake: &'a FakeCloud, me: &Principal) -> (Plugin<'a>, Plugin<'a>) {
    fake.add_main_account_key(MAIN_KEY_ID, MAIN_KEY_SECRET);
    let user = as_ram_user(fake);
    let main = Plugin::new(fake)
        .access_key(MAIN_KEY_ID, MAIN_KEY_SECRET)
        .cache_dir(user.cache_path());
    user.clone()
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_ok();
    main.clone()
        .args(["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid])
        .run_ok();
    user.clone()
        .args(["get-credential", "--cluster-id", CLUSTER_2, "--private-ip"])
        .run_ok();
    user.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    assert_eq!(fake.count(), 4, "{}", fake.dump());
    (user, main)
}

#[test]
fn cache_list_shows_one_valid_line_per_credential_and_no_key_material() {
    let (fake, me) = cloud_with_meshes();
    let (user, _) = filled_cache(&fake, &me);
    let run = user.clone().args(["cache", "list"]).run_success();

    let (header, rows, unreadable) = parse_listing(&run.stdout);
    assert_eq!(
        header,
        ["KIND", "ID", "UID", "IDENTITY", "EXPIRES", "STATE"],
        "{run}"
    );
    assert!(unreadable.is_empty(), "{run}");
    let got: BTreeSet<Row> = rows.iter().map(|(r, _)| r.clone()).collect();
    let expected: BTreeSet<Row> = [
        row("cluster", CLUSTER, "-", KEY_ID),
        row("cluster", CLUSTER, &me.uid, MAIN_KEY_ID),
        row("cluster (private)", CLUSTER_2, "-", KEY_ID),
        row("mesh", MESH, "-", KEY_ID),
    ]
    .into();
    assert_eq!(rows.len(), 4, "one line per entry\n{run}");
    assert_eq!(got, expected, "{run}");

    let issued: Vec<Issued> = fake.requests().iter().map(issued).collect();
    let latest = |mesh: bool| {
        issued
            .iter()
            .filter(|i| i.mesh == mesh)
            .map(|i| i.not_after)
            .max()
            .unwrap()
    };
    for (r, expires) in &rows {
        let at = DateTime::parse_from_rfc3339(expires)
            .unwrap_or_else(|e| panic!("EXPIRES {expires} of {r:?} is not RFC 3339: {e}\n{run}"))
            .with_timezone(&Utc);
        assert!(
            at > Utc::now() && at <= latest(r.kind == "mesh"),
            "EXPIRES {expires} of {r:?}: in the past or after the certificate's NotAfter\n{run}"
        );
    }
    // No key or secret: Plugin::run has checked. No certificate either:
    assert_no_certificate(&run.stdout, &issued, &run);
    assert_no_certificate(&run.stderr, &issued, &run);
}

/// A certificate fetched inside its refresh window is `refresh due`; one past its NotAfter is
/// `expired` (the entry's times are moved into the past rather than waited out).
#[test]
fn cache_list_shows_refresh_due_and_expired_states() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    // 5 minutes: inside the 10-minute refresh window as soon as it is issued.
    fake.set_cert_lifetime(std::time::Duration::from_secs(5 * 60));
    p.clone()
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run_ok();
    let cluster_entry = entry_files(p.cache_path());
    fake.set_cert_lifetime(std::time::Duration::from_secs(3600));
    p.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    let mesh_entry: Vec<PathBuf> = entry_files(p.cache_path())
        .into_iter()
        .filter(|e| !cluster_entry.contains(e))
        .collect();
    assert_eq!(mesh_entry.len(), 1, "{mesh_entry:?}");
    make_expired(&mesh_entry[0]);

    let run = p.clone().args(["cache", "list"]).run_success();
    let (_, rows, unreadable) = parse_listing(&run.stdout);
    assert!(unreadable.is_empty(), "{run}");
    let states: BTreeSet<(String, String)> =
        rows.into_iter().map(|(r, _)| (r.kind, r.state)).collect();
    assert_eq!(
        states,
        [
            ("cluster".to_string(), "refresh due".to_string()),
            ("mesh".to_string(), "expired".to_string()),
        ]
        .into(),
        "{run}"
    );
}

#[test]
fn cache_list_shows_a_corrupt_file_as_unreadable() {
    let (fake, me) = cloud_with_meshes();
    let (user, _) = filled_cache(&fake, &me);
    let dir = user.cache_path().to_path_buf();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 4, "{entries:?}");
    fs::write(&entries[0], "{\"truncated\": ").unwrap();
    // Garbage under a name the plugin gives its entries (files of other names are not its own,
    // and neither listed nor read).
    let garbage = "zz-0123456789abcdef0123456789abcdef.json";
    fs::write(dir.join(garbage), "not json at all").unwrap();

    let run = user.clone().args(["cache", "list"]).run_success();
    let (_, rows, unreadable) = parse_listing(&run.stdout);
    assert_eq!(rows.len(), 3, "{run}");
    assert!(rows.iter().all(|(r, _)| r.state == "valid"), "{run}");
    assert_eq!(unreadable.len(), 2, "{run}");
    for name in [
        entries[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        garbage.to_string(),
    ] {
        assert!(
            unreadable
                .iter()
                .any(|l| l.split_whitespace().nth(1) == Some(name.as_str())
                    && l.contains("unreadable")),
            "no `? {name} ... unreadable` line\n{run}"
        );
    }
}

#[test]
fn cache_list_of_an_empty_cache_prints_nothing() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    // No cache directory at all.
    let run = p.clone().args(["cache", "list"]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        r"
no cached credentials in [home]/cache",
    );
    // An existing, empty one (but for a lock file).
    fs::create_dir_all(p.cache_path()).unwrap();
    fs::write(p.cache_path().join("x.lock"), "").unwrap();
    let run = p.clone().args(["cache", "list"]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        r"
no cached credentials in [home]/cache",
    );
    assert_eq!(fake.count(), 0);
}

/// `cache list` and `cache clear` find the cache where get-credential put it: $KUBECACHEDIR,
/// and `--cache-dir` overrides.
#[test]
fn cache_commands_follow_the_cache_dir_rules() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake).env_remove("ACK_CACHE_DIR");
    let kubecache = p.home().join("kubecache");
    let p = p.env("KUBECACHEDIR", kubecache.to_string_lossy());
    p.clone()
        .args(["get-credential", "--mesh-id", MESH])
        .run_ok();
    assert!(kubecache.join("ack-credential-plugin").is_dir());

    let run = p.clone().args(["cache", "list"]).run_success();
    let (_, rows, _) = parse_listing(&run.stdout);
    assert_eq!(rows.len(), 1, "{run}");
    let other = p.home().join("other-cache");
    let run = p
        .clone()
        .args(["cache", "list", "--cache-dir"])
        .arg(other.to_string_lossy())
        .run_success();
    assert_eq!(run.stdout, "", "{run}");
    let run = p
        .clone()
        .args(["cache", "clear", "--cache-dir"])
        .arg(other.to_string_lossy())
        .run_success();
    assert_stderr(
        &run,
        r"
removed 0 cached credentials from [home]/other-cache",
    );
    let run = p.clone().args(["cache", "list"]).run_success();
    assert_eq!(parse_listing(&run.stdout).1.len(), 1, "{run}");
}

/// Runs get-credential for each (args…) and returns how many API calls each made.
fn calls_for(fake: &FakeCloud, p: &Plugin, targets: &[&[&str]]) -> Vec<usize> {
    targets
        .iter()
        .map(|target| {
            let before = fake.count();
            p.clone()
                .arg("get-credential")
                .args(target.iter().copied())
                .run_ok();
            fake.count() - before
        })
        .collect()
}

#[test]
fn cache_clear_for_a_cluster_removes_only_that_clusters_entries() {
    let (fake, _) = cloud_with_meshes();
    let p = as_ram_user(&fake);
    let targets: [&[&str]; 5] = [
        &["--cluster-id", CLUSTER],
        &["--cluster-id", CLUSTER, "--private-ip"],
        &["--cluster-id", CLUSTER, "--expiration", "90m"],
        &["--cluster-id", CLUSTER_2],
        &["--mesh-id", MESH],
    ];
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 1, 1]);

    let run = p
        .clone()
        .args(["cache", "clear", "--cluster-id", CLUSTER])
        .run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        r"
removed 3 cached credentials from [home]/cache",
    );
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 0, 0]);
}

#[test]
fn cache_clear_for_a_mesh_removes_only_that_meshs_entries() {
    let (fake, _) = cloud_with_meshes();
    // A cluster that happens to share the mesh's id stays.
    fake.add_cluster_with_defaults(MESH);
    let p = as_ram_user(&fake);
    let targets: [&[&str]; 4] = [
        &["--mesh-id", MESH],
        &["--mesh-id", MESH, "--private-ip"],
        &["--mesh-id", MESH_2],
        &["--cluster-id", MESH],
    ];
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 1, 1]);
    let run = p
        .clone()
        .args(["cache", "clear", "--mesh-id", MESH])
        .run_success();
    assert_stderr(
        &run,
        r"
removed 2 cached credentials from [home]/cache",
    );
    assert_eq!(calls_for(&fake, &p, &targets), [1, 1, 0, 0]);
}

#[test]
fn cache_clear_without_a_filter_removes_everything() {
    let (fake, me) = cloud_with_meshes();
    let (user, main) = filled_cache(&fake, &me);
    let run = user.clone().args(["cache", "clear"]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(
        &run,
        r"
removed 4 cached credentials from [home]/cache",
    );
    let run = user.clone().args(["cache", "list"]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    let before = fake.count();
    main.clone()
        .args(["get-credential", "--cluster-id", CLUSTER, "--uid", &me.uid])
        .run_ok();
    assert_eq!(
        calls_for(
            &fake,
            &user,
            &[&["--cluster-id", CLUSTER], &["--mesh-id", MESH]]
        ),
        [1, 1]
    );
    assert_eq!(fake.count(), before + 3);
}

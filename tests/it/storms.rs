//! Storms and outages without queues (PRODUCT.md, "Fast at the limit"): cold processes started
//! at once wait for one fetch by re-reading the entry, not by passing through the lock in turn;
//! when that fetch fails they fail at once with its error (a failure note, valid for seconds);
//! lock files do not pile up. Timings are measured in bench/miss-and-storm.sh; the bounds here
//! are generous, only there to catch a queue.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::fake_cloud::{FakeCloud, Fault};
use crate::support::plugin::{Plugin, Run};

const CLUSTER: &str = "c5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";
const OTHER_CLUSTER: &str = "c1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e";
const KEY_ID: &str = "LTAI5tStormKey000001";
const KEY_SECRET: &str = "stormSecretStormSecretStormSec01";
const OTHER_KEY_ID: &str = "LTAI5tStormKey000002";
const OTHER_KEY_SECRET: &str = "stormSecretStormSecretStormSec02";

fn cloud() -> FakeCloud {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake.add_cluster_with_defaults(OTHER_CLUSTER);
    fake.add_access_key(KEY_ID, KEY_SECRET);
    fake.add_access_key(OTHER_KEY_ID, OTHER_KEY_SECRET);
    fake
}

fn get_credential<'a>(fake: &'a FakeCloud, cluster: &str) -> Plugin<'a> {
    Plugin::new(fake).access_key(KEY_ID, KEY_SECRET).args([
        "get-credential",
        "--cluster-id",
        cluster,
    ])
}

/// `n` runs of `plugin` started together (as close to at once as threads allow).
fn at_once<'a>(plugin: &Plugin<'a>, n: usize) -> (Vec<Run<'a>>, Duration) {
    let barrier = Barrier::new(n);
    let started = Instant::now();
    let runs = thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    plugin.run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (runs, started.elapsed())
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn has_extension(name: &str, extension: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == extension)
}

fn note_path(dir: &Path) -> PathBuf {
    let name = names(dir)
        .into_iter()
        .find(|n| has_extension(n, "failed"))
        .unwrap_or_else(|| panic!("no failure note in {:?}", names(dir)));
    dir.join(name)
}

#[test]
fn two_hundred_cold_processes_make_one_api_call() {
    let fake = cloud();
    // Slow enough that every process starts before the fetch is done.
    fake.set_latency(Duration::from_millis(500));
    let plugin = get_credential(&fake, CLUSTER);

    let (runs, took) = at_once(&plugin, 200);

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_eq!(run.stderr, "", "{run}");
        assert_eq!(
            run.stdout, runs[0].stdout,
            "every process prints the same\n{run}"
        );
    }
    assert_eq!(
        fake.count(),
        1,
        "200 cold processes make one API call\n{fake:?}"
    );
    let files = names(plugin.cache_path());
    assert_eq!(files.len(), 2, "the entry and the sweep stamp: {files:?}");
    assert!(
        files.iter().all(|n| !has_extension(n, "lock")),
        "no lock file is left: {files:?}"
    );
    // A queue through the lock would take 200 × the time of a hit after the fetch; this bound
    // only catches a hang (the ratio to hits is measured in bench/).
    assert!(took < Duration::from_secs(30), "{took:?}");
    eprintln!("200 cold processes, 500 ms API latency: {took:?}");
}

#[test]
fn an_outage_fails_twenty_cold_processes_within_one_fetch() {
    let fake = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let budget = 6;
    let plugin = get_credential(&fake, CLUSTER).env("ACK_API_TIMEOUT", budget.to_string());

    let (runs, took) = at_once(&plugin, 20);

    for run in &runs {
        assert!(!run.status.success() && !run.killed, "{run}");
        assert_eq!(run.stdout, "", "{run}");
        assert_eq!(
            run.stderr, runs[0].stderr,
            "every process shows the same error\n{run}"
        );
    }
    let attempts = fake.count();
    assert!(
        runs[0].stderr.contains("ServiceUnavailable")
            && runs[0].stderr.contains(&format!(", {attempts} attempts")),
        "the API saw the attempts of the one fetch the error reports\n{}\n{fake:?}",
        runs[0]
    );
    assert!(
        attempts <= 5,
        "one fetch makes at most 5 attempts\n{fake:?}"
    );
    assert!(
        took < Duration::from_secs(budget + 2),
        "all 20 failed within one fetch budget plus 2 s: {took:?}"
    );
    for secret in [KEY_SECRET, OTHER_KEY_SECRET] {
        assert!(!runs[0].stderr.contains(secret));
    }
    eprintln!(
        "20 cold processes against a 503 API: all failed in {took:?} with {attempts} requests"
    );
}

#[test]
fn a_failure_note_fails_the_next_calls_at_once_until_it_lapses() {
    let fake = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake, CLUSTER).env("ACK_API_TIMEOUT", "3");
    let first = plugin.run_exit(1);
    let fetched = fake.count();
    assert!(fetched >= 1, "{first}");

    let second = plugin.run_exit(1);
    assert_eq!(
        second.stderr, first.stderr,
        "the same error, at once\n{second}"
    );
    assert_eq!(
        fake.count(),
        fetched,
        "no request while the note stands\n{second}"
    );

    let note = note_path(plugin.cache_path());
    assert_eq!(
        fs::metadata(&note).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&note).unwrap();
    assert!(!text.contains(KEY_SECRET), "{text}");
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (at, until) = (
        json["at"].as_i64().unwrap(),
        json["until"].as_i64().unwrap(),
    );
    assert!(
        until - at > 0 && until - at <= 30,
        "a note stands for seconds: {json}"
    );
    // Let it lapse (as if its seconds had passed).
    json["until"] = serde_json::json!(at);
    fs::write(&note, json.to_string()).unwrap();

    let third = plugin.run_exit(1);
    assert!(
        fake.count() > fetched,
        "once the note lapsed, the API is asked again\n{third}"
    );
}

#[test]
fn force_refresh_is_never_served_a_failure_note() {
    let fake = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake, CLUSTER).env("ACK_API_TIMEOUT", "3");
    plugin.run_exit(1);
    let fetched = fake.count();
    fake.clear_faults();

    let forced = plugin.clone().arg("--force-refresh").run_ok();
    assert_eq!(fake.count(), fetched + 1, "{forced}");
    // The success removed the note: the next call is a plain hit.
    let next = plugin.run_ok();
    assert_eq!(next.stdout, forced.stdout, "{next}");
    assert!(
        names(plugin.cache_path())
            .iter()
            .all(|n| !has_extension(n, "failed")),
        "{next}"
    );
}

#[test]
fn a_failure_note_never_fails_another_identity_or_cluster() {
    let fake = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let mine = get_credential(&fake, CLUSTER).env("ACK_API_TIMEOUT", "3");
    mine.run_exit(1);
    fake.clear_faults();

    // Same cluster and cache, another identity; same identity, another cluster.
    let theirs = Plugin::new(&fake)
        .access_key(OTHER_KEY_ID, OTHER_KEY_SECRET)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .cache_dir(mine.cache_path());
    theirs.run_ok();
    get_credential(&fake, OTHER_CLUSTER)
        .cache_dir(mine.cache_path())
        .run_ok();
    // Mine still stands for its seconds.
    let again = mine.run_exit(1);
    assert!(again.stderr.contains("ServiceUnavailable"), "{again}");
}

#[test]
fn a_failure_note_stands_only_for_a_fetch_that_would_go_the_same_way() {
    let fake = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake, CLUSTER).env("ACK_API_TIMEOUT", "3");
    plugin.run_exit(1);
    let fetched = fake.count();
    // A longer budget (or another proxy, endpoint, credential source) is another try.
    let longer = plugin.clone().env("ACK_API_TIMEOUT", "4").run_exit(1);
    assert!(fake.count() > fetched, "{longer}");
}

#[test]
fn errors_another_try_would_repeat_are_not_noted() {
    let fake = cloud();
    let plugin = Plugin::new(&fake)
        .access_key(KEY_ID, "the-wrong-secret-the-wrong-secret")
        .args(["get-credential", "--cluster-id", CLUSTER]);
    plugin.run_exit(1);
    let second = plugin.run_exit(1);
    assert_eq!(
        fake.count(),
        2,
        "a signature error is asked about again: the user may have fixed it\n{second}"
    );
}

#[test]
fn lock_files_do_not_pile_up_with_misses_and_refreshes() {
    let fake = cloud();
    let a = get_credential(&fake, CLUSTER);
    let b = get_credential(&fake, OTHER_CLUSTER).cache_dir(a.cache_path());
    a.run_ok();
    b.run_ok();
    let settled = names(a.cache_path());
    assert_eq!(
        settled.len(),
        3,
        "two entries and the sweep stamp: {settled:?}"
    );
    for _ in 0..10 {
        a.clone().arg("--force-refresh").run_ok();
        b.clone().arg("--force-refresh").run_ok();
        let (runs, _) = at_once(&a.clone().arg("--force-refresh"), 5);
        assert!(runs.iter().all(|r| r.status.success()));
        assert_eq!(names(a.cache_path()), settled, "no file was added");
    }
    // Each batch of five forced refreshes at once shares fetches: the first to take the lock
    // fetches, the others print what it stored.
    assert!(fake.count() >= 2 + 10 * 2 + 10, "{fake:?}");
}

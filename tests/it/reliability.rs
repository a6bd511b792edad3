//! Reliability: what `get-credential` does when the cloud misbehaves (throttling, outages,
//! dropped connections, an API that never answers), when many invocations start at once or a
//! lock holder gets stuck or dies, when it is SIGKILLed in the middle of a refresh, and when the
//! cache directory, the TLS peer or the dependency tree are not what they should be.
//!
//! Every test has its own `FakeCloud`, HOME and cache directory and talks to 127.0.0.1 only.
//! Tests print what they measured (run with `--nocapture` to see it); docs/RELIABILITY.md records
//! the figures of a run. Every failing scenario also checks that no secret reached stderr.

use std::fmt::Display;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::apiserver::ApiServer;
use crate::support::fake_cloud::{FakeCloud, Fault, Outcome, Principal};
use crate::support::plugin::{CertInfo, ExecCredential, Plugin, Run};
use crate::support::reliability_support::{
    Background, Rng, base_env, entry_files, files_in, key_matches_certificate, wait_until,
};

const CLUSTER: &str = "c5e0a1b2c3d4e5f60718293a4b5c6d7e8";
const KEY_ID: &str = "LTAI5tReliabilityKey0001";
const KEY_SECRET: &str = "reliabilitySecretReliability0001";
const WRONG_SECRET: &str = "wrongSecretWrongSecretWrongSec01";
/// The CN of the CA that signs every client certificate the fake issues.
const FAKE_CLIENT_CA_CN: &str = "fake-ack-client-ca";

/// A fake cloud with one cluster and one RAM user's access key.
fn cloud() -> (FakeCloud, Principal) {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let me = fake.add_access_key(KEY_ID, KEY_SECRET);
    (fake, me)
}

/// `get-credential --cluster-id CLUSTER` with the default access key.
fn get_credential(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake).access_key(KEY_ID, KEY_SECRET).args([
        "get-credential",
        "--cluster-id",
        CLUSTER,
    ])
}

/// Every secret this file uses or the fake knows.
fn secrets(fake: &FakeCloud) -> Vec<String> {
    let mut all = fake.secrets();
    all.extend([KEY_SECRET.to_string(), WRONG_SECRET.to_string()]);
    all
}

/// No secret in `text` (a failing run's stderr, say).
fn assert_secret_free(fake: &FakeCloud, text: &str, report: &dyn Display) {
    for secret in secrets(fake) {
        assert!(
            !text.contains(&secret),
            "a secret ({}...) appears in the output\n{report}",
            &secret[..4.min(secret.len())]
        );
    }
}

/// A failure run: exit 1, empty stdout, and no secret on stderr.
fn assert_clean_failure(fake: &FakeCloud, run: &Run) {
    assert_eq!(run.code(), Some(1), "expected exit 1\n{run}");
    assert_eq!(run.stdout, "", "stdout must be empty on failure\n{run}");
    assert!(!run.stderr.contains("panicked"), "panic\n{run}");
    assert_secret_free(fake, &run.stderr, run);
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// 1. Faults
// ---------------------------------------------------------------------------------------------

const TIME_LEFT: Duration = Duration::from_millis(700);

/// One throttled answer carrying `TimeLeft: 700`: the call waits it out and succeeds.
fn assert_throttling_is_waited_out(fault: Fault) {
    let (fake, _) = cloud();
    fake.fail_next(1, fault.clone());

    let run = get_credential(&fake).run_ok();

    let log = fake.requests();
    assert_eq!(
        log.len(),
        2,
        "{fault:?}: one throttled attempt and one retry\n{run}"
    );
    assert_eq!(log[1].outcome, Outcome::Issued, "{fault:?}\n{run}");
    let gap = log[1].received - log[0].received;
    assert!(
        gap >= TIME_LEFT,
        "{fault:?}: retried after {gap:?}, before TimeLeft ({TIME_LEFT:?}) was up\n{run}"
    );
    assert!(
        gap < TIME_LEFT + Duration::from_secs(3),
        "{fault:?}: waited {gap:?}, far beyond TimeLeft\n{run}"
    );
    assert!(run.elapsed >= TIME_LEFT, "{fault:?}\n{run}");
    assert_eq!(run.stderr, "", "a successful retry is silent\n{run}");
    println!(
        "{fault:?}: 2 requests, retry {gap:?} after the first, run took {:?}",
        run.elapsed
    );
}

#[test]
fn throttling_user_400_with_time_left_is_waited_out() {
    assert_throttling_is_waited_out(Fault::Throttling {
        time_left_ms: TIME_LEFT.as_millis() as u64,
    });
}

#[test]
fn too_many_requests_429_with_time_left_is_waited_out() {
    assert_throttling_is_waited_out(Fault::TooManyRequests {
        time_left_ms: TIME_LEFT.as_millis() as u64,
    });
}

const SHORT_API_TIMEOUT_SECS: u64 = 6;

#[test]
fn persistent_503_without_cache_fails_with_code_request_id_and_attempts() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", SHORT_API_TIMEOUT_SECS.to_string());

    let run = plugin.run();

    assert_clean_failure(&fake, &run);
    let log = fake.requests();
    let attempts = log.len();
    assert!(
        (2..=5).contains(&attempts),
        "{attempts} requests: a 503 is retried, at most 5 attempts in all\n{run}"
    );
    assert!(run.stderr.contains("ServiceUnavailable"), "the Code\n{run}");
    let last = log.last().expect("a request");
    assert!(
        run.stderr.contains(&last.request_id),
        "stderr must carry the last RequestId {}\n{run}",
        last.request_id
    );
    assert!(
        run.stderr.contains(&format!("{attempts} attempts")),
        "stderr must say how many attempts were made ({attempts})\n{run}"
    );
    assert!(
        run.elapsed < Duration::from_secs(SHORT_API_TIMEOUT_SECS + 3),
        "took {:?} with ACK_API_TIMEOUT={SHORT_API_TIMEOUT_SECS}\n{run}",
        run.elapsed
    );
    assert!(entry_files(plugin.cache_path()).is_empty(), "{run}");
    println!(
        "persistent 503: exit 1 after {attempts} requests in {:?}",
        run.elapsed
    );
}

#[test]
fn persistent_dropped_connections_without_cache_fail_clearly() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::DropConnection);

    let run = get_credential(&fake)
        .env("ACK_API_TIMEOUT", SHORT_API_TIMEOUT_SECS.to_string())
        .run();

    assert_clean_failure(&fake, &run);
    let attempts = fake.count();
    assert!((2..=5).contains(&attempts), "{attempts} requests\n{run}");
    assert!(
        run.stderr.contains("could not get an answer"),
        "stderr must say no answer came\n{run}"
    );
    assert!(run.stderr.contains(&fake.endpoint()), "the endpoint\n{run}");
    assert!(
        run.stderr.contains(&format!("{attempts} attempts")),
        "the number of attempts ({attempts})\n{run}"
    );
    assert!(
        run.elapsed < Duration::from_secs(SHORT_API_TIMEOUT_SECS + 3),
        "took {:?}\n{run}",
        run.elapsed
    );
    println!(
        "persistent dropped connections: exit 1 after {attempts} requests in {:?}",
        run.elapsed
    );
}

/// No ACK_API_TIMEOUT: the default budget (30 s) must bound a call to an API that accepts the
/// connection and never answers. Slow by design; it runs in parallel with the rest.
#[test]
fn api_that_never_answers_fails_within_the_default_timeout() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::Hang);

    let run = get_credential(&fake)
        .kill_after(Duration::from_secs(90))
        .run();

    assert!(!run.killed, "still running after 90 s\n{run}");
    assert_clean_failure(&fake, &run);
    assert!(
        run.elapsed < Duration::from_secs(45),
        "took {:?}; the default budget is 30 s\n{run}",
        run.elapsed
    );
    let stderr = run.stderr.to_lowercase();
    assert!(
        stderr.contains("timed out") && stderr.contains("could not get an answer"),
        "stderr must say the API did not answer in time\n{run}"
    );
    assert!(fake.count() >= 1, "{run}");
    println!(
        "hung API, default timeouts: exit 1 after {:?}, {} attempts",
        run.elapsed,
        fake.count()
    );
}

#[test]
fn persistent_outage_serves_a_still_valid_cached_certificate_with_a_warning() {
    for fault in [Fault::ServiceUnavailable, Fault::DropConnection] {
        let (fake, _) = cloud();
        // 9 minutes: inside the 10-minute refresh window as soon as it is issued.
        fake.set_cert_lifetime(Duration::from_secs(9 * 60));
        let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "3");
        let first = plugin.run_ok();
        assert_eq!(fake.count(), 1, "{first}");
        fake.fail_always(fault.clone());

        let second = plugin.run();

        assert!(
            second.status.success(),
            "{fault:?}: the cached certificate is still valid and must be served\n{second}"
        );
        let cached = first.credential();
        let served = second.credential();
        assert_eq!(
            served.client_certificate_data, cached.client_certificate_data,
            "{fault:?}\n{second}"
        );
        assert_eq!(
            served.client_key_data, cached.client_key_data,
            "{fault:?}\n{second}"
        );
        assert!(
            served.expiration() <= cached.certificate().not_after
                && served.expiration() > chrono::Utc::now(),
            "{fault:?}: expiry\n{second}"
        );
        assert!(
            fake.count() >= 2,
            "{fault:?}: the refresh must be tried\n{second}"
        );
        let warning = second.stderr.to_lowercase();
        assert!(
            warning.contains("could not refresh") && warning.contains("cached"),
            "{fault:?}: stderr must warn that the cached certificate is served\n{second}"
        );
        assert_secret_free(&fake, &second.stderr, &second);
        println!(
            "outage ({fault:?}) with a cached 9-min certificate: exit 0 after {} refresh attempts in {:?}",
            fake.count() - 1,
            second.elapsed
        );

        // The failed refresh is not tried again on every call: for a minute the cached
        // certificate is a plain hit, with no request and nothing on stderr.
        let attempts = fake.count();
        let third = plugin.run_ok();
        assert_eq!(
            fake.count(),
            attempts,
            "{fault:?}: retried at once\n{third}"
        );
        assert!(third.stderr.is_empty(), "{fault:?}\n{third}");
        assert_eq!(
            third.credential().client_certificate_data,
            cached.client_certificate_data
        );
        assert!(third.credential().expiration() <= cached.certificate().not_after);
    }
}

/// With the default timeouts, an API that never answers delays a call that has a still-valid
/// certificate to fall back on by the short refresh budget only, not the full 30 s.
#[test]
fn hung_api_during_a_refresh_serves_the_cached_certificate_quickly() {
    let (fake, _) = cloud();
    fake.set_cert_lifetime(Duration::from_secs(9 * 60));
    let plugin = get_credential(&fake);
    let first = plugin.run_ok();
    fake.fail_always(Fault::Hang);

    let second = plugin.run();

    assert!(second.status.success(), "{second}");
    assert_eq!(
        second.credential().client_certificate_data,
        first.credential().client_certificate_data
    );
    assert!(
        second.elapsed < Duration::from_secs(15),
        "served after {:?}\n{second}",
        second.elapsed
    );
    println!(
        "hung API during a refresh: cached certificate served after {:?}",
        second.elapsed
    );
}

#[test]
fn wrong_secret_makes_exactly_one_request() {
    let (fake, _) = cloud();

    let run = Plugin::new(&fake)
        .access_key(KEY_ID, WRONG_SECRET)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .run();

    assert_clean_failure(&fake, &run);
    let log = fake.requests();
    assert_eq!(log.len(), 1, "a signature error is never retried\n{run}");
    assert_eq!(
        log[0].outcome,
        Outcome::Rejected("SignatureDoesNotMatch".into()),
        "{run}"
    );
    assert!(run.stderr.contains("SignatureDoesNotMatch"), "{run}");
    assert!(run.stderr.contains(&log[0].request_id), "{run}");
}

#[test]
fn uid_by_a_ram_user_makes_exactly_one_request() {
    let (fake, _) = cloud();
    fake.add_sub_user("27123456789012345");

    let run = get_credential(&fake)
        .args(["--uid", "27123456789012345"])
        .run();

    assert_clean_failure(&fake, &run);
    let log = fake.requests();
    assert_eq!(log.len(), 1, "a permission error is never retried\n{run}");
    let Outcome::Rejected(code) = &log[0].outcome else {
        panic!("expected a rejection\n{run}");
    };
    assert!(code.starts_with("Forbidden"), "{code}\n{run}");
    assert!(run.stderr.contains(code.as_str()), "{run}");
    assert!(run.stderr.contains(&log[0].request_id), "{run}");
}

// ---------------------------------------------------------------------------------------------
// 2. Storms and locks
// ---------------------------------------------------------------------------------------------

#[test]
fn fifty_cold_invocations_across_five_clusters_make_five_requests() {
    let fake = FakeCloud::start();
    fake.add_access_key(KEY_ID, KEY_SECRET);
    let clusters: Vec<String> = (1..=5)
        .map(|i| format!("c0storm{i}0000000000000000000000000"))
        .collect();
    for cluster in &clusters {
        fake.add_cluster_with_defaults(cluster);
    }
    fake.set_latency(ms(300));
    // One user, one cache directory, five clusters: what k9s does on start.
    let base = Plugin::new(&fake).access_key(KEY_ID, KEY_SECRET);
    let barrier = Barrier::new(50);

    let started = Instant::now();
    let runs: Vec<(usize, Run)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let plugin =
                    base.clone()
                        .args(["get-credential", "--cluster-id", &clusters[i % 5]]);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    (i % 5, plugin.run())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect()
    });
    let wall = started.elapsed();

    for (_, run) in &runs {
        assert!(run.status.success(), "every invocation succeeds\n{run}");
        run.credential();
        assert_eq!(run.stderr, "", "{run}");
    }
    assert_eq!(
        fake.count(),
        5,
        "50 cold invocations on 5 clusters must make 5 requests\n{}",
        fake.dump()
    );
    assert_eq!(fake.successes(), 5, "{}", fake.dump());
    let mut outputs = Vec::new();
    for (index, cluster) in clusters.iter().enumerate() {
        let requests = fake
            .requests()
            .into_iter()
            .filter(|r| r.path.contains(cluster.as_str()))
            .count();
        assert_eq!(requests, 1, "{cluster}\n{}", fake.dump());
        let mine: Vec<&Run> = runs
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, run)| run)
            .collect();
        assert_eq!(mine.len(), 10);
        for run in &mine {
            assert_eq!(
                run.stdout, mine[0].stdout,
                "{cluster}: all 10 outputs must be identical\n{run}"
            );
        }
        outputs.push(mine[0].stdout.clone());
    }
    outputs.sort();
    outputs.dedup();
    assert_eq!(outputs.len(), 5, "each cluster has its own certificate");
    println!("storm: 50 invocations, 5 clusters, 5 requests, all OK in {wall:?}");
}

/// A tempdir HOME with `cache` inside, for background runs that share a cache with `Plugin`s.
fn home_and_cache() -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::Builder::new()
        .prefix("ack-reliability-home-")
        .tempdir()
        .expect("temp HOME");
    let cache = home.path().join("cache");
    (home, cache)
}

fn holder_args() -> [&'static str; 3] {
    ["get-credential", "--cluster-id", CLUSTER]
}

#[test]
fn stuck_lock_holder_delays_waiters_by_the_lock_timeout_only() {
    let (fake, _) = cloud();
    let (home, cache) = home_and_cache();
    fake.fail_next(1, Fault::Hang);
    let mut env = base_env(&fake, home.path(), &cache, KEY_ID, KEY_SECRET);
    env.insert("ACK_API_TIMEOUT".into(), "120".into());
    let mut holder = Background::spawn(&env, &holder_args(), home.path());
    wait_until(
        "the holder's request reached the fake",
        Duration::from_secs(10),
        || fake.count() >= 1,
    );
    let waiter = get_credential(&fake)
        .cache_dir(&cache)
        .env("ACK_LOCK_TIMEOUT", "2")
        .kill_after(Duration::from_secs(30));

    let runs: Vec<Run> = thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let waiter = waiter.clone();
                scope.spawn(move || waiter.run())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let holder_still_stuck = holder.is_running();
    for run in &runs {
        assert!(!run.killed, "a waiter hung\n{run}");
        assert!(run.status.success(), "a waiter fetches for itself\n{run}");
        run.credential();
        assert!(
            run.elapsed >= Duration::from_secs(2),
            "it did not wait for the lock\n{run}"
        );
        assert!(
            run.elapsed < Duration::from_secs(8),
            "ACK_LOCK_TIMEOUT=2 bounds the wait\n{run}"
        );
        assert!(
            run.stderr.to_lowercase().contains("waiting"),
            "stderr must warn that it gave up waiting for the lock\n{run}"
        );
    }
    assert!(
        holder_still_stuck,
        "the holder must still hold the lock while the waiters finished\n{}",
        fake.dump()
    );
    assert_eq!(
        fake.successes(),
        3,
        "each waiter fetched once\n{}",
        fake.dump()
    );
    let holder = holder.kill();
    assert!(holder.killed, "{holder}");
    println!(
        "stuck holder: 3 waiters with ACK_LOCK_TIMEOUT=2 finished in {:?}",
        runs.iter().map(|r| r.elapsed).collect::<Vec<_>>()
    );
}

#[test]
fn lock_of_a_sigkilled_holder_dies_with_it() {
    let (fake, _) = cloud();
    let (home, cache) = home_and_cache();
    fake.fail_next(1, Fault::Hang);
    let mut env = base_env(&fake, home.path(), &cache, KEY_ID, KEY_SECRET);
    env.insert("ACK_API_TIMEOUT".into(), "120".into());
    let mut holder = Background::spawn(&env, &holder_args(), home.path());
    wait_until(
        "the holder's request reached the fake",
        Duration::from_secs(10),
        || fake.count() >= 1,
    );
    assert!(holder.is_running());
    let locks: Vec<PathBuf> = files_in(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "lock"))
        .collect();
    assert_eq!(locks.len(), 1, "the holder's lock file: {locks:?}");

    let killed = holder.kill();
    assert!(killed.killed, "{killed}");

    // The default ACK_LOCK_TIMEOUT (45 s): a lock that outlived its process would show here.
    let run = get_credential(&fake)
        .cache_dir(&cache)
        .kill_after(Duration::from_secs(60))
        .run_ok();
    assert!(
        run.elapsed < Duration::from_secs(5),
        "the lock must have died with its holder\n{run}"
    );
    assert_eq!(run.stderr, "", "no wait, no warning\n{run}");
    assert_eq!(fake.count(), 2, "{run}");
    println!(
        "SIGKILLed holder: next invocation succeeded in {:?}",
        run.elapsed
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Crash safety
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    /// Exited on its own before the kill.
    finished: usize,
    /// Killed before its request reached the fake.
    killed_before_request: usize,
    /// Killed after its request reached the fake but before the cache entry changed.
    killed_before_write: usize,
    /// Killed after the new entry was in place.
    killed_after_write: usize,
}

#[test]
fn sigkill_during_a_forced_refresh_never_leaves_a_broken_cache() {
    const TRIALS: usize = 150;
    const BUDGET: Duration = Duration::from_secs(30);
    let (mut rng, seed) = Rng::from_env_or_clock();
    println!("crash safety: seed {seed} (replay with RELIABILITY_SEED={seed})");
    let (fake, me) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let cache = plugin.cache_path().to_path_buf();
    let entries = entry_files(&cache);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = entries[0].clone();
    let env = base_env(&fake, plugin.home(), &cache, KEY_ID, KEY_SECRET);
    let args = ["get-credential", "--cluster-id", CLUSTER, "--force-refresh"];
    let mut tally = Tally::default();
    let started = Instant::now();

    for trial in 0..TRIALS {
        if started.elapsed() > BUDGET {
            break;
        }
        let latency = rng.up_to(30);
        let delay = rng.up_to(60);
        let context = format!(
            "trial {trial}, seed {seed} (RELIABILITY_SEED={seed}), latency {latency} ms, \
             SIGKILL after {delay} ms"
        );
        fake.set_latency(ms(latency));
        let before = fs::read(&entry).unwrap_or_else(|e| panic!("{context}: entry: {e}"));
        let requests_before = fake.count();

        let child = Background::spawn(&env, &args, plugin.home());
        thread::sleep(ms(delay));
        let killed = child.kill();

        let after = fs::read(&entry)
            .unwrap_or_else(|e| panic!("{context}: the entry is gone after the kill: {e}"));
        tally.trials += 1;
        if !killed.killed {
            assert!(killed.status.success(), "{context}\n{killed}");
            tally.finished += 1;
        } else if after != before {
            tally.killed_after_write += 1;
        } else if fake.count() == requests_before {
            tally.killed_before_request += 1;
        } else {
            tally.killed_before_write += 1;
        }

        let next = plugin.run();
        assert!(
            next.status.success(),
            "{context}: the next call must succeed\n{next}"
        );
        let credential = next.credential();
        let cert_pem = credential.client_certificate_data.clone().unwrap();
        let key_pem = credential.client_key_data.clone().unwrap();
        if let Err(problem) = key_matches_certificate(&cert_pem, &key_pem) {
            panic!("{context}: {problem}\n{next}");
        }
        let cert = CertInfo::parse(&cert_pem).unwrap();
        assert_eq!(cert.common_name, me.uid, "{context}\n{next}");
        assert_eq!(
            cert.issuer_common_name, FAKE_CLIENT_CA_CN,
            "{context}\n{next}"
        );
        let issued_by_fake = fake.requests().iter().any(|r| {
            r.issued
                .as_ref()
                .and_then(|i| i.certificate_pem.as_deref())
                .is_some_and(|pem| pem.trim() == cert_pem.trim())
        });
        assert!(
            issued_by_fake,
            "{context}: the certificate served is not one the fake issued\n{next}"
        );
        let now = fs::read(&entry).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            now, after,
            "{context}: the next call had to fetch again: the entry left by the kill was unusable\n{next}"
        );
    }
    fake.set_latency(Duration::ZERO);

    // No lock outlived the killed processes: a forced refresh with the default lock wait.
    let last = plugin.clone().arg("--force-refresh").run_ok();
    assert!(last.elapsed < Duration::from_secs(5), "{last}");

    let leftovers: Vec<PathBuf> = files_in(&cache)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    println!(
        "crash safety: {} trials in {:?}: {} finished before the kill, {} killed before the \
         request reached the fake, {} killed after the request but before the cache write, {} \
         killed after the cache write; every next call OK; {} leftover .tmp file(s) in the cache \
         dir: {leftovers:?}",
        tally.trials,
        started.elapsed(),
        tally.finished,
        tally.killed_before_request,
        tally.killed_before_write,
        tally.killed_after_write,
        leftovers.len()
    );
    assert!(
        tally.trials >= 50,
        "only {} trials fit in {BUDGET:?}: {tally:?}",
        tally.trials
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Security
// ---------------------------------------------------------------------------------------------

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Whether the run printed this certificate (stdout is JSON, so the PEM's newlines are escaped).
fn serves(run: &Run, cert_pem: &str) -> bool {
    ExecCredential::parse(&run.stdout)
        .ok()
        .and_then(|c| c.client_certificate_data)
        .is_some_and(|pem| pem.trim() == cert_pem.trim())
}

/// The one cache entry in `dir`.
fn only_entry(dir: &Path) -> PathBuf {
    let entries = entry_files(dir);
    assert_eq!(
        entries.len(),
        1,
        "expected one entry in {}: {entries:?}",
        dir.display()
    );
    entries[0].clone()
}

/// What an attacker would plant at the victim's `entry_path`: another identity's cache entry
/// (fetched with a second access key into a cache of its own), relabelled with the victim's
/// key, so that it is valid-looking in every way. Returns its bytes and its certificate.
fn foreign_entry_for(fake: &FakeCloud, entry_path: &Path) -> (Vec<u8>, String) {
    let (id, secret) = (
        "LTAI5tReliabilityKey0002",
        "otherSecretOtherSecretOtherSec01",
    );
    let other = fake.add_access_key(id, secret);
    let attacker =
        Plugin::new(fake)
            .access_key(id, secret)
            .args(["get-credential", "--cluster-id", CLUSTER]);
    attacker.run_ok();
    let victim: Value = serde_json::from_slice(&fs::read(entry_path).unwrap()).unwrap();
    let mut planted: Value =
        serde_json::from_slice(&fs::read(only_entry(attacker.cache_path())).unwrap()).unwrap();
    planted["key"] = victim["key"].clone();
    let cert = planted["credential"]["clientCertificateData"]
        .as_str()
        .expect("the foreign entry holds a certificate")
        .to_string();
    assert_eq!(CertInfo::parse(&cert).unwrap().common_name, other.uid);
    (serde_json::to_vec(&planted).unwrap(), cert)
}

#[test]
fn world_writable_cache_dir_is_not_trusted_and_is_made_private() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let dir = plugin.cache_path().to_path_buf();
    assert_eq!(mode(&dir), 0o700);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();

    // -v, so a failure shows which path the plugin took.
    let run = plugin.clone().arg("-v").run_ok();

    assert_eq!(
        fake.count(),
        2,
        "an entry in a world-writable directory must not be trusted: it must be fetched again\n{run}"
    );
    assert_eq!(mode(&dir), 0o700, "the directory is made private\n{run}");
    for entry in entry_files(&dir) {
        assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    }
    // And now it is trusted again.
    plugin.run_ok();
    assert_eq!(fake.count(), 2);
}

/// The attack the check above exists for: while the directory is world-writable, someone
/// replaces the entry with one of their own. It must never be served.
#[test]
fn entry_planted_in_a_world_writable_cache_dir_is_never_served() {
    let (fake, victim) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let dir = plugin.cache_path().to_path_buf();
    let entry_path = only_entry(&dir);
    let (planted, planted_cert) = foreign_entry_for(&fake, &entry_path);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let staged = dir.join("planted.partial");
    fs::write(&staged, &planted).unwrap();
    fs::rename(&staged, &entry_path).unwrap();
    let requests_before = fake.count();

    let run = plugin.clone().arg("-v").run_ok();

    assert!(
        !serves(&run, &planted_cert),
        "the entry planted in the world-writable directory was served (CN of another \
         identity) instead of a fresh certificate\n{run}"
    );
    assert_eq!(
        run.credential().certificate().common_name,
        victim.uid,
        "{run}"
    );
    assert_eq!(fake.count(), requests_before + 1, "a fresh fetch\n{run}");
    assert_eq!(mode(&dir), 0o700, "{run}");
}

/// Our effective uid, without libc: the owner of a file we just created.
fn my_uid() -> u32 {
    let probe = tempfile::NamedTempFile::new().expect("probe file");
    probe.as_file().metadata().expect("probe metadata").uid()
}

#[test]
fn cache_dir_of_another_user_is_not_used_and_never_served_from() {
    let (fake, _) = cloud();
    // The name of this key's entry (from a cache of our own), and a valid-looking entry of
    // another identity relabelled with this key, to plant in the foreign directory.
    let donor = get_credential(&fake);
    donor.run_ok();
    let donor_entry = only_entry(donor.cache_path());
    let (planted, planted_cert) = foreign_entry_for(&fake, &donor_entry);
    let requests_before = fake.count();

    let root = my_uid() == 0;
    let (plugin, planted_path) = if root {
        // Root: a directory handed to nobody (65534), holding the planted entry.
        let home = tempfile::Builder::new()
            .prefix("ack-reliability-foreign-")
            .tempdir()
            .unwrap();
        let dir = home.path().join("cache");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let file = dir.join(donor_entry.file_name().unwrap());
        fs::write(&file, &planted).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        // The tempdir lives as long as `planted_path`.
        (get_credential(&fake).cache_dir(&dir), Some((home, file)))
    } else {
        // Not root: `/` belongs to root, and we cannot make it ours.
        (get_credential(&fake).cache_dir("/"), None)
    };

    let run = plugin.run();

    // The directory is refused as a cache, the credential is fetched and served all the same.
    assert!(run.status.success(), "a credential is still served\n{run}");
    assert!(
        run.stderr.contains("another user") && run.stderr.contains("without the cache"),
        "stderr must say the directory belongs to another user\n{run}"
    );
    assert!(!serves(&run, &planted_cert), "planted entry served\n{run}");
    assert_eq!(
        fake.count(),
        requests_before + 1,
        "a fresh certificate is fetched instead\n{run}"
    );
    if let Some((_home, file)) = &planted_path {
        assert_eq!(
            fs::read(file).unwrap(),
            planted,
            "the planted entry must be left alone"
        );
    }
    println!(
        "cache dir of another user ({}): exit {:?}: {}",
        if root { "chowned to 65534" } else { "/" },
        run.code(),
        run.stderr.lines().next().unwrap_or("")
    );
}

#[test]
fn planted_symlink_at_the_entry_path_is_not_followed() {
    let (fake, victim) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let entry_path = only_entry(plugin.cache_path());
    let (planted, planted_cert) = foreign_entry_for(&fake, &entry_path);
    let elsewhere = tempfile::Builder::new()
        .prefix("ack-reliability-planted-")
        .tempdir()
        .unwrap();
    let target = elsewhere.path().join("planted.json");
    let planted_bytes = planted;
    fs::write(&target, &planted_bytes).unwrap();
    fs::remove_file(&entry_path).unwrap();
    std::os::unix::fs::symlink(&target, &entry_path).unwrap();
    let requests_before = fake.count();

    let run = plugin.run_ok();

    let served = run.credential().certificate();
    assert_ne!(
        run.credential().client_certificate_data.as_deref(),
        Some(planted_cert.as_str()),
        "the symlink's target was served\n{run}"
    );
    assert_eq!(served.common_name, victim.uid, "{run}");
    assert_eq!(
        fake.count(),
        requests_before + 1,
        "a fresh certificate must be fetched\n{run}"
    );
    assert_eq!(
        fs::read(&target).unwrap(),
        planted_bytes,
        "the symlink's target must be unchanged\n{run}"
    );
    assert!(
        !fs::symlink_metadata(&entry_path)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the entry is a regular file again\n{run}"
    );
}

#[test]
fn verbose_full_miss_shows_no_secret_token_or_private_key() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let (id, secret, token) = (
        "STS.NUreliabilityKey0001",
        "stsSecretReliabilitySecret000001",
        "CAISreliabilityTokenCAISreliabilityToken0001",
    );
    fake.add_sts_key(id, secret, token);

    let run = Plugin::new(&fake)
        .access_key(id, secret)
        .security_token(token)
        .args(["get-credential", "--cluster-id", CLUSTER, "-v"])
        .run_ok();

    assert_eq!(fake.count(), 1, "a full miss\n{run}");
    assert!(!run.stderr.trim().is_empty(), "-v logs to stderr\n{run}");
    assert!(!run.stderr.contains(secret), "the secret leaked\n{run}");
    assert!(!run.stderr.contains(token), "the token leaked\n{run}");
    assert_secret_free(&fake, &run.stderr, &run);
    assert!(!run.stderr.contains("PRIVATE KEY"), "{run}");
    let key = run.credential().client_key_data.unwrap();
    for line in key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
    {
        assert!(
            !run.stderr.contains(line),
            "the private key leaked to stderr\n{run}"
        );
    }
}

#[test]
fn tls_verification_cannot_be_turned_off() {
    let (fake, _) = cloud();
    let server = ApiServer::start(&fake.client_ca_pem());
    let knobs = [
        ("NODE_TLS_REJECT_UNAUTHORIZED", "0"),
        ("ALIBABA_CLOUD_IGNORE_SSL", "true"),
        ("INSECURE_SKIP_TLS_VERIFY", "true"),
        ("ACK_INSECURE", "1"),
        ("KUBERNETES_INSECURE_SKIP_TLS_VERIFY", "true"),
        ("ALIBABA_CLOUD_INSECURE", "true"),
    ];
    let mut plugin = get_credential(&fake)
        .env("ACK_CS_ENDPOINT", server.url())
        .env("ACK_API_TIMEOUT", "5");
    for (key, value) in knobs {
        plugin = plugin.env(key, value);
    }
    // SSL_CERT_FILE / SSL_CERT_DIR stay unset: the environment is cleared.

    let run = plugin.run();

    assert_clean_failure(&fake, &run);
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "stderr must name the certificate problem\n{run}"
    );
    assert_eq!(
        server.requests(),
        Vec::new(),
        "the self-signed server must have served no HTTP request\n{run}"
    );
    assert_eq!(fake.count(), 0, "{run}");
    assert_eq!(
        server.handshake_failures().len(),
        1,
        "an untrusted certificate is not retried\n{run}"
    );
    assert!(run.stderr.contains("not trusted"), "{run}");
    println!(
        "TLS to a self-signed loopback server: exit 1 in {:?}: {}",
        run.elapsed,
        run.stderr.lines().next().unwrap_or("")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Supply chain
// ---------------------------------------------------------------------------------------------

#[test]
fn no_openssl_or_native_tls_in_the_dependency_tree() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| {
        panic!("CARGO is not set: run this test through `cargo test`, which sets it")
    });
    let root = env!("CARGO_MANIFEST_DIR");
    for package in ["openssl-sys", "openssl", "native-tls"] {
        let output = Command::new(&cargo)
            .args(["tree", "-i", package, "--offline", "-e", "all"])
            .current_dir(root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo} tree: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let report = format!(
            "cargo tree -i {package} --offline -e all: {}\n---- stdout\n{stdout}\n---- stderr\n{stderr}",
            output.status
        );
        if output.status.success() {
            assert!(
                stdout.trim().is_empty(),
                "{package} is in the dependency tree\n{report}"
            );
        } else {
            assert!(
                stderr.contains("did not match any packages"),
                "cargo tree failed for another reason than an absent package\n{report}"
            );
        }
    }
    // Cargo.lock covers every target platform, which `cargo tree` (host only) does not.
    let lock = fs::read_to_string(Path::new(root).join("Cargo.lock")).expect("Cargo.lock");
    for package in ["openssl-sys", "openssl", "native-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{package}\"\n")),
            "{package} is in Cargo.lock"
        );
    }
}

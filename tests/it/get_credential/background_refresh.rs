//! Background refresh (PRODUCT.md, "Never wait on the API after the first fetch"): a call that
//! finds its certificate inside the refresh window, but valid for at least 2 more minutes,
//! prints it at once with a short expiry and starts one detached refresher; the next call picks
//! up the new certificate.
//!
//! The fake issues 9-minute certificates first, which are inside their 10-minute refresh window
//! from the start, then 3-hour ones, so that the certificate a refresh brings is a plain hit.
//!
//! (Over 400 lines: nine tests of one feature, one per promise of the contract, sharing the
//! set-up at the top.)

use std::fs;
use std::path::Path;
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use chrono::{TimeDelta, Utc};

use crate::support::apiserver::POD_NAME;
use crate::support::cache_files::{edit_entry, files_in, only_entry};
use crate::support::fake_cloud::Fault;
use crate::support::kubectl::{self, exec_kubeconfig, for_every_kubectl};
use crate::support::plugin::BIN;
use crate::support::wait::wait_until;
use crate::support::{
    CLUSTER, FakeCloud, KEY_ID, KEY_SECRET, Plugin, Run, cloud, cloud_behind_apiserver,
    get_credential,
};

const SHORT: Duration = Duration::from_secs(9 * 60);
const LONG: Duration = Duration::from_secs(3 * 3600);
/// Long enough for anything that is not a hang.
const DEADLINE: Duration = Duration::from_secs(30);

/// A plugin whose cache holds a 9-minute certificate (inside its window at once); from then on
/// the fake issues 3-hour ones.
fn inside_the_window(fake: &FakeCloud) -> (Plugin<'_>, Run<'_>) {
    fake.set_cert_lifetime(SHORT);
    let plugin = get_credential(fake);
    let first = plugin.run_ok();
    assert_eq!(fake.count(), 1, "{first}");
    fake.set_cert_lifetime(LONG);
    (plugin, first)
}

/// The refreshers running for this cache directory: processes whose command line holds
/// `--refresh-in-background` and whose environment names the directory.
fn refreshers(cache_dir: &Path) -> Vec<u32> {
    let wanted = format!("ACK_CACHE_DIR={}", cache_dir.display());
    let Ok(listing) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    listing
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read = |what: &str| fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
            let cmdline = read("cmdline");
            let environ = read("environ");
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == b"--refresh-in-background")
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == wanted.as_bytes())
        })
        .collect()
}

/// Waits for the refresh under way to end: a refresher was seen or the fake issued `issued`
/// certificates, and no refresher runs any more.
fn wait_for_refresh(fake: &FakeCloud, cache_dir: &Path, issued: usize) {
    wait_until("the refresh to end", DEADLINE, || {
        fake.successes() >= issued && refreshers(cache_dir).is_empty()
    });
}

#[test]
fn a_call_inside_the_window_prints_at_once_and_the_next_call_gets_the_new_certificate() {
    let (fake, _) = cloud();
    let (plugin, first) = inside_the_window(&fake);
    let cached = first.credential();
    fake.set_latency(Duration::from_secs(3));

    let second = plugin.run_ok();

    // `run` reads stdout and stderr to their end: a refresher holding them would show here.
    assert!(
        // A behaviour bound, generous for a call that costs a few ms (measured properly in
        // bench/run.sh's refresh section), and a tenth of the API's 3 s.
        second.elapsed < Duration::from_millis(300),
        "a call inside the window must not wait on the API (3 s slow)\n{second}"
    );
    assert_eq!(second.stderr, "", "{second}");
    let served = second.credential();
    assert_eq!(
        served.client_certificate_data,
        cached.client_certificate_data
    );
    assert_eq!(served.client_key_data, cached.client_key_data);
    let not_after = cached.certificate().not_after;
    let latest = (not_after - TimeDelta::minutes(1)).min(Utc::now() + TimeDelta::minutes(5));
    assert!(
        served.expiration() <= latest && served.expiration() > Utc::now(),
        "printed {}, at most {latest}\n{second}",
        served.expiration()
    );

    wait_for_refresh(&fake, plugin.cache_path(), 2);
    let third = plugin.run_ok();
    assert_eq!(
        fake.count(),
        2,
        "the refresh made one call; the next is a hit\n{third}"
    );
    let issued = fake.requests()[1]
        .issued
        .clone()
        .expect("the refresh was issued a certificate");
    assert_eq!(
        third.credential().client_certificate_data,
        issued.certificate_pem,
        "{third}"
    );
    assert_eq!(third.stderr, "", "{third}");
}

#[test]
fn twenty_calls_inside_the_window_start_one_refresh_and_one_api_call() {
    let (fake, _) = cloud();
    let (plugin, first) = inside_the_window(&fake);
    // 3 s: far above what 20 processes starting at once on a busy machine take, so a call that
    // waited on the API cannot pass for one that did not.
    fake.set_latency(Duration::from_secs(3));
    let barrier = Barrier::new(20);
    let mut most_at_once = 0;
    let runs: Vec<Run> = thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    plugin.run()
                })
            })
            .collect();
        let runs = handles.into_iter().map(|h| h.join().unwrap()).collect();
        wait_until("the refresh to end", DEADLINE, || {
            let running = refreshers(plugin.cache_path()).len();
            most_at_once = most_at_once.max(running);
            fake.successes() >= 2 && running == 0
        });
        runs
    });
    let cached = first.credential().client_certificate_data;
    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_eq!(
            run.credential().client_certificate_data,
            cached,
            "every call prints the cached certificate\n{run}"
        );
        assert!(
            run.elapsed < Duration::from_secs(2),
            "no call waits on the API (3 s slow)\n{run}"
        );
    }
    assert!(most_at_once <= 1, "{most_at_once} refreshers at once");
    assert_eq!(
        fake.count(),
        2,
        "one call for the first fetch, one for the refresh\n{fake:?}"
    );
}

/// What each descriptor of process `pid` is (`/proc/<pid>/fd`), by number.
fn descriptors(pid: &str) -> Vec<(String, String)> {
    let mut fds: Vec<(String, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = fs::read_link(e.path()).ok()?;
            Some((
                e.file_name().into_string().ok()?,
                target.display().to_string(),
            ))
        })
        .collect();
    fds.sort();
    fds
}

/// The refresher runs in a session of its own with `/dev/null` as stdin, stdout and stderr, and
/// holds neither the call's pipes nor anything else of the call's: its other descriptors are
/// its own (the lock, the cache directory, its connection to the API) or ones the test process
/// itself was started with and passes on (cargo's jobserver pipe), which the plugin, without
/// `unsafe`, cannot close (kubectl passes none).
#[test]
fn the_refresher_is_detached_from_the_call() {
    use std::os::fd::AsRawFd;
    let (fake, _) = cloud();
    let (plugin, _) = inside_the_window(&fake);
    fake.set_latency(Duration::from_secs(3));
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HOME", home.path().display().to_string()),
        ("ACK_CS_ENDPOINT", fake.endpoint()),
        ("ACK_CACHE_DIR", plugin.cache_path().display().to_string()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_string()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID.to_string()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET.to_string()),
    ];
    let mut call = std::process::Command::new(BIN)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let own = |fd: i32| {
        fs::read_link(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .display()
            .to_string()
    };
    let call_pipes = [
        own(call.stdout.as_ref().unwrap().as_raw_fd()),
        own(call.stderr.as_ref().unwrap().as_raw_fd()),
    ];
    assert!(call.wait().unwrap().success());
    // Once its request reached the API, the refresher has long finished setting itself up (in
    // its first instructions, stdin is still the lock it was handed).
    let mut pid = None;
    wait_until("the refresher to ask the API", DEADLINE, || {
        pid = refreshers(plugin.cache_path()).first().copied();
        pid.is_some() && fake.count() == 2
    });
    let pid = pid.unwrap().to_string();
    let fds = descriptors(&pid);
    let mine = descriptors("self");
    for n in ["0", "1", "2"] {
        let target = fds.iter().find(|(fd, _)| fd == n).map(|(_, t)| t.as_str());
        assert_eq!(target, Some("/dev/null"), "fd {n}: {fds:?}");
    }
    let cache = plugin.cache_path().display().to_string();
    for (fd, target) in &fds {
        assert!(
            !call_pipes.contains(target),
            "fd {fd} is the call's pipe {target}: {fds:?}"
        );
        let its_own = target == "/dev/null"
            || target.starts_with(&cache)
            || target.starts_with("socket:")
            || target.starts_with("anon_inode:");
        let from_above = mine.iter().any(|(n, t)| n == fd && t == target);
        assert!(
            its_own || from_above,
            "fd {fd} ({target}) is neither its own nor inherited from the test: {fds:?}"
        );
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // After the command name: state, ppid, pgrp, session.
    assert_eq!(fields[3], pid, "a session of its own: {stat}");
    drop(call);
    wait_for_refresh(&fake, plugin.cache_path(), 2);
}

#[test]
fn a_refresher_killed_midway_leaves_the_cache_as_it_was() {
    let (fake, _) = cloud();
    let (plugin, first) = inside_the_window(&fake);
    let entry = only_entry(plugin.cache_path());
    let before = fs::read(&entry).unwrap();
    fake.set_latency(Duration::from_secs(3));
    plugin.run_ok();
    let mut pid = None;
    wait_until("the refresher to ask the API", DEADLINE, || {
        pid = refreshers(plugin.cache_path()).first().copied();
        pid.is_some() && fake.count() == 2
    });
    let pid = pid.unwrap();
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
    wait_until("the refresher to die", DEADLINE, || {
        refreshers(plugin.cache_path()).is_empty()
    });

    assert_eq!(fs::read(&entry).unwrap(), before, "the entry is as it was");
    let files = files_in(plugin.cache_path());
    assert!(
        files
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "tmp")),
        "no temporary file is left: {files:?}"
    );

    // The lock died with it: the next call starts a refresh that completes.
    fake.set_latency(Duration::ZERO);
    let again = plugin.run_ok();
    assert_eq!(
        again.credential().client_certificate_data,
        first.credential().client_certificate_data
    );
    wait_until("the new refresh to store", DEADLINE, || {
        fs::read(&entry).unwrap() != before
    });
    wait_until("the refresher to end", DEADLINE, || {
        refreshers(plugin.cache_path()).is_empty()
    });
    let after = plugin.run_ok();
    assert_ne!(after.stdout, first.stdout, "{after}");
}

#[test]
fn a_failed_refresh_is_noted_shown_and_retried_by_a_later_call() {
    let (fake, _) = cloud();
    let (plugin, first) = inside_the_window(&fake);
    let plugin = plugin.env("ACK_API_TIMEOUT", "2");
    fake.fail_always(Fault::ServiceUnavailable);

    let second = plugin.run_ok();
    assert_eq!(
        second.credential().client_certificate_data,
        first.credential().client_certificate_data,
        "the cached certificate is served while the refresh fails\n{second}"
    );
    assert_eq!(
        second.stderr, "",
        "the failure is the refresher's, not the call's\n{second}"
    );
    wait_until("the refresh to fail", DEADLINE, || {
        fake.count() > 1 && refreshers(plugin.cache_path()).is_empty()
    });
    let failed_at = fake.count();

    let list = Plugin::new(&fake)
        .args(["cache", "list"])
        .cache_dir(plugin.cache_path())
        .run();
    assert!(list.status.success(), "{list}");
    let row = list.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains("refresh due, refresh failed at "),
        "cache list shows the failed refresh\n{list}"
    );

    // While the failure note stands, calls are served and start no refresher.
    let third = plugin.clone().arg("-v").run_ok();
    assert!(third.stderr.contains("a refresh failed "), "{third}");
    assert!(refreshers(plugin.cache_path()).is_empty());
    assert_eq!(fake.count(), failed_at);

    // Once it has lapsed (as if its seconds had passed), the next call starts another.
    let note = files_in(plugin.cache_path())
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "failed"))
        .expect("a failure note");
    edit_entry(&note, |json| json["until"] = json["at"].clone());
    fake.clear_faults();
    plugin.run_ok();
    wait_for_refresh(&fake, plugin.cache_path(), 2);
    let fifth = plugin.run_ok();
    assert_ne!(fifth.stdout, first.stdout, "the new certificate\n{fifth}");
    let list = Plugin::new(&fake)
        .args(["cache", "list"])
        .cache_dir(plugin.cache_path())
        .run();
    let row = list.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.ends_with("valid"),
        "the failure is gone with the new entry\n{list}"
    );
}

#[test]
fn no_background_refresh_waits_for_the_new_certificate_in_the_call() {
    for (flag, variable) in [(true, None), (false, Some("0")), (false, Some("off"))] {
        let (fake, _) = cloud();
        let (plugin, first) = inside_the_window(&fake);
        fake.set_latency(Duration::from_millis(500));
        let mut plugin = plugin;
        if flag {
            plugin = plugin.arg("--no-background-refresh");
        }
        if let Some(value) = variable {
            plugin = plugin.env("ACK_BACKGROUND_REFRESH", value);
        }
        let second = plugin.run_ok();
        assert!(second.elapsed >= Duration::from_millis(500), "{second}");
        assert_eq!(fake.count(), 2, "{second}");
        assert_ne!(
            second.stdout, first.stdout,
            "the new certificate, at once\n{second}"
        );
        assert!(refreshers(plugin.cache_path()).is_empty());
    }
    let (fake, _) = cloud();
    let bad = get_credential(&fake)
        .env("ACK_BACKGROUND_REFRESH", "maybe")
        .run_exit(2);
    assert_eq!(
        bad.stderr,
        "ack-credential-plugin: error: ACK_BACKGROUND_REFRESH=\"maybe\" is neither on (1) nor off (0)\n",
        "{bad}"
    );
}

#[test]
fn under_two_minutes_left_the_call_fetches_itself() {
    let (fake, _) = cloud();
    fake.set_cert_lifetime(Duration::from_secs(100));
    let plugin = get_credential(&fake);
    let first = plugin.run_ok();
    let second = plugin.run_ok();
    assert_eq!(fake.count(), 2, "{second}");
    assert_ne!(second.stdout, first.stdout, "{second}");
    assert!(refreshers(plugin.cache_path()).is_empty());
}

/// Real kubectl, every version, across a background refresh: the call that starts it and the
/// one after it (a hit on the new certificate) both reach the API server.
#[test]
fn kubectl_keeps_working_across_a_background_refresh() {
    let (cloud, _caller, api) = cloud_behind_apiserver();
    cloud.add_cluster("c-refresh", &api.url(), &api.url(), api.ca_pem());
    let sandbox = tempfile::tempdir().unwrap();
    let endpoint = cloud.endpoint();
    for_every_kubectl(|round, kubectl| {
        let cache = sandbox.path().join(format!("cache-{round}"));
        let home = sandbox.path().join(format!("home-{round}"));
        fs::create_dir_all(&home).unwrap();
        let kubeconfig = sandbox.path().join(format!("kubeconfig-{round}"));
        fs::write(
            &kubeconfig,
            exec_kubeconfig(
                &api.url(),
                api.ca_pem(),
                Path::new(BIN),
                &["get-credential", "--cluster-id", "c-refresh"],
                &[
                    ("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID),
                    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET),
                    ("ACK_CS_ENDPOINT", &endpoint),
                    ("ACK_CACHE_DIR", cache.to_str().unwrap()),
                    ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
                ],
                "v1",
            ),
        )
        .unwrap();
        let get = || {
            kubectl::run(
                &kubectl.path,
                &home,
                &kubeconfig,
                &["get", "--raw", "/api/v1/namespaces/default/pods"],
            )
        };
        // A 9-minute certificate: inside its window from the start. (kubectl may call the
        // plugin more than once, so a refresh may already start here.)
        cloud.set_cert_lifetime(SHORT);
        let mut outcome = vec![get()];
        wait_until("no refresher", DEADLINE, || refreshers(&cache).is_empty());
        // The next call is served the cached one at once and refreshes it in the background.
        cloud.set_cert_lifetime(LONG);
        let before_refresh = cloud.count();
        outcome.push(get());
        wait_until("the background refresh", DEADLINE, || {
            cloud.count() > before_refresh && refreshers(&cache).is_empty()
        });
        // And the one after is a hit on the new certificate.
        let before_hit = cloud.count();
        outcome.push(get());
        let bad: Vec<String> = outcome
            .iter()
            .filter(|out| !out.success() || !out.stdout.contains(POD_NAME))
            .map(ToString::to_string)
            .collect();
        if !bad.is_empty() || cloud.count() != before_hit {
            return Err(format!(
                "{} API calls on the call after the refresh (want none)\n{}",
                cloud.count() - before_hit,
                bad.join("\n")
            ));
        }
        Ok(())
    });
}

/// `kubeconfig` passes `--no-background-refresh` on to kubectl's calls when it is given, and
/// only then.
#[test]
fn kubeconfig_writes_no_background_refresh_only_when_given() {
    let (fake, _) = cloud();
    let base = Plugin::new(&fake).access_key(KEY_ID, KEY_SECRET).args([
        "kubeconfig",
        "--cluster-id",
        CLUSTER,
    ]);
    let with = base.clone().arg("--no-background-refresh").run();
    assert!(with.status.success(), "{with}");
    assert!(
        with.stdout.contains("- --no-background-refresh\n"),
        "{with}"
    );
    let without = base.run();
    assert!(without.status.success(), "{without}");
    assert!(!without.stdout.contains("background"), "{without}");
}

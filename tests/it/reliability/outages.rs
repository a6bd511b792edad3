//! Outages without queues (PRODUCT.md, "Fast at the limit"): when the fetch that cold
//! processes waited on fails, they fail at once with its error (a failure note, keyed like the
//! entry and standing for seconds) instead of each spending a full budget in turn. The bounds on
//! time are generous, only there to catch a queue; timings are measured in `bench/`.

use super::*;

const OTHER_KEY_ID: &str = "LTAI5tFakeAccessKey0002";
const OTHER_KEY_SECRET: &str = "fakeSecretFakeSecretFakeSecret02";

/// The failure note in `dir` (panics if there is none).
fn note_path(dir: &Path) -> PathBuf {
    files_in(dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "failed"))
        .unwrap_or_else(|| panic!("no failure note in {:?}", files_in(dir)))
}

/// The 503 error of a fetch that made `attempts` attempts, the last one the fake's request
/// number `last`, as the user sees it (masked).
fn unavailable(attempts: usize, last: usize) -> String {
    format!(
        "ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster {CLUSTER} \
         failed: ServiceUnavailable: The request has failed due to a temporary failure of the \
         server. (HTTP 503, RequestId: [request-id #{last}]), {attempts} attempts\n\
         hint: the service is having trouble; try again in a few minutes"
    )
}

#[test]
fn an_outage_fails_twenty_cold_processes_within_one_fetch() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let budget = 6;
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", budget.to_string());

    let (runs, took) = at_once(&plugin, 20);

    for run in &runs {
        assert!(!run.status.success() && !run.killed, "{run}");
        assert_eq!(run.stdout, "", "{run}");
        assert_eq!(
            run.stderr, runs[0].stderr,
            "every process shows the same error\n{run}"
        );
    }
    // The API saw the attempts of the one fetch the error reports, and nothing more.
    let attempts = fake.count();
    assert_stderr(&runs[0], &unavailable(attempts, attempts - 1));
    assert!(
        attempts <= 5,
        "one fetch makes at most 5 attempts\n{fake:?}"
    );
    assert!(
        took < Duration::from_secs(budget + 2),
        "all 20 failed within one fetch budget plus 2 s: {took:?}"
    );
    eprintln!(
        "20 cold processes against a 503 API: all failed in {took:?} with {attempts} requests"
    );
}

#[test]
fn a_failure_note_fails_the_next_calls_at_once_until_it_lapses() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "3");
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
    assert_eq!(mode(&note), 0o600);
    let text = fs::read_to_string(&note).unwrap();
    assert!(!text.contains(KEY_SECRET), "{text}");
    // Let it lapse (as if its seconds had passed).
    edit_entry(&note, |json| {
        let (at, until) = (
            json["at"].as_i64().unwrap(),
            json["until"].as_i64().unwrap(),
        );
        assert!(
            until - at > 0 && until - at <= 30,
            "a note stands for seconds: {json}"
        );
        json["until"] = at.into();
    });

    let third = plugin.run_exit(1);
    assert!(
        fake.count() > fetched,
        "once the note lapsed, the API is asked again\n{third}"
    );
}

#[test]
fn force_refresh_is_never_served_a_failure_note() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "3");
    plugin.run_exit(1);
    let fetched = fake.count();
    fake.clear_faults();

    let forced = plugin.clone().arg("--force-refresh").run_ok();
    assert_eq!(fake.count(), fetched + 1, "{forced}");
    // The success removed the note: the next call is a plain hit.
    let next = plugin.run_ok();
    assert_eq!(next.stdout, forced.stdout, "{next}");
    assert!(
        files_in(plugin.cache_path())
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "failed")),
        "{next}"
    );
}

#[test]
fn a_failure_note_never_fails_another_identity_or_cluster() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    fake.add_access_key(OTHER_KEY_ID, OTHER_KEY_SECRET);
    fake.fail_always(Fault::ServiceUnavailable);
    let mine = get_credential(&fake).env("ACK_API_TIMEOUT", "3");
    mine.run_exit(1);
    fake.clear_faults();

    // Same cluster and cache, another identity; same identity, another cluster.
    let theirs = Plugin::new(&fake)
        .access_key(OTHER_KEY_ID, OTHER_KEY_SECRET)
        .args(["get-credential", "--cluster-id", CLUSTER])
        .cache_dir(mine.cache_path());
    theirs.run_ok();
    as_ram_user(&fake)
        .args(["get-credential", "--cluster-id", CLUSTER_2])
        .cache_dir(mine.cache_path())
        .run_ok();
    // Mine still stands for its seconds: the same error, no request.
    let attempts = fake.count() - 2;
    let again = mine.run_exit(1);
    assert_stderr(&again, &unavailable(attempts, attempts - 1));
}

#[test]
fn a_failure_note_stands_only_for_a_fetch_that_would_go_the_same_way() {
    let (fake, _) = cloud();
    fake.fail_always(Fault::ServiceUnavailable);
    let plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "3");
    plugin.run_exit(1);
    let fetched = fake.count();
    // A longer budget (or another proxy, endpoint, credential source) is another try.
    let longer = plugin.clone().env("ACK_API_TIMEOUT", "4").run_exit(1);
    assert!(fake.count() > fetched, "{longer}");
}

#[test]
fn errors_another_try_would_repeat_are_not_noted() {
    let (fake, _) = cloud();
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

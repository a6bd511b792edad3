//! Many invocations at once (one API call per key, no queue through the lock, no lock files
//! left behind), and lock holders that get stuck or die.

use std::sync::Barrier;

use super::*;

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

/// A holder whose API call hangs (for 120 s): the waiters give up on the lock after
/// `ACK_LOCK_TIMEOUT` and fetch for themselves, while the holder still holds it.
#[test]
fn stuck_lock_holder_delays_waiters_by_the_lock_timeout_only() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::Hang);
    let holder_plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "120");
    let mut holder = holder_plugin.spawn();
    fake.wait_for(
        "the holder's request reached the fake",
        Duration::from_secs(20),
        |log| !log.is_empty(),
    );
    let waiter = get_credential(&fake)
        .cache_dir(holder_plugin.cache_path())
        .env("ACK_LOCK_TIMEOUT", "2")
        .kill_after(Duration::from_secs(60));

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
        // A bound only a waiter that waits on the stuck holder (120 s) instead of giving up
        // after ACK_LOCK_TIMEOUT=2 exceeds, however loaded the machine.
        assert!(
            run.elapsed < Duration::from_secs(40),
            "ACK_LOCK_TIMEOUT=2 bounds the wait\n{run}"
        );
        assert_eq!(
            run.stderr,
            "ack-credential-plugin: warning: gave up waiting 2 s for another process fetching \
             the same credential; fetching it here\n",
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

/// The lock is held only while its holder lives: after a SIGKILL, the next call takes it at
/// once, with the default lock wait (45 s) and no warning.
#[test]
fn lock_of_a_sigkilled_holder_dies_with_it() {
    let (fake, _) = cloud();
    fake.fail_next(1, Fault::Hang);
    let holder_plugin = get_credential(&fake).env("ACK_API_TIMEOUT", "120");
    let mut holder = holder_plugin.spawn();
    fake.wait_for(
        "the holder's request reached the fake",
        Duration::from_secs(20),
        |log| !log.is_empty(),
    );
    assert!(holder.is_running());
    let cache = holder_plugin.cache_path();
    let locks: Vec<PathBuf> = files_in(cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "lock"))
        .collect();
    assert_eq!(locks.len(), 1, "the holder's lock file: {locks:?}");

    let killed = holder.kill();
    assert!(killed.killed, "{killed}");

    // A lock that outlived its holder would make this wait the default ACK_LOCK_TIMEOUT (45 s)
    // and warn that it gave up waiting; it must do neither.
    let run = get_credential(&fake)
        .cache_dir(cache)
        .kill_after(Duration::from_secs(60))
        .run_ok();
    assert_eq!(run.stderr, "", "no wait, no warning\n{run}");
    assert!(
        run.elapsed < Duration::from_secs(30),
        "the lock must have died with its holder\n{run}"
    );
    assert_eq!(fake.count(), 2, "{run}");
    println!(
        "SIGKILLed holder: next invocation succeeded in {:?}",
        run.elapsed
    );
}

#[test]
fn two_hundred_cold_processes_on_one_cluster_make_one_api_call() {
    let (fake, _) = cloud();
    // Slow enough that every process starts before the fetch is done.
    fake.set_latency(Duration::from_millis(500));
    let plugin = get_credential(&fake);

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
    let files = files_in(plugin.cache_path());
    assert_eq!(files.len(), 2, "the entry and the sweep stamp: {files:?}");
    assert!(
        files
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "lock")),
        "no lock file is left: {files:?}"
    );
    // A queue through the lock would take 200 × the time of a hit after the fetch; this bound
    // only catches a hang (the ratio to hits is measured in bench/).
    assert!(took < Duration::from_secs(30), "{took:?}");
    eprintln!("200 cold processes, 500 ms API latency: {took:?}");
}

#[test]
fn lock_files_do_not_pile_up_with_misses_and_refreshes() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    let a = get_credential(&fake);
    let b = as_ram_user(&fake)
        .args(["get-credential", "--cluster-id", CLUSTER_2])
        .cache_dir(a.cache_path());
    a.run_ok();
    b.run_ok();
    let settled = files_in(a.cache_path());
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
        assert_eq!(files_in(a.cache_path()), settled, "no file was added");
    }
    // Each batch of five forced refreshes at once shares fetches: the first to take the lock
    // fetches, the others print what it stored.
    assert!(fake.count() >= 2 + 10 * 2 + 10, "{fake:?}");
}

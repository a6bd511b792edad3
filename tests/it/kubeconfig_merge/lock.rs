//! Concurrency: kubectl's lock.

use super::*;

/// 10 merges of 10 clusters at once into one file, three times over: all 10 contexts land every
/// time, and no lock file is left.
#[test]
fn ten_parallel_merges_keep_all_ten_contexts() {
    let fake = cloud();
    let ids: Vec<String> = (0..10).map(|i| format!("c{i:032x}")).collect();
    for id in &ids {
        fake.add_cluster(id, SERVER, SERVER, &fake.cluster_ca_pem());
    }
    for round in 0..3 {
        let p = plugin(&fake);
        let config = p.write_home_file(
            ".kube/config",
            "apiVersion: v1\nkind: Config\ncurrent-context: mine\n",
        );
        let runs: Vec<(bool, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .iter()
                .map(|id| {
                    let p = p
                        .clone()
                        .args(["kubeconfig", "--cluster-id", id, "--merge"]);
                    s.spawn(move || {
                        let run = p.run();
                        (run.status.success(), run.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (ok, report) in &runs {
            assert!(ok, "round {round}: a merge failed\n{report}");
        }
        let text = fs::read_to_string(&config).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        for section in ["clusters", "users", "contexts"] {
            let mut names: Vec<&str> = doc[section]
                .as_sequence()
                .unwrap_or_else(|| panic!("round {round}: no {section}\n{text}"))
                .iter()
                .filter_map(|e| e["name"].as_str())
                .collect();
            names.sort_unstable();
            assert_eq!(names, ids, "round {round}: {section}\n{text}");
        }
        assert_eq!(doc["current-context"], "mine", "round {round}\n{text}");
        let entries: Vec<String> = fs::read_dir(config.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, ["config"], "round {round}: files left");
    }
}

/// The binary with [`plugin`]'s environment, started by hand: the lock test reads its stderr
/// line by line while it runs (`Plugin::spawn` hands the output over at the end).
fn spawn_merge(p: &Plugin, fake: &FakeCloud, list: &str) -> std::process::Child {
    let mut command = Command::new(BIN);
    command.env_clear().env("HOME", p.home());
    for api in ["ACK_CS_ENDPOINT", "ACK_ASM_ENDPOINT", "ACK_STS_ENDPOINT"] {
        command.env(api, fake.endpoint());
    }
    command
        .env("ACK_CACHE_DIR", p.cache_path())
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .env("KUBECONFIG", list)
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge", "-v"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the plugin")
}

/// A lock file left by kubectl (`<file>.lock`) makes the merge wait (it says so under `-v`),
/// and the merge goes through once the lock is gone.
#[test]
fn a_kubectl_lock_makes_the_merge_wait_then_it_goes_through() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let lock = p.home().join(".kube/config.lock");
    fs::write(&lock, "").unwrap();
    let mut child = spawn_merge(&p, &fake, &config.to_string_lossy());
    let stderr = child.stderr.take().unwrap();
    let (lines, seen) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = lines.send(line.unwrap_or_default());
        }
    });
    let waiting = format!(
        "ack-credential-plugin: waiting for {} to go away",
        lock.display()
    );
    let mut stderr_text = String::new();
    // Generous: only a hang would take this long.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = seen
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("never said it was waiting:\n{stderr_text}"));
        stderr_text.push_str(&line);
        stderr_text.push('\n');
        if line == waiting {
            break;
        }
    }
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        "current-context: mine\n",
        "written while the lock was held"
    );
    fs::remove_file(&lock).unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running:\n{stderr_text}");
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.join().unwrap();
    stderr_text.extend(seen.try_iter().map(|l| l + "\n"));
    assert!(status.success(), "{status}\n{stderr_text}");
    if let Err(leak) = secrets::check(
        &fake,
        &[KEY_SECRET.to_string()],
        "",
        &stderr_text,
        Stdout::Nothing,
    ) {
        panic!("{leak}\n{}", leak.mask(&stderr_text));
    }
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("- name: {CLUSTER}\n")), "{text}");
    assert!(!lock.exists());
}

/// A lock that stays: the merge gives up after its wait, names the lock and says what to do,
/// writes nothing, and leaves the lock (it is not ours).
#[test]
fn a_lock_that_stays_fails_the_merge_with_a_clear_message() {
    let fake = cloud();
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let lock = p.home().join(".kube/config.lock");
    fs::write(&lock, "").unwrap();
    let run = merge(&p, &config.to_string_lossy(), &[]);
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(
        run.stderr,
        format!(
            "ack-credential-plugin: error: cannot write the kubeconfig {config}: its lock file \
             {lock} is still there after 5 s: kubectl or another ack-credential-plugin is \
             changing it. If neither is running, the lock was left behind: remove {lock} and \
             try again\n",
            config = config.display(),
            lock = lock.display()
        ),
        "{run}"
    );
    assert!(run.elapsed >= Duration::from_secs(5), "{run}");
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        "current-context: mine\n"
    );
    assert!(lock.exists(), "someone else's lock was removed");
}

/// While a merge holds the lock kubectl cannot write (it fails rather than waits), and after
/// it kubectl's own write goes through: the two never interleave. Here kubectl writes
/// concurrently with ten merges; every write either lands or fails cleanly with kubectl's lock
/// error, every merge succeeds, and no merge ever loses a context kubectl wrote.
///
/// The other direction is kubectl's to keep, and it does not: `kubectl config set-context`
/// reads the kubeconfig before client-go's `ModifyConfig` takes the lock, and under the lock
/// deletes every context that is in the file but not in what it read first. A context our
/// merge adds in that gap is removed by kubectl (two kubectls lose each other's the same way).
/// So this asserts what the plugin guarantees; `ten_parallel_merges_keep_all_ten_contexts`
/// covers merges among themselves.
#[test]
fn merges_never_lose_what_kubectl_writes_beside_them() {
    let fake = cloud();
    let ids: Vec<String> = (0..10).map(|i| format!("c{i:032x}")).collect();
    for id in &ids {
        fake.add_cluster(id, SERVER, SERVER, &fake.cluster_ca_pem());
    }
    let p = plugin(&fake);
    let config = p.write_home_file(".kube/config", "current-context: mine\n");
    let list = config.to_string_lossy().into_owned();
    let home = p.home().join("kubectl-home");
    fs::create_dir_all(&home).unwrap();
    let bin = one_kubectl();
    let (kubectl_landed, runs) = std::thread::scope(|s| {
        let merges: Vec<_> = ids
            .iter()
            .map(|id| {
                let p = p
                    .clone()
                    .args(["kubeconfig", "--cluster-id", id, "--merge"]);
                s.spawn(move || {
                    let run = p.run();
                    (run.status.success(), run.to_string())
                })
            })
            .collect();
        let mut landed = Vec::new();
        for i in 0..10 {
            let name = format!("kubectl-{i}");
            let out = kubectl_with_list(
                bin,
                &home,
                &list,
                &["config", "set-context", &name, "--cluster=x", "--user=x"],
            );
            if out.success() {
                landed.push(name);
            } else {
                assert!(out.stderr.contains(".lock"), "{out}");
            }
        }
        let runs: Vec<_> = merges.into_iter().map(|h| h.join().unwrap()).collect();
        (landed, runs)
    });
    for (ok, report) in &runs {
        assert!(ok, "a merge failed\n{report}");
    }
    let view = config_view(bin, &home, &list).unwrap();
    let contexts = by_name(&view, "contexts");
    for name in &kubectl_landed {
        assert!(contexts.contains_key(name), "{name} lost: {view}");
    }
}

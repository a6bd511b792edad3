//! The cache on disk: corrupt entries are misses, the directory is private, where it lives,
//! one request for many cold invocations, and no secret in it.

use super::*;

#[test]
fn corrupt_cache_file_is_refetched_and_rewritten() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let files = json_files_under(plugin.cache_path());
    assert!(
        !files.is_empty(),
        "no *.json cache file in {}",
        plugin.cache_path().display()
    );
    let good = fs::read_to_string(&files[0]).unwrap();

    for (n, garbage) in [
        "garbage \u{0}\u{1} not json".to_string(),
        good[..good.len() / 2].to_string(),
        String::new(),
        r#"{"unexpected":"shape"}"#.to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        for file in json_files_under(plugin.cache_path()) {
            fs::write(&file, &garbage).unwrap();
        }

        let run = plugin.run_ok();

        assert_eq!(fake.count(), n + 2, "a corrupt entry is a miss\n{run}");
        let rewritten = json_files_under(plugin.cache_path());
        assert!(!rewritten.is_empty(), "{run}");
        for file in rewritten {
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok() && text != garbage,
                "{} was not rewritten: {text:?}\n{run}",
                file.display()
            );
        }
        let hit = plugin.run_ok();
        assert_eq!(fake.count(), n + 2, "the rewritten entry is a hit\n{hit}");
    }
}

#[test]
fn cache_dir_is_private_and_files_0600() {
    let (fake, _) = cloud();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("not-yet").join("cache");
    let plugin = get_credential(&fake).cache_dir(&dir);

    plugin.run_ok();

    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "cache dir mode {mode:o}");
    let mut checked = 0;
    let mut stack = vec![dir.clone()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{} mode {mode:o}", entry.path().display());
                stack.push(entry.path());
            } else {
                assert_eq!(mode, 0o600, "{} mode {mode:o}", entry.path().display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 1, "no cache file written in {}", dir.display());
}

#[test]
fn cache_lives_under_kubecachedir_or_home() {
    let (fake, _) = cloud();
    let kube_cache = tempfile::tempdir().unwrap();

    let with_kubecachedir = get_credential(&fake)
        .env_remove("ACK_CACHE_DIR")
        .env("KUBECACHEDIR", kube_cache.path().display().to_string());
    let run = with_kubecachedir.run_ok();
    let files = json_files_under(&kube_cache.path().join("ack-credential-plugin"));
    assert!(
        !files.is_empty(),
        "no cache file in $KUBECACHEDIR/ack-credential-plugin\n{run}"
    );

    let default = get_credential(&fake).env_remove("ACK_CACHE_DIR");
    let run = default.run_ok();
    let files = json_files_under(&default.home().join(".kube/cache/ack-credential-plugin"));
    assert!(
        !files.is_empty(),
        "no cache file in ~/.kube/cache/ack-credential-plugin\n{run}"
    );
}

#[test]
fn concurrent_cold_invocations_make_one_request() {
    let (fake, _) = cloud();
    fake.set_latency(Duration::from_millis(300));
    let plugin = get_credential(&fake);

    let runs: Vec<Run> = thread::scope(|scope| {
        let handles: Vec<_> = (0..20).map(|_| scope.spawn(|| plugin.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_eq!(
            run.stdout, runs[0].stdout,
            "every invocation prints the same credential\n{run}"
        );
    }
    assert_eq!(
        fake.count(),
        1,
        "20 cold invocations must make one API call\n{fake:?}"
    );
}

#[test]
fn cache_holds_no_secret() {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let token = "CAIScacheTestSecurityToken0123456789";
    let secret = "stsSecretStsSecretStsSecret0001";
    fake.add_sts_key("STS.NUfakeStsKey0001", secret, token);
    let plugin = Plugin::new(&fake)
        .access_key("STS.NUfakeStsKey0001", secret)
        .security_token(token)
        .args(["get-credential", "--cluster-id", CLUSTER]);

    let run = plugin.run_ok();

    let mut stack = vec![plugin.cache_path().to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            seen += 1;
            let bytes = fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let name = path.display().to_string();
            for (what, value) in [("secret", secret), ("security token", token)] {
                assert!(!text.contains(value), "{name} holds the {what}\n{run}");
                assert!(!name.contains(value), "{name} names the {what}\n{run}");
            }
        }
    }
    assert!(seen >= 1, "nothing cached\n{run}");
}

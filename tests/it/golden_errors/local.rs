//! Goldens: bad flags, variables and directories, caught before any request.

use super::*;

#[test]
fn bad_cluster_id_shows_the_expected_form() {
    let (fake, _) = cloud();
    let run = crate::support::as_ram_user(&fake)
        .args(["get-credential", "--cluster-id", "../x"])
        .run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: --cluster-id "../x" is not a valid id: expected up to 64 letters, digits and `-` (e.g. c82e6987e2961451182edacd74faf0693)"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn bad_uid_shows_the_expected_form() {
    let (fake, _) = cloud();
    let run = get_credential(&fake).args(["--uid", "12ab"]).run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: --uid "12ab" is not a valid uid: expected the RAM user's numeric id (e.g. 272345678901234567)"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn expiration_out_of_range_gives_the_range() {
    let (fake, _) = cloud();
    let run = get_credential(&fake)
        .args(["--expiration", "73h"])
        .run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: --expiration "73h" is out of range: give a lifetime between 15m and 72h, such as 90m, 3h or 2d"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn plain_http_endpoint_off_loopback_is_refused() {
    let (fake, _) = cloud();
    let run = get_credential(&fake)
        .env_remove("ACK_CS_ENDPOINT")
        .args(["--cs-endpoint", "http://cs.example.com"])
        .run_exit(2);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: endpoint "http://cs.example.com" cannot be used: plain http:// is only allowed for loopback addresses; use https://"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn kubernetes_exec_info_that_is_not_json_is_refused() {
    let (fake, _) = cloud();
    let run = get_credential(&fake)
        .env("KUBERNETES_EXEC_INFO", "{not json")
        .run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: KUBERNETES_EXEC_INFO: not the JSON ExecCredential kubectl sets: key must be a string at line 1 column 2",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn unusable_cache_directory_is_warned_about_and_bypassed() {
    let (fake, _) = cloud();
    let plugin = get_credential(&fake);
    let file = plugin.write_home_file("not-a-directory", "a file\n");
    let run = plugin.cache_dir(&file).run_ok();
    assert_stderr(
        &run,
        r"
ack-credential-plugin: warning: cache directory `[home]/not-a-directory` cannot be used: cannot create it: File exists (os error 17)
hint: fix its permissions, or choose another with --cache-dir or ACK_CACHE_DIR
going on without the cache",
    );
    assert_eq!(fake.count(), 1, "{run}");
}

#[test]
fn cache_list_of_an_unusable_cache_directory_names_it() {
    let (fake, _) = cloud();
    let plugin = Plugin::new(&fake);
    let file = plugin.write_home_file("not-a-directory", "a file\n");
    let run = plugin.cache_dir(&file).args(["cache", "list"]).run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: cache directory `[home]/not-a-directory` cannot be used: cannot open it: Not a directory (os error 20)
hint: fix its permissions, or choose another with --cache-dir or ACK_CACHE_DIR",
    );
}

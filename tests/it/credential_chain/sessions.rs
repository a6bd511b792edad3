//! STS sessions kept between runs (`session_<hash>.json` in the cache directory): a role
//! assumed for one cluster is not assumed again for the next, kept keys that the API refuses are
//! dropped, and the identity that keys them (and the cache entries) never lets two different
//! sources share anything.
//!
//! (Over 400 lines: ten tests of one feature, sharing the role profiles at the top.)

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::support::CLUSTER_2;
use crate::support::cache_files::{edit_entry, entry_files, files_in};

/// The same `get-credential` (same HOME and cache) for another cluster.
fn for_cluster<'a>(plugin: &Plugin<'a>, cluster: &str) -> Plugin<'a> {
    plugin.clone().with_flag("--cluster-id", cluster)
}

/// The kept session files in the plugin's cache directory.
fn session_files(plugin: &Plugin) -> Vec<PathBuf> {
    files_in(plugin.cache_path())
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("session_") && name.ends_with(".json")
        })
        .collect()
}

/// A RamRoleArn profile `dev` for a fresh role; returns the plugin, the role and its ARN.
fn role_profile<'a>(fake: &'a FakeCloud, name: &str) -> (Plugin<'a>, Principal, String) {
    fake.add_cluster_with_defaults(CLUSTER_2);
    let user = fake.add_access_key("LTAIsessions0001", "sessions-secret-0001");
    let arn = role_arn(name);
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let plugin = plugin(fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIsessions0001",
                "access_key_secret": "sessions-secret-0001",
                "ram_role_arn": arn,
            }),
        )],
    );
    (plugin, role, arn)
}

/// A second cluster [`CLUSTER_2`], and the chain `final` (current) → `first` → `base` in
/// `config.json`: the AK profile `base` with a fresh user's key `key_id`/`secret`, and two
/// ChainableRamRoleArn profiles assuming the roles named `roles` ([`role_chain`]). Returns the
/// plugin and the two roles.
fn chain_profiles<'a>(
    fake: &'a FakeCloud,
    key_id: &str,
    secret: &str,
    roles: [&str; 2],
) -> (Plugin<'a>, [Role; 2]) {
    fake.add_cluster_with_defaults(CLUSTER_2);
    let user = fake.add_access_key(key_id, secret);
    let roles = role_chain(fake, &user, roles[0], roles[1]);
    let plugin = plugin(fake);
    write_cli_config(
        &plugin,
        "final",
        vec![
            cli_profile(
                "base",
                "AK",
                json!({"access_key_id": key_id, "access_key_secret": secret}),
            ),
            cli_profile(
                "first",
                "ChainableRamRoleArn",
                json!({"source_profile": "base", "ram_role_arn": roles[0].arn}),
            ),
            cli_profile(
                "final",
                "ChainableRamRoleArn",
                json!({"source_profile": "first", "ram_role_arn": roles[1].arn}),
            ),
        ],
    );
    (plugin, roles)
}

#[test]
fn a_ram_role_arn_profile_assumes_its_role_once_for_two_clusters() {
    let (fake, _) = cloud();
    let (plugin, role, _) = role_profile(&fake, "two-clusters");

    let first = plugin.clone().run_ok();
    let second = for_cluster(&plugin, CLUSTER_2).arg("-v").run_ok();

    assert_cn(&first, &role, "the role");
    assert_cn(&second, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &second);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &second);
    // The second cluster's call was signed with the first run's STS key.
    let grant = fake.grants().remove(0);
    let calls = fake.requests_for(ACTION_USER_CONFIG);
    assert_eq!(
        calls[1].access_key_id.as_deref(),
        Some(grant.key.id.as_str())
    );
    assert!(
        normalise(&second, &second.stderr)
            .lines()
            .any(|l| l.starts_with("ack-credential-plugin: using the STS session kept in session_")),
        "-v says the session was reused\n{second}"
    );
    // Kept privately, beside the entries, never passing for one.
    let sessions = session_files(&plugin);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let mode = fs::metadata(&sessions[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_chained_profile_assumes_two_roles_in_all_for_two_clusters() {
    let (fake, _) = cloud();
    let (plugin, [_, final_role]) = chain_profiles(
        &fake,
        "LTAIchainSess001",
        "chain-sessions-secret",
        ["chain-first", "chain-final"],
    );

    let first = plugin.clone().run_ok();
    let second = for_cluster(&plugin, CLUSTER_2).run_ok();

    assert_cn(&first, &final_role.principal, "the final role");
    assert_cn(&second, &final_role.principal, "the final role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &second);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &second);
    assert_eq!(session_files(&plugin).len(), 2, "one per link of the chain");
}

#[test]
fn kept_keys_the_api_refuses_are_dropped_and_the_role_assumed_again() {
    let (fake, _) = cloud();
    let (plugin, role, _) = role_profile(&fake, "refused-session");
    plugin.clone().run_ok();
    // The kept key stops working (revoked, say): the cs API does not know it any more.
    let session = session_files(&plugin).remove(0);
    edit_entry(&session, |stored| {
        stored["access_key_id"] = "STS.RevokedKey000000001".into();
    });

    let run = for_cluster(&plugin, CLUSTER_2).arg("-v").run_ok();

    assert_cn(&run, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &run);
    let calls = fake.requests_for(ACTION_USER_CONFIG);
    assert_eq!(
        calls.len(),
        3,
        "the first cluster, the refused call, the retry\n{run}"
    );
    assert_eq!(
        calls[1].outcome,
        Outcome::Rejected("InvalidAccessKeyId.NotFound".into()),
        "{run}"
    );
    assert_verbose_line(
        &run,
        "ack-credential-plugin: the API refused ",
        "the kept session credentials; getting new ones",
    );
    // The new session replaced the refused one.
    let kept: Value = serde_json::from_slice(&fs::read(&session).unwrap()).unwrap();
    assert_eq!(kept["access_key_id"], fake.grants()[1].key.id.as_str());
}

/// Both links of a chain kept, both revoked: the cluster API refuses the final role's key, and
/// STS the first role's key with which the final role is assumed again; each is dropped in
/// turn and fetched anew.
#[test]
fn refused_kept_keys_at_every_link_of_a_chain_are_replaced() {
    let (fake, _) = cloud();
    let (plugin, [first_role, final_role]) = chain_profiles(
        &fake,
        "LTAIchainRevoke01",
        "chain-revoke-secret",
        ["revoke-first", "revoke-final"],
    );
    let (first_arn, final_arn) = (&first_role.arn, &final_role.arn);
    plugin.clone().run_ok();
    for session in session_files(&plugin) {
        edit_entry(&session, |stored| {
            stored["access_key_id"] = "STS.RevokedKey000000002".into();
        });
    }

    let run = for_cluster(&plugin, CLUSTER_2).run_ok();

    assert_cn(&run, &final_role.principal, "the final role");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    let outcomes: Vec<(Option<&str>, &Outcome)> = assumed
        .iter()
        .map(|r| (r.form_param("RoleArn"), &r.outcome))
        .collect();
    let refused = Outcome::Rejected("InvalidAccessKeyId.NotFound".into());
    assert_eq!(
        outcomes,
        [
            (Some(first_arn.as_str()), &Outcome::Granted),
            (Some(final_arn.as_str()), &Outcome::Granted),
            (Some(final_arn.as_str()), &refused),
            (Some(first_arn.as_str()), &Outcome::Granted),
            (Some(final_arn.as_str()), &Outcome::Granted),
        ],
        "the final role with the revoked first key, then the first role and the final anew\n{run}"
    );
    let calls = fake.requests_for(ACTION_USER_CONFIG);
    assert_eq!(calls.len(), 3, "{run}");
    assert_eq!(calls[1].outcome, refused, "{run}");
}

#[test]
fn force_refresh_assumes_the_role_anew_and_keeps_the_new_session() {
    let (fake, _) = cloud();
    let (plugin, _, _) = role_profile(&fake, "forced-session");
    plugin.clone().run_ok();

    plugin.clone().arg("--force-refresh").run_ok();
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &plugin.clone().run_ok());
    let kept: Value =
        serde_json::from_slice(&fs::read(session_files(&plugin).remove(0)).unwrap()).unwrap();
    assert_eq!(kept["access_key_id"], fake.grants()[1].key.id.as_str());
    // A third cluster uses it.
    let third = "c3e5f7a9b1d3f5a7c9e1b3d5f7a9c1e3b";
    fake.add_cluster_with_defaults(third);
    let run = for_cluster(&plugin, third).run_ok();
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &run);
}

#[test]
fn concurrent_misses_on_several_clusters_with_one_role_assume_it_once() {
    let (fake, _) = cloud();
    let (plugin, role, _) = role_profile(&fake, "storm-session");
    let clusters = [
        "c1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a",
        "c2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b",
        "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c",
    ];
    for cluster in clusters {
        fake.add_cluster_with_defaults(cluster);
    }
    fake.set_latency(Duration::from_millis(200));

    let runs = run_all(clusters.iter().map(|c| for_cluster(&plugin, c)).collect());

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_cn(run, &role, "the role");
    }
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &runs[0]);
    assert_action_count(&fake, ACTION_USER_CONFIG, 3, &runs[0]);
}

#[test]
fn an_external_commands_sts_keys_with_an_expiration_are_kept() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    let me = fake.add_sts_key(
        "STS.keptExternal01",
        "kept-external-secret",
        "kept-external-token",
    );
    let in_two_hours = (chrono::Utc::now() + chrono::TimeDelta::hours(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (plugin, counter) = external_profile(
        &fake,
        "bin/creds",
        "runs.log",
        &json!({
            "mode": "StsToken",
            "access_key_id": "STS.keptExternal01",
            "access_key_secret": "kept-external-secret",
            "sts_token": "kept-external-token",
            "expiration": in_two_hours,
        }),
    );

    plugin.clone().run_ok();
    let run = for_cluster(&plugin, CLUSTER_2).run_ok();

    assert_cn(&run, &me, "the command's key");
    assert_eq!(
        lines(&counter),
        1,
        "the second cluster used the kept keys\n{run}"
    );
}

#[test]
fn an_external_commands_keys_without_an_expiration_are_not_kept() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    fake.add_sts_key(
        "STS.unkeptExtern01",
        "unkept-external-secret",
        "unkept-external-token",
    );
    let (plugin, counter) = external_profile(
        &fake,
        "bin/creds",
        "runs.log",
        &json!({
            "mode": "StsToken",
            "access_key_id": "STS.unkeptExtern01",
            "access_key_secret": "unkept-external-secret",
            "sts_token": "unkept-external-token",
        }),
    );

    plugin.clone().run_ok();
    for_cluster(&plugin, CLUSTER_2).run_ok();

    assert_eq!(lines(&counter), 2);
    assert!(session_files(&plugin).is_empty());
}

#[test]
fn cache_list_shows_kept_sessions_and_cache_clear_removes_them() {
    let (fake, _) = cloud();
    let (plugin, _, arn) = role_profile(&fake, "listed-session");
    plugin.clone().run_ok();
    let cache = |args: &[&str]| {
        Plugin::new(&fake)
            .cache_dir(plugin.cache_path())
            .args(["cache"])
            .args(args.iter().copied())
    };

    let list = cache(&["list"]).run_success();

    let session_row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("session "))
        .unwrap_or_else(|| panic!("no session row\n{list}"));
    let words: Vec<&str> = session_row.split_whitespace().collect();
    assert_eq!(&words[..3], ["session", "-", "-"], "{list}");
    assert!(
        session_row.contains(&format!(
            "role:{arn} (session ack-credential-plugin) from access-key:LTAIsessions0001"
        )),
        "{list}"
    );
    assert!(session_row.trim_end().ends_with("valid"), "{list}");

    let clear = cache(&["clear"]).run_success();
    assert_eq!(
        normalise(&clear, &clear.stderr),
        "removed 1 cached credential and 1 STS session from [tmp]/cache\n"
    );
    assert!(session_files(&plugin).is_empty());
    assert!(entry_files(plugin.cache_path()).is_empty());
}

/// Two role profiles whose identities used to print the same string, and so shared a cache
/// entry: a session `s1` with external id `ext1`, and a session named `s1 external-id ext1`
/// without one. The second used to be served the first one's certificate from the cache; now it
/// is a source of its own, whose session name STS refuses.
#[test]
fn role_profiles_whose_old_identities_collided_get_their_own_entries() {
    let (fake, _) = cloud();
    let user = fake.add_access_key("LTAIcollision001", "collision-secret-001");
    let arn = role_arn("collision");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let plugin = plugin(&fake);
    let profile = |name: &str, session: &str, external_id: &str| {
        cli_profile(
            name,
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIcollision001",
                "access_key_secret": "collision-secret-001",
                "ram_role_arn": arn,
                "ram_session_name": session,
                "external_id": external_id,
            }),
        )
    };
    write_cli_config(
        &plugin,
        "real",
        vec![
            profile("real", "s1", "ext1"),
            profile("spelled", "s1 external-id ext1", ""),
        ],
    );

    let real = plugin.clone().run_ok();
    let spelled = plugin.clone().args(["--profile", "spelled"]).run_err();

    assert_cn(&real, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &spelled);
    assert_action_count(&fake, ACTION_USER_CONFIG, 1, &spelled);
    let asked = fake.requests_for(ACTION_ASSUME_ROLE).remove(1);
    assert_eq!(
        asked.form_param("RoleSessionName"),
        Some("s1 external-id ext1")
    );
    assert_eq!(asked.form_param("ExternalId"), None, "{spelled}");
    assert_error(
        &spelled,
        &format!(
            "ack-credential-plugin: error: cannot get credentials from RAM role {arn} (aliyun CLI profile `spelled` (RamRoleArn) in [home]/.aliyun/config.json), assumed at http://[fake] for 3600 s with AccessKey LTAIcollision001 from aliyun CLI profile `spelled` (RamRoleArn) in [home]/.aliyun/config.json: AssumeRole for role {arn} failed: InvalidParameter.RoleSessionName: The parameter RoleSessionName \"s1 external-id ext1\" is invalid: 2 to 64 of A-Z a-z 0-9 . @ - _. (HTTP 400, RequestId: [request-id #2])"
        ),
    );
    assert_eq!(
        entry_files(plugin.cache_path()).len(),
        1,
        "the first entry only"
    );
}

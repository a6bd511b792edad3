//! aliyun CLI profiles of mode OAuth, as `aliyun configure --mode OAuth` writes them: the access
//! token is refreshed at the site's `/v1/token` when it expires within 20 minutes, the rotated
//! tokens are written back into config.json as the CLI would (under its lock, everything else
//! kept, mode kept) so the CLI goes on working, and `/v1/exchange` gives the STS key.

use std::os::unix::fs::PermissionsExt;

use chrono::TimeDelta;

use super::*;
use crate::support::CLUSTER_2;
use crate::support::fake_cloud::{ACTION_OAUTH_EXCHANGE, ACTION_OAUTH_TOKEN, OAuthTokens};

/// The aliyun CLI's client id at the CN site.
const CN_CLIENT_ID: &str = "4038181954557748008";

/// An OAuth profile `oauth` as the CLI writes it after a sign-in.
fn oauth_profile(tokens: &OAuthTokens) -> Value {
    json!({
        "name": "oauth",
        "mode": "OAuth",
        "region_id": "cn-hangzhou",
        "output_format": "json",
        "language": "en",
        "oauth_site_type": "CN",
        "oauth_access_token": tokens.access_token,
        "oauth_refresh_token": tokens.refresh_token,
        "oauth_access_token_expire": tokens.access_token_expire,
        "oauth_refresh_token_expire": tokens.access_token_expire + 30 * 24 * 3600,
        "sts_expiration": 0,
    })
}

/// A config.json with the OAuth profile among others, fields this version does not know,
/// `meta_path`, and the CLI's tab indentation; mode 0640.
fn write_config(plugin: &Plugin, tokens: &OAuthTokens) -> (PathBuf, Value) {
    let config = json!({
        "current": "oauth",
        "profiles": [
            cli_profile("work", "AK", json!({"access_key_id": "LTAIotherProfile1", "access_key_secret": "other-profile-secret"})),
            oauth_profile(tokens),
        ],
        "meta_path": "/opt/aliyun/meta",
        "plugins": {"installed": ["aliyun-cli-cs"], "future_setting": [1, 2.5, null, true]},
    });
    let mut text = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    serde::Serialize::serialize(
        &config,
        &mut serde_json::Serializer::with_formatter(&mut text, formatter),
    )
    .unwrap();
    let path = plugin.write_home_file(".aliyun/config.json", &String::from_utf8(text).unwrap());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    (path, config)
}

fn oauth_plugin<'a>(fake: &'a FakeCloud, tokens: &OAuthTokens) -> Plugin<'a> {
    plugin(fake)
        .env("ACK_OAUTH_ENDPOINT", fake.endpoint())
        .secret(&tokens.access_token)
        .secret(&tokens.refresh_token)
        .secret("other-profile-secret")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn an_access_token_expiring_within_20_minutes_is_refreshed_and_written_back() {
    let (fake, _) = cloud();
    let (user, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::minutes(19));
    let plugin = oauth_plugin(&fake, &tokens);
    let (path, before) = write_config(&plugin, &tokens);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &user.principal, "the signed-in user");
    assert_action_count(&fake, ACTION_OAUTH_TOKEN, 1, &run);
    assert_action_count(&fake, ACTION_OAUTH_EXCHANGE, 1, &run);
    let refreshes = fake.oauth_refreshes();
    assert_eq!(refreshes[0].0.as_deref(), Some(CN_CLIENT_ID), "{run}");
    assert!(
        refreshes[0].1.as_deref().is_some_and(|t| t.ends_with('Z')),
        "{refreshes:?}"
    );
    // The exchange used the new access token.
    let exchange = only(&fake, ACTION_OAUTH_EXCHANGE, &run);
    let after = read_json(&path);
    let profile = &after["profiles"][1];
    let new_access = profile["oauth_access_token"].as_str().unwrap().to_string();
    let new_refresh = profile["oauth_refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        exchange.header("authorization"),
        Some(format!("Bearer {new_access}").as_str())
    );
    assert_ne!(new_access, tokens.access_token);
    assert_ne!(new_refresh, tokens.refresh_token);
    let expire = profile["oauth_access_token_expire"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 3500..=now + 3700).contains(&expire),
        "expires_in 3600 from now: {expire}"
    );
    // Only those three fields changed; everything else (other profiles, unknown fields,
    // `current`, `meta_path`) is as it was, and so is the file's mode.
    let mut expected = before.clone();
    expected["profiles"][1]["oauth_access_token"] = new_access.clone().into();
    expected["profiles"][1]["oauth_refresh_token"] = new_refresh.clone().into();
    expected["profiles"][1]["oauth_access_token_expire"] = expire.into();
    assert_eq!(after, expected);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        files_in_dir(path.parent().unwrap()),
        ["config.json"],
        "no temporary file or lock left beside it"
    );
    // The CLI goes on working: the refresh token it now reads is live, the old one is dead.
    assert!(fake.oauth_refresh_token_is_live(&new_refresh));
    assert!(!fake.oauth_refresh_token_is_live(&tokens.refresh_token));
    assert_verbose_line(
        &run,
        "ack-credential-plugin: wrote the rotated OAuth tokens back to ",
        "[home]/.aliyun/config.json",
    );
    assert_cache_hit(
        &plugin.clone().secret(&new_access).secret(&new_refresh),
        &fake,
        &run,
    );
}

fn files_in_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_fresh_access_token_is_exchanged_without_a_refresh_and_the_file_is_left_alone() {
    let (fake, _) = cloud();
    let (user, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::hours(2));
    let plugin = oauth_plugin(&fake, &tokens);
    let (path, _) = write_config(&plugin, &tokens);
    let written = fs::read(&path).unwrap();

    let run = plugin.run_ok();

    assert_cn(&run, &user.principal, "the signed-in user");
    assert_action_count(&fake, ACTION_OAUTH_TOKEN, 0, &run);
    assert_action_count(&fake, ACTION_OAUTH_EXCHANGE, 1, &run);
    assert_eq!(fs::read(&path).unwrap(), written);
}

#[test]
fn a_symlinked_config_is_updated_through_the_link() {
    let (fake, _) = cloud();
    let (_, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::minutes(5));
    let plugin = oauth_plugin(&fake, &tokens);
    let (real, _) = write_config(&plugin, &tokens);
    let dotfiles = plugin.home().join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("aliyun-config.json");
    fs::rename(&real, &target).unwrap();
    std::os::unix::fs::symlink(&target, &real).unwrap();

    let run = plugin.run_ok();

    assert!(
        fs::symlink_metadata(&real)
            .unwrap()
            .file_type()
            .is_symlink(),
        "{run}"
    );
    let profile = &read_json(&target)["profiles"][1];
    assert_ne!(
        profile["oauth_refresh_token"],
        tokens.refresh_token.as_str()
    );
    assert!(fake.oauth_refresh_token_is_live(profile["oauth_refresh_token"].as_str().unwrap()));
}

#[test]
fn concurrent_misses_refresh_the_tokens_once() {
    let (fake, _) = cloud();
    let clusters = [
        "c1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a",
        "c2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b",
        "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c",
        CLUSTER_2,
    ];
    for cluster in clusters {
        fake.add_cluster_with_defaults(cluster);
    }
    let (user, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::minutes(1));
    let plugin = oauth_plugin(&fake, &tokens);
    write_config(&plugin, &tokens);
    fake.set_latency(Duration::from_millis(100));

    let runs = run_all(
        clusters
            .iter()
            .map(|c| plugin.clone().with_flag("--cluster-id", c))
            .collect(),
    );

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_cn(run, &user.principal, "the signed-in user");
    }
    assert_action_count(&fake, ACTION_OAUTH_TOKEN, 1, &runs[0]);
    assert_action_count(&fake, ACTION_USER_CONFIG, 4, &runs[0]);
}

#[test]
fn a_dead_refresh_token_says_to_sign_in_again() {
    let (fake, _) = cloud();
    let (_, tokens) = fake.add_oauth_user(CN_CLIENT_ID, -TimeDelta::minutes(1));
    let plugin = oauth_plugin(&fake, &tokens);
    // Someone (the CLI, say) refreshed with another copy of the file: this one is dead.
    let dead = OAuthTokens {
        refresh_token: "ort.dead".into(),
        ..tokens.clone()
    };
    write_config(&plugin, &dead);

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        "ack-credential-plugin: error: cannot get credentials from the OAuth site http://[fake] for aliyun CLI profile `oauth` (OAuth) in [home]/.aliyun/config.json: refreshing the access token: it answered HTTP 400, error: invalid_grant, error_description: The refresh token is invalid or was already used.; sign in again with `aliyun configure --profile oauth --mode OAuth`",
    );
    assert_action_count(&fake, ACTION_OAUTH_EXCHANGE, 0, &run);
}

#[test]
fn an_invalid_site_type_is_a_clear_error() {
    let (fake, _) = cloud();
    let (_, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::hours(1));
    let plugin = oauth_plugin(&fake, &tokens);
    let mut profile = oauth_profile(&tokens);
    profile["oauth_site_type"] = "EU".into();
    write_cli_config(&plugin, "oauth", vec![profile]);

    let run = plugin.run_exit(1);

    assert_stderr(
        &run,
        r#"ack-credential-plugin: error: aliyun CLI profile `oauth` (OAuth) in [home]/.aliyun/config.json has oauth_site_type "EU"; it must be CN or INTL (run `aliyun configure --profile oauth --mode OAuth`)"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn a_second_cluster_reuses_the_exchanged_sts_key() {
    let (fake, _) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    let (user, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::hours(2));
    let plugin = oauth_plugin(&fake, &tokens);
    write_config(&plugin, &tokens);

    plugin.clone().run_ok();
    let run = plugin.clone().with_flag("--cluster-id", CLUSTER_2).run_ok();

    assert_cn(&run, &user.principal, "the signed-in user");
    assert_action_count(&fake, ACTION_OAUTH_EXCHANGE, 1, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &run);
}

#[test]
fn ack_oauth_endpoint_is_held_to_the_rules_of_every_endpoint() {
    let (fake, _) = cloud();
    let (_, tokens) = fake.add_oauth_user(CN_CLIENT_ID, TimeDelta::hours(1));
    let plugin = oauth_plugin(&fake, &tokens).env("ACK_OAUTH_ENDPOINT", "http://oauth.example.com");
    write_config(&plugin, &tokens);

    let run = plugin.run_exit(2);

    assert_stderr(
        &run,
        r#"ack-credential-plugin: error: ACK_OAUTH_ENDPOINT: endpoint "http://oauth.example.com" cannot be used: plain http:// is only allowed for loopback addresses; use https://"#,
    );
    assert_eq!(fake.count(), 0, "{run}");
}

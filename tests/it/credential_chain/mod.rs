//! The credential chain (issue 3) end to end: every source of the caller's Alibaba Cloud
//! identity, the order they are tried in, STS (AssumeRole, AssumeRoleWithOIDC), the ECS metadata
//! service, credentials URIs and External commands. One file per source, plus `roles.rs`
//! (`--role-arn` and STS), `precedence.rs`, `endpoints.rs` and `broken.rs` (broken
//! configuration, no source at all); the helpers they share are here.
//!
//! Each test has its own `FakeCloud` (cs, STS, the metadata service and credentials URIs on one
//! loopback listener), its own HOME with the config files it needs, and its own cache. The fake
//! verifies every cs and every signed STS request, and hands out STS keys whose principal is the
//! role: a certificate whose CN is the role's uid proves the role was really assumed with the
//! right key. The metadata service is disabled (`ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`)
//! except in the tests about it, which point `ACK_ECS_METADATA_ENDPOINT` at the fake; no test
//! reaches a non-loopback address (the endpoint tests route everything to a closed local proxy).
//! Every run is checked for leaked secrets by `Plugin::run` itself.

mod broken;
mod cli_profile;
mod cli_roles;
mod cloud_sso;
mod ecs;
mod endpoints;
mod env;
mod external;
mod ini;
mod oauth;
mod official_files;
mod precedence;
mod roles;
mod sessions;
mod uri;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fake_cloud::{
    ACTION_ASSUME_ROLE, ACTION_ASSUME_ROLE_WITH_OIDC, ACTION_CREDENTIALS_URI,
    ACTION_IMDS_CREDENTIALS, ACTION_IMDS_ROLE_NAME, ACTION_IMDS_TOKEN, ACTION_USER_CONFIG,
    FakeCloud, Fault, IMDS_TOKEN_HEADER, IMDS_TOKEN_TTL_HEADER, Outcome, Principal, RequestRecord,
    Service,
};
use crate::support::golden::{assert_error, assert_stderr, normalise};
use crate::support::{CLUSTER, Plugin, Run, cloud};

const ACCOUNT: &str = "1234567890123456";

const OIDC_PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c3a1b2c3d4e5f6";

/// A closed local port standing in for a proxy: any attempt to go out fails at once, locally.
const DEAD_PROXY: &str = "http://127.0.0.1:1";

/// `RoleSessionName` when none is configured (chain.md, "STS").
const DEFAULT_SESSION_NAME: &str = "ack-credential-plugin";

fn role_arn(name: &str) -> String {
    format!("acs:ram::{ACCOUNT}:role/{name}")
}

/// `get-credential --cluster-id CLUSTER` with STS at the fake and no credentials at all.
fn plugin(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake)
        .env("ACK_STS_ENDPOINT", fake.sts_endpoint())
        .args(["get-credential", "--cluster-id", CLUSTER])
}

/// [`plugin`] with the metadata service enabled, at the fake.
fn ecs_plugin(fake: &FakeCloud) -> Plugin<'_> {
    plugin(fake)
        .env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env("ACK_ECS_METADATA_ENDPOINT", fake.metadata_endpoint())
}

/// A profile as the aliyun CLI writes it: every field present, empty unless set.
fn cli_profile(name: &str, mode: &str, fields: Value) -> Value {
    let mut profile = json!({
        "name": name,
        "mode": mode,
        "access_key_id": "",
        "access_key_secret": "",
        "sts_token": "",
        "sts_region": "",
        "ram_role_name": "",
        "ram_role_arn": "",
        "ram_session_name": "",
        "source_profile": "",
        "private_key": "",
        "key_pair_name": "",
        "expired_seconds": 0,
        "verified": "",
        "region_id": "",
        "output_format": "json",
        "language": "en",
        "site": "",
        "retry_timeout": 0,
        "connect_timeout": 0,
        "retry_count": 0,
        "process_command": "",
        "credentials_uri": "",
        "oidc_provider_arn": "",
        "oidc_token_file": "",
        "cloud_sso_sign_in_url": "",
        "cloud_sso_access_config": "",
        "cloud_sso_account_id": "",
        "access_token": "",
        "cloud_sso_access_token_expire": 0,
        "sts_expiration": 0,
    });
    for (key, value) in fields.as_object().expect("fields is an object") {
        profile[key] = value.clone();
    }
    profile
}

/// Writes `$HOME/.aliyun/config.json`.
fn write_cli_config(plugin: &Plugin, current: &str, profiles: Vec<Value>) -> PathBuf {
    let config = json!({ "current": current, "profiles": profiles, "meta_path": "" });
    plugin.write_home_file(
        ".aliyun/config.json",
        &serde_json::to_string_pretty(&config).unwrap(),
    )
}

/// Writes `$HOME/.alibabacloud/credentials`.
fn write_ini(plugin: &Plugin, text: &str) -> PathBuf {
    plugin.write_home_file(".alibabacloud/credentials", text)
}

/// The CN of the printed certificate is this principal's uid.
fn assert_cn(run: &Run, principal: &Principal, what: &str) {
    let cn = run.credential().certificate().common_name;
    assert_eq!(
        cn, principal.uid,
        "the certificate is not {what}'s (uid {})\n{run}",
        principal.uid
    );
}

/// Runs `plugin` again (without -v): served from the cache, with no request of any kind (cs,
/// STS, metadata, URI), the same stdout and a silent stderr.
fn assert_cache_hit(plugin: &Plugin, fake: &FakeCloud, first: &Run) {
    let before = fake.count();
    let again = plugin.run_ok();
    assert_eq!(
        fake.count(),
        before,
        "a cache hit must make no request of any kind\n{again}"
    );
    assert_eq!(again.stdout, first.stdout, "{again}");
    assert_eq!(again.stderr, "", "{again}");
}

/// Exactly this many requests of `action`.
fn assert_action_count(fake: &FakeCloud, action: &str, expected: usize, run: &Run) {
    assert_eq!(
        fake.count_action(action),
        expected,
        "expected {expected} {action} request(s)\n{run}"
    );
}

/// The only request of `action`.
fn only(fake: &FakeCloud, action: &str, run: &Run) -> RequestRecord {
    let mut records = fake.requests_for(action);
    assert_eq!(records.len(), 1, "expected one {action} request\n{run}");
    records.remove(0)
}

/// An STS request as chain.md describes it: `POST /`, a form body, nothing in the query.
fn assert_sts_form_post(record: &RequestRecord, run: &Run) {
    assert_eq!(record.method, "POST", "STS is called with POST\n{run}");
    assert_eq!(record.path, "/", "{run}");
    assert!(
        record.query.is_empty(),
        "STS parameters belong in the form body, not the query: {:?}\n{run}",
        record.query
    );
    let content_type = record.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "Content-Type {content_type:?}\n{run}"
    );
    assert_eq!(record.param("Version"), Some("2015-04-01"), "{run}");
    // V3 (the default) carries the time in a signed header; V2 in the form, with the format.
    let timestamp = if record.signature_version() == Some("v3") {
        record.header("x-acs-date")
    } else {
        assert_eq!(record.form_param("Format"), Some("JSON"), "{run}");
        record.form_param("Timestamp")
    }
    .unwrap_or("");
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "time {timestamp:?} is not yyyy-MM-ddTHH:mm:ssZ\n{run}"
    );
    assert!(record.nonce().is_some_and(|n| !n.is_empty()), "{run}");
}

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Routes any outgoing HTTP(S) through a closed local port and keeps API calls short (a
/// second's budget: the attempts are refused at once, so what the runs show is the endpoint).
fn offline(plugin: Plugin<'_>) -> Plugin<'_> {
    plugin
        .env("HTTPS_PROXY", DEAD_PROXY)
        .env("https_proxy", DEAD_PROXY)
        .env("HTTP_PROXY", DEAD_PROXY)
        .env("http_proxy", DEAD_PROXY)
        .env("ALL_PROXY", DEAD_PROXY)
        .env("ACK_API_TIMEOUT", "1")
}

/// An executable script under HOME that appends a line to `counter` at each run and prints
/// `json` (builtins only: the plugin's environment may have no PATH).
fn external_script(plugin: &Plugin, name: &str, json: &Value, counter: &Path) -> PathBuf {
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\nprintf '%s\\n' '{}'\n",
        counter.display(),
        json
    );
    let path = plugin.write_home_file(name, &script);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// An aliyun CLI profile `ext` (the current one, mode External) whose `process_command` is a
/// script at `HOME/script` ([`external_script`]) that prints `json` and counts its runs in
/// `HOME/counter`, on a [`plugin`] whose PATH is `/usr/bin:/bin`. Returns the plugin and the
/// counter file.
fn external_profile<'a>(
    fake: &'a FakeCloud,
    script: &str,
    counter: &str,
    json: &Value,
) -> (Plugin<'a>, PathBuf) {
    let plugin = plugin(fake).env("PATH", "/usr/bin:/bin");
    let counter = plugin.home().join(counter);
    let script = external_script(&plugin, script, json, &counter);
    write_cli_config(
        &plugin,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );
    (plugin, counter)
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// A role assumable with OIDC, and a plugin with the RRSA variables set and the token written.
fn rrsa<'a>(fake: &'a FakeCloud, token: &str) -> (Plugin<'a>, Principal, String, PathBuf) {
    let arn = role_arn("rrsa-pod-role");
    let role = fake.add_role(&arn);
    fake.add_oidc_provider(OIDC_PROVIDER, token);
    let base = plugin(fake);
    let token_file = base.write_home_file("var/run/secrets/tokens/oidc-token", token);
    let plugin = base
        .env("ALIBABA_CLOUD_ROLE_ARN", &arn)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", OIDC_PROVIDER)
        .env(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.display().to_string(),
        );
    (plugin, role, arn, token_file)
}

/// A RAM role registered at the fake: its ARN and the principal it makes its assumer.
struct Role {
    arn: String,
    principal: Principal,
}

/// Two roles for a chain, `acs:ram::ACCOUNT:role/<first>` and `.../<last>`: `user` may assume
/// the first, and the first role may assume the last.
fn role_chain(fake: &FakeCloud, user: &Principal, first: &str, last: &str) -> [Role; 2] {
    let [first, last] = [first, last].map(|name| {
        let arn = role_arn(name);
        let principal = fake.add_role(&arn);
        Role { arn, principal }
    });
    fake.allow_assume(&first.arn, user);
    fake.allow_assume(&last.arn, &first.principal);
    [first, last]
}

/// Three AK profiles `alpha`, `beta`, `gamma` (current: `gamma`), each with its own key.
fn three_profiles(fake: &FakeCloud) -> (Plugin<'_>, [Principal; 3]) {
    let keys = [
        ("alpha", "LTAIalpha000001", "alpha-secret-01"),
        ("beta", "LTAIbeta0000001", "beta-secret-01"),
        ("gamma", "LTAIgamma000001", "gamma-secret-01"),
    ];
    let principals = keys.map(|(_, id, secret)| fake.add_access_key(id, secret));
    let plugin = plugin(fake);
    write_cli_config(
        &plugin,
        "gamma",
        keys.iter()
            .map(|(name, id, secret)| {
                cli_profile(
                    name,
                    "AK",
                    json!({"access_key_id": id, "access_key_secret": secret}),
                )
            })
            .collect(),
    );
    (plugin, principals)
}

/// `-v` output names the source: its `credentials:` line is exactly this (masked as goldens
/// are: `[home]`, `http://[fake]`, `#[hash]`).
#[track_caller]
fn assert_source(run: &Run, expected: &str) {
    assert_verbose_line(run, "ack-credential-plugin: credentials: ", expected);
}

/// The first API request `-v` shows (`GET ...` or `POST ...`) is exactly this (masked).
#[track_caller]
fn assert_first_request(run: &Run, expected: &str) {
    let text = normalise(run, &run.stderr);
    let line = text.lines().find(|l| {
        l.starts_with("ack-credential-plugin: GET ")
            || l.starts_with("ack-credential-plugin: POST ")
    });
    assert_eq!(
        line,
        Some(format!("ack-credential-plugin: {expected}").as_str()),
        "the first request -v shows\n{run}"
    );
}

#[track_caller]
fn assert_verbose_line(run: &Run, prefix: &str, expected: &str) {
    let text = normalise(run, &run.stderr);
    let line = text.lines().find(|l| l.starts_with(prefix));
    assert_eq!(
        line,
        Some(format!("{prefix}{expected}").as_str()),
        "-v must show this line\n{run}"
    );
}

/// The whole "no credentials" message: every source tried, in order; `ecs` is what it says of
/// the ECS metadata service, the last one.
#[track_caller]
fn assert_lists_what_was_tried(run: &Run, ecs: &str) {
    assert_stderr(
        run,
        &format!(
            r"
ack-credential-plugin: error: no Alibaba Cloud credentials found. Tried, in order:
  - the environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another spelling of them) are not set
  - RRSA: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE are not set
  - aliyun CLI config [home]/.aliyun/config.json: does not exist
  - credentials file: ~/.alibabacloud/credentials does not exist (ALIBABA_CLOUD_CREDENTIALS_FILE is not set)
  - credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set
  - {ecs}
hint: export ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, run `aliyun configure`, or use --profile; the identity needs cs:DescribeClusterUserKubeconfig on the cluster"
        ),
    );
}

/// Runs every plugin at once (runs that only wait on retries need not wait in turn).
fn run_all(plugins: Vec<Plugin<'_>>) -> Vec<Run<'_>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = plugins
            .iter()
            .map(|plugin| scope.spawn(move || plugin.run()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

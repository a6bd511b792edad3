//! The credential chain (issue 3) end to end: every source of the caller's Alibaba Cloud
//! identity, the order they are tried in, STS (AssumeRole, AssumeRoleWithOIDC), the ECS metadata
//! service, credentials URIs and External commands.
//!
//! Each test has its own `FakeCloud` (cs, STS, the metadata service and credentials URIs on one
//! loopback listener), its own HOME with the config files it needs, and its own cache. The fake
//! verifies every cs and every signed STS request, and hands out STS keys whose principal is the
//! role: a certificate whose CN is the role's uid proves the role was really assumed with the
//! right key. The metadata service is disabled (`ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`)
//! except in the tests about it, which point `ACK_ECS_METADATA_ENDPOINT` at the fake; no test
//! reaches a non-loopback address (the endpoint tests route everything to a closed local proxy).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fake_cloud::{
    ACTION_ASSUME_ROLE, ACTION_ASSUME_ROLE_WITH_OIDC, ACTION_CREDENTIALS_URI,
    ACTION_IMDS_CREDENTIALS, ACTION_IMDS_ROLE_NAME, ACTION_IMDS_TOKEN, ACTION_USER_CONFIG,
    FakeCloud, Fault, IMDS_TOKEN_HEADER, IMDS_TOKEN_TTL_HEADER, Outcome, Principal, RequestRecord,
    Service,
};
use crate::support::plugin::{Plugin, Run};

const CLUSTER: &str = "c3a1b2c3d4e5f60718293a4b5c6d7e8f9";
const ACCOUNT: &str = "1234567890123456";
const OIDC_PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c3a1b2c3d4e5f6";
/// A closed local port standing in for a proxy: any attempt to go out fails at once, locally.
const DEAD_PROXY: &str = "http://127.0.0.1:1";
/// RoleSessionName when none is configured (chain.md, "STS").
const DEFAULT_SESSION_NAME: &str = "ack-credential-plugin";

fn role_arn(name: &str) -> String {
    format!("acs:ram::{ACCOUNT}:role/{name}")
}

/// A fake cloud serving one cluster.
fn cloud() -> FakeCloud {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    fake
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

/// Neither stdout nor stderr carries a secret the fake knows (keys' secrets, STS tokens, OIDC
/// tokens) or one of `extra`.
fn assert_no_secrets(run: &Run, fake: &FakeCloud, extra: &[&str]) {
    let mut secrets = fake.secrets();
    secrets.extend(extra.iter().map(|s| s.to_string()));
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(
            !run.stderr.contains(secret.as_str()),
            "stderr shows a secret ({}…)\n{run}",
            &secret[..4]
        );
        assert!(
            !run.stdout.contains(secret.as_str()),
            "stdout shows a secret ({}…)\n{run}",
            &secret[..4]
        );
    }
}

/// `-v` output names the source: every needle appears (case-insensitively).
fn assert_names_source(run: &Run, needles: &[&str]) {
    let stderr = run.stderr.to_ascii_lowercase();
    for needle in needles {
        assert!(
            stderr.contains(&needle.to_ascii_lowercase()),
            "-v output does not name the source ({needle:?} missing)\n{run}"
        );
    }
}

/// The message (stderr) mentions every needle (case-insensitively).
fn assert_mentions(run: &Run, needles: &[&str], what: &str) {
    let stderr = run.stderr.to_ascii_lowercase();
    for needle in needles {
        assert!(
            stderr.contains(&needle.to_ascii_lowercase()),
            "{what}: stderr does not mention {needle:?}\n{run}"
        );
    }
}

/// The message mentions at least one of the needles (case-insensitively).
fn assert_mentions_any(run: &Run, needles: &[&str], what: &str) {
    let stderr = run.stderr.to_ascii_lowercase();
    assert!(
        needles
            .iter()
            .any(|n| stderr.contains(&n.to_ascii_lowercase())),
        "{what}: stderr mentions none of {needles:?}\n{run}"
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
    assert_eq!(record.form_param("Version"), Some("2015-04-01"), "{run}");
    assert_eq!(record.form_param("Format"), Some("JSON"), "{run}");
    let timestamp = record.form_param("Timestamp").unwrap_or("");
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "Timestamp {timestamp:?} is not yyyy-MM-ddTHH:mm:ssZ\n{run}"
    );
    assert!(
        record
            .form_param("SignatureNonce")
            .is_some_and(|n| !n.is_empty()),
        "{run}"
    );
}

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Routes any outgoing HTTP(S) through a closed local port and keeps API calls short.
fn offline(plugin: Plugin<'_>) -> Plugin<'_> {
    plugin
        .env("HTTPS_PROXY", DEAD_PROXY)
        .env("https_proxy", DEAD_PROXY)
        .env("HTTP_PROXY", DEAD_PROXY)
        .env("http_proxy", DEAD_PROXY)
        .env("ALL_PROXY", DEAD_PROXY)
        .env("ACK_API_TIMEOUT", "2")
        .kill_after(Duration::from_secs(25))
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
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

// ---------------------------------------------------------------------------------------------
// Step 1: the environment
// ---------------------------------------------------------------------------------------------

#[test]
fn environment_keys_are_used_and_verbose_names_the_environment() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIenvKey0001", "env-secret-0001");
    let plugin = plugin(&fake).access_key("LTAIenvKey0001", "env-secret-0001");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the environment key");
    assert_names_source(&run, &["environment"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_eq!(fake.count_action(ACTION_ASSUME_ROLE), 0, "{run}");
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn alicloud_variables_are_fallbacks_for_the_alibaba_cloud_ones() {
    let fake = cloud();
    let sts = fake.add_sts_key(
        "STS.alicloudKey01",
        "alicloud-secret-01",
        "alicloud-token+01/=",
    );
    let preferred = fake.add_access_key("LTAIpreferred01", "preferred-secret-01");

    let run = plugin(&fake)
        .env("ALICLOUD_ACCESS_KEY", "STS.alicloudKey01")
        .env("ALICLOUD_SECRET_KEY", "alicloud-secret-01")
        .env("ALICLOUD_SECURITY_TOKEN", "alicloud-token+01/=")
        .arg("-v")
        .run_ok();
    assert_cn(&run, &sts, "the ALICLOUD_* STS key");
    let record = fake.last_request().unwrap();
    assert_eq!(
        record.header("x-acs-security-token"),
        Some("alicloud-token+01/="),
        "ALICLOUD_SECURITY_TOKEN must be sent\n{run}"
    );
    assert_no_secrets(&run, &fake, &[]);

    // Both sets: ALIBABA_CLOUD_* win.
    let run = plugin(&fake)
        .env("ALICLOUD_ACCESS_KEY", "STS.alicloudKey01")
        .env("ALICLOUD_SECRET_KEY", "alicloud-secret-01")
        .env("ALICLOUD_SECURITY_TOKEN", "alicloud-token+01/=")
        .access_key("LTAIpreferred01", "preferred-secret-01")
        .run_ok();
    assert_cn(&run, &preferred, "the ALIBABA_CLOUD_* key");
}

// ---------------------------------------------------------------------------------------------
// Step 2: RRSA (OIDC) from the environment
// ---------------------------------------------------------------------------------------------

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

#[test]
fn rrsa_environment_assumes_the_role_with_the_oidc_token_unsigned() {
    let fake = cloud();
    let (plugin, role, arn, _) = rrsa(&fake, "eyJhbGciOiJSUzI1NiJ9.rrsa-token-one.sig");
    let plugin = plugin.env("ALIBABA_CLOUD_ROLE_SESSION_NAME", "my-pod-session");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the RRSA role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleArn"), Some(arn.as_str()), "{run}");
    assert_eq!(
        record.form_param("OIDCProviderArn"),
        Some(OIDC_PROVIDER),
        "{run}"
    );
    assert_eq!(
        record.form_param("OIDCToken"),
        Some("eyJhbGciOiJSUzI1NiJ9.rrsa-token-one.sig"),
        "{run}"
    );
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some("my-pod-session"),
        "{run}"
    );
    for unsigned in ["AccessKeyId", "Signature", "SecurityToken"] {
        assert_eq!(
            record.param(unsigned),
            None,
            "AssumeRoleWithOIDC is unsigned: no {unsigned}\n{run}"
        );
    }
    assert_eq!(record.outcome, Outcome::Granted, "{run}");
    assert_names_source(&run, &[&arn]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn rrsa_token_file_is_read_afresh_on_every_refresh() {
    let fake = cloud();
    let (plugin, role, _, token_file) = rrsa(&fake, "jwt-generation-1");
    let first = plugin.run_ok();
    assert_cn(&first, &role, "the RRSA role");

    // The kubelet rotates the projected token; the provider does not accept it (yet).
    fs::write(&token_file, "jwt-generation-2").unwrap();
    let refresh = plugin.clone().arg("--force-refresh").run();
    let oidc = fake.requests_for(ACTION_ASSUME_ROLE_WITH_OIDC);
    assert_eq!(oidc.len(), 2, "{refresh}");
    assert_eq!(
        oidc[1].form_param("OIDCToken"),
        Some("jwt-generation-2"),
        "the token file must be read again\n{refresh}"
    );
    assert_eq!(
        oidc[1].outcome,
        Outcome::Rejected("AuthenticationFail.OIDCToken.Invalid".into()),
        "{refresh}"
    );
    assert_mentions(
        &refresh,
        &["AuthenticationFail.OIDCToken.Invalid"],
        "a refused OIDC token",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 1, &refresh);

    // Now the provider accepts the new token: the next forced refresh gets a new certificate.
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-generation-2");
    let run = plugin.clone().arg("--force-refresh").run_ok();
    assert_cn(&run, &role, "the RRSA role");
    let oidc = fake.requests_for(ACTION_ASSUME_ROLE_WITH_OIDC);
    assert_eq!(oidc.len(), 3, "{run}");
    assert_eq!(oidc[2].form_param("OIDCToken"), Some("jwt-generation-2"));
    assert_eq!(oidc[2].outcome, Outcome::Granted, "{run}");
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &run);
}

#[test]
fn rrsa_beats_the_cli_profile() {
    let fake = cloud();
    fake.add_access_key("LTAIprofileKey01", "profile-secret-01");
    let (plugin, role, _, _) = rrsa(&fake, "jwt-rrsa-wins");
    write_cli_config(
        &plugin,
        "default",
        vec![cli_profile(
            "default",
            "AK",
            json!({"access_key_id": "LTAIprofileKey01", "access_key_secret": "profile-secret-01"}),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the RRSA role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, 1, &run);
}

// ---------------------------------------------------------------------------------------------
// Step 3: the aliyun CLI config, every mode
// ---------------------------------------------------------------------------------------------

#[test]
fn cli_ak_profile_is_used() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIcliAk000001", "cli-ak-secret-01");
    let plugin = plugin(&fake).secret("cli-ak-secret-01");
    write_cli_config(
        &plugin,
        "work",
        vec![cli_profile(
            "work",
            "AK",
            json!({
                "access_key_id": "LTAIcliAk000001",
                "access_key_secret": "cli-ak-secret-01",
                "region_id": "cn-hangzhou",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the AK profile's key");
    assert_names_source(&run, &["work"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_sts_token_profile_sends_its_token() {
    let fake = cloud();
    let me = fake.add_sts_key(
        "STS.cliToken0001",
        "cli-sts-secret-01",
        "cli-sts-token+01/=",
    );
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "temp",
        vec![cli_profile(
            "temp",
            "StsToken",
            json!({
                "access_key_id": "STS.cliToken0001",
                "access_key_secret": "cli-sts-secret-01",
                "sts_token": "cli-sts-token+01/=",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the StsToken profile's key");
    assert_eq!(
        fake.last_request().unwrap().header("x-acs-security-token"),
        Some("cli-sts-token+01/="),
        "{run}"
    );
    assert_names_source(&run, &["temp"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_ram_role_arn_profile_assumes_the_role_with_its_parameters() {
    let fake = cloud();
    let user = fake.add_access_key("LTAIroleSource01", "role-source-secret-01");
    let arn = role_arn("ack-developer");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let policy =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cs:Get*","Resource":"*"}]}"#;
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIroleSource01",
                "access_key_secret": "role-source-secret-01",
                "ram_role_arn": arn,
                "ram_session_name": "alice.dev",
                "expired_seconds": 1800,
                "external_id": "ext-id-42",
                "policy": policy,
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the assumed role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.outcome, Outcome::Granted, "{run}");
    assert_eq!(record.form_param("AccessKeyId"), Some("LTAIroleSource01"));
    assert_eq!(record.form_param("SignatureMethod"), Some("HMAC-SHA1"));
    assert_eq!(record.form_param("SignatureVersion"), Some("1.0"));
    assert_eq!(record.param("SecurityToken"), None, "{run}");
    let grant = fake.grants().remove(0);
    assert_eq!(grant.role, arn);
    assert_eq!(
        grant.role_session_name.as_deref(),
        Some("alice.dev"),
        "{run}"
    );
    assert_eq!(grant.duration_seconds, Some(1800), "{run}");
    assert_eq!(grant.external_id.as_deref(), Some("ext-id-42"), "{run}");
    assert_eq!(grant.policy.as_deref(), Some(policy), "{run}");
    // The certificate was fetched with the role's STS key, token included.
    let cs = only(&fake, ACTION_USER_CONFIG, &run);
    assert_eq!(cs.access_key_id.as_deref(), Some(grant.key.id.as_str()));
    assert_names_source(&run, &["dev", "RamRoleArn"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_ram_role_arn_profile_defaults_to_an_hour_and_the_plugin_session_name() {
    let fake = cloud();
    fake.add_access_key("LTAIroleSource02", "role-source-secret-02");
    let arn = role_arn("ack-viewer");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "viewer",
        vec![cli_profile(
            "viewer",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIroleSource02",
                "access_key_secret": "role-source-secret-02",
                "ram_role_arn": arn,
                "expired_seconds": 0,
            }),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the assumed role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.form_param("DurationSeconds"),
        Some("3600"),
        "expired_seconds 0 means 3600\n{run}"
    );
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.param("ExternalId"), None, "{run}");
    assert_eq!(record.param("Policy"), None, "{run}");
}

#[test]
fn cli_chainable_ram_role_arn_profile_assumes_two_roles_in_a_row() {
    let fake = cloud();
    let user = fake.add_access_key("LTAIchainBase01", "chain-base-secret-01");
    let first_arn = role_arn("hop-one");
    let second_arn = role_arn("hop-two");
    let first = fake.add_role(&first_arn);
    let second = fake.add_role(&second_arn);
    fake.allow_assume(&first_arn, &user);
    fake.allow_assume(&second_arn, &first);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "base",
        vec![
            cli_profile(
                "base",
                "AK",
                json!({"access_key_id": "LTAIchainBase01", "access_key_secret": "chain-base-secret-01"}),
            ),
            cli_profile(
                "hop1",
                "ChainableRamRoleArn",
                json!({"source_profile": "base", "ram_role_arn": first_arn, "ram_session_name": "hop1"}),
            ),
            cli_profile(
                "hop2",
                "ChainableRamRoleArn",
                json!({"source_profile": "hop1", "ram_role_arn": second_arn, "ram_session_name": "hop2"}),
            ),
        ],
    );
    let plugin = plugin.args(["--profile", "hop2"]);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &second, "the second role of the chain");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 2, "{run}");
    assert_eq!(assumed[0].form_param("RoleArn"), Some(first_arn.as_str()));
    assert_eq!(assumed[0].access_key_id.as_deref(), Some("LTAIchainBase01"));
    assert_eq!(assumed[1].form_param("RoleArn"), Some(second_arn.as_str()));
    let grants = fake.grants();
    assert_eq!(
        assumed[1].access_key_id.as_deref(),
        Some(grants[0].key.id.as_str()),
        "the second AssumeRole must be signed with the first role's STS key\n{run}"
    );
    assert_eq!(
        assumed[1].form_param("SecurityToken"),
        grants[0].key.security_token.as_deref(),
        "{run}"
    );
    assert!(
        assumed.iter().all(|r| r.outcome == Outcome::Granted),
        "{run}"
    );
    assert_names_source(&run, &["hop2"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_ecs_ram_role_profile_uses_the_named_role() {
    let fake = cloud();
    let role = fake.set_ecs_role("node-role");
    let plugin = ecs_plugin(&fake);
    write_cli_config(
        &plugin,
        "ecs",
        vec![cli_profile(
            "ecs",
            "EcsRamRole",
            json!({"ram_role_name": "node-role"}),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
    assert_eq!(
        credentials.path,
        "/latest/meta-data/ram/security-credentials/node-role"
    );
    assert_names_source(&run, &["ecs"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_oidc_profile_assumes_the_role_with_the_token_file() {
    let fake = cloud();
    let arn = role_arn("oidc-cli-role");
    let role = fake.add_role(&arn);
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-from-cli-profile");
    let plugin = plugin(&fake);
    let token_file = plugin.write_home_file("tokens/oidc", "jwt-from-cli-profile");
    write_cli_config(
        &plugin,
        "oidc",
        vec![cli_profile(
            "oidc",
            "OIDC",
            json!({
                "ram_role_arn": arn,
                "oidc_provider_arn": OIDC_PROVIDER,
                "oidc_token_file": token_file.display().to_string(),
                "ram_session_name": "cli-oidc",
            }),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the OIDC role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleSessionName"), Some("cli-oidc"));
    assert_eq!(record.param("Signature"), None, "{run}");
    assert_names_source(&run, &["oidc"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn cli_credentials_uri_profile_gets_keys_from_the_uri() {
    let fake = cloud();
    let (uri, principal) = fake.add_credentials_uri("cli-profile");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "uri",
        vec![cli_profile(
            "uri",
            "CredentialsURI",
            json!({"credentials_uri": uri}),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    let record = only(&fake, ACTION_CREDENTIALS_URI, &run);
    assert_eq!(record.method, "GET", "{run}");
    assert_names_source(&run, &["uri"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

/// A process_command that leaves something running in the background with the output pipe
/// open (a credential helper starting its agent, say) must not keep the plugin waiting; and a
/// command that never ends is stopped at the deadline, with whatever it started.
#[test]
fn external_command_background_children_do_not_hold_the_plugin() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIexternalBg01", "external-bg-secret");
    let plugin = plugin(&fake)
        .env("PATH", "/usr/bin:/bin")
        .env("ACK_API_TIMEOUT", "4");
    let json = json!({
        "mode": "AK",
        "access_key_id": "LTAIexternalBg01",
        "access_key_secret": "external-bg-secret",
    });
    let script = plugin.write_home_file(
        "bin/with-agent",
        &format!("#!/bin/sh\nsleep 30 &\nprintf '%s\\n' '{json}'\n"),
    );
    let hangs = plugin.write_home_file("bin/hangs", "#!/bin/sh\nsleep 30 &\nsleep 30\n");
    use std::os::unix::fs::PermissionsExt;
    for path in [&script, &hangs] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    write_cli_config(
        &plugin,
        "bg",
        vec![
            cli_profile(
                "bg",
                "External",
                json!({"process_command": script.display().to_string()}),
            ),
            cli_profile(
                "hang",
                "External",
                json!({"process_command": hangs.display().to_string()}),
            ),
        ],
    );

    let run = plugin.clone().run_ok();
    assert_cn(&run, &me, "the External command's key");
    assert!(
        run.elapsed < Duration::from_secs(4),
        "waited for the background child: {:?}\n{run}",
        run.elapsed
    );

    let run = plugin.clone().args(["--profile", "hang"]).run();
    assert!(!run.status.success(), "{run}");
    assert!(run.stderr.contains("did not finish"), "{run}");
    assert!(
        run.elapsed < Duration::from_secs(10),
        "{:?}\n{run}",
        run.elapsed
    );
}

#[test]
fn cli_external_profile_runs_the_process_command_once() {
    let fake = cloud();
    let me = fake.add_sts_key(
        "STS.externalKey01",
        "external-secret-01",
        "external-token+01/=",
    );
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let counter = plugin.home().join("external-runs.log");
    let script = external_script(
        &plugin,
        "bin/credential-process",
        &json!({
            "mode": "StsToken",
            "access_key_id": "STS.externalKey01",
            "access_key_secret": "external-secret-01",
            "sts_token": "external-token+01/=",
        }),
        &counter,
    );
    write_cli_config(
        &plugin,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the External command's key");
    assert_eq!(lines(&counter), 1, "the command runs once\n{run}");
    assert_eq!(
        fake.last_request().unwrap().header("x-acs-security-token"),
        Some("external-token+01/="),
        "{run}"
    );
    assert_names_source(&run, &["ext", "External"]);
    assert_no_secrets(&run, &fake, &[]);
    // A cache hit neither calls out nor runs the command.
    assert_cache_hit(&plugin, &fake, &run);
    assert_eq!(
        lines(&counter),
        1,
        "a cache hit must not run the External command"
    );
}

#[test]
fn cli_profile_without_mode_is_inferred_as_ak_from_its_fields() {
    let fake = cloud();
    let me = fake.add_access_key("LTAInoMode00001", "no-mode-secret-01");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "legacy",
        vec![cli_profile(
            "legacy",
            "",
            json!({"access_key_id": "LTAInoMode00001", "access_key_secret": "no-mode-secret-01"}),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the profile's key");
}

#[test]
fn cli_profile_without_mode_but_with_a_role_is_inferred_as_ram_role_arn() {
    let fake = cloud();
    fake.add_access_key("LTAInoMode00002", "no-mode-secret-02");
    let arn = role_arn("inferred-role");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "legacy",
        vec![cli_profile(
            "legacy",
            "",
            json!({
                "access_key_id": "LTAInoMode00002",
                "access_key_secret": "no-mode-secret-02",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the inferred role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &run);
}

// ---------------------------------------------------------------------------------------------
// Step 4: the INI credentials file, every type
// ---------------------------------------------------------------------------------------------

#[test]
fn ini_access_key_is_used() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIiniKey00001", "ini-secret-01");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "[default]\ntype = access_key\naccess_key_id = LTAIiniKey00001\naccess_key_secret = ini-secret-01\n",
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &me, "the INI key");
    assert_names_source(&run, &[".alibabacloud/credentials"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_ecs_ram_role_uses_the_named_role() {
    let fake = cloud();
    let role = fake.set_ecs_role("ini-node-role");
    let plugin = ecs_plugin(&fake);
    write_ini(
        &plugin,
        "[default]\ntype = ecs_ram_role\nrole_name = ini-node-role\n",
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 1, &run);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_ram_role_arn_assumes_the_role() {
    let fake = cloud();
    let user = fake.add_access_key("LTAIiniRole0001", "ini-role-secret-01");
    let arn = role_arn("ini-role");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let plugin = plugin(&fake);
    let policy = r#"{"Version":"1","Statement":[]}"#;
    write_ini(
        &plugin,
        &format!(
            "[default]\ntype = ram_role_arn\naccess_key_id = LTAIiniRole0001\naccess_key_secret = ini-role-secret-01\nrole_arn = {arn}\nrole_session_name = ini-session\npolicy = {policy}\n"
        ),
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the INI role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.form_param("RoleSessionName"), Some("ini-session"));
    assert_eq!(record.form_param("Policy"), Some(policy), "{run}");
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_oidc_role_arn_assumes_the_role_with_the_token_file() {
    let fake = cloud();
    let arn = role_arn("ini-oidc-role");
    let role = fake.add_role(&arn);
    fake.add_oidc_provider(OIDC_PROVIDER, "jwt-from-ini");
    let plugin = plugin(&fake);
    let token_file = plugin.write_home_file("tokens/ini-oidc", "jwt-from-ini");
    write_ini(
        &plugin,
        &format!(
            "[default]\ntype = oidc_role_arn\nrole_arn = {arn}\noidc_provider_arn = {OIDC_PROVIDER}\noidc_token_file_path = {}\nrole_session_name = ini-oidc\n",
            token_file.display()
        ),
    );

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the INI OIDC role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_eq!(record.form_param("OIDCToken"), Some("jwt-from-ini"));
    assert_eq!(record.form_param("RoleSessionName"), Some("ini-oidc"));
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ini_file_and_section_come_from_the_environment() {
    let fake = cloud();
    fake.add_access_key("LTAIiniDefault1", "ini-default-secret");
    let team = fake.add_access_key("LTAIiniTeam0001", "ini-team-secret");
    let plugin = plugin(&fake);
    let path = plugin.write_home_file(
        "elsewhere/alibaba.ini",
        "[default]\ntype = access_key\naccess_key_id = LTAIiniDefault1\naccess_key_secret = ini-default-secret\n\n\
         [team]\ntype = access_key\naccess_key_id = LTAIiniTeam0001\naccess_key_secret = ini-team-secret\n",
    );

    let run = plugin
        .env("ALIBABA_CLOUD_CREDENTIALS_FILE", path.display().to_string())
        .env("ALIBABA_CLOUD_PROFILE", "team")
        .run_ok();

    assert_cn(&run, &team, "the [team] section's key");
}

#[test]
fn cli_profile_beats_the_ini_file() {
    let fake = cloud();
    let cli = fake.add_access_key("LTAIcliWins0001", "cli-wins-secret");
    fake.add_access_key("LTAIiniLoses001", "ini-loses-secret");
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "default",
        vec![cli_profile(
            "default",
            "AK",
            json!({"access_key_id": "LTAIcliWins0001", "access_key_secret": "cli-wins-secret"}),
        )],
    );
    write_ini(
        &plugin,
        "[default]\ntype = access_key\naccess_key_id = LTAIiniLoses001\naccess_key_secret = ini-loses-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &cli, "the CLI profile's key");
}

// ---------------------------------------------------------------------------------------------
// Step 5: the ECS metadata service
// ---------------------------------------------------------------------------------------------

#[test]
fn ecs_role_with_imds_v2_required_uses_a_token_throughout() {
    let fake = cloud();
    let role = fake.set_ecs_role("attached-role");
    fake.require_imds_v2(true);
    let plugin = ecs_plugin(&fake);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the attached ECS role");
    let token = only(&fake, ACTION_IMDS_TOKEN, &run);
    assert_eq!(token.method, "PUT", "{run}");
    assert_eq!(token.header(IMDS_TOKEN_TTL_HEADER), Some("21600"), "{run}");
    let discovery = only(&fake, ACTION_IMDS_ROLE_NAME, &run);
    let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
    for record in [&discovery, &credentials] {
        assert!(
            record.header(IMDS_TOKEN_HEADER).is_some(),
            "metadata GETs must carry the token\n{run}"
        );
        assert_eq!(record.status, Some(200), "{run}");
    }
    assert_eq!(
        credentials.path,
        "/latest/meta-data/ram/security-credentials/attached-role"
    );
    assert_names_source(&run, &["attached-role"]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn ecs_falls_back_to_v1_when_the_token_put_fails() {
    for status in [404, 403] {
        let fake = cloud();
        let role = fake.set_ecs_role("v1-role");
        fake.disable_imds_token(status);
        let plugin = ecs_plugin(&fake);

        let run = plugin.run_ok();

        assert_cn(&run, &role, "the ECS role (IMDSv1)");
        assert_action_count(&fake, ACTION_IMDS_TOKEN, 1, &run);
        let credentials = only(&fake, ACTION_IMDS_CREDENTIALS, &run);
        assert_eq!(
            credentials.header(IMDS_TOKEN_HEADER),
            None,
            "token PUT answered {status}: no token to send\n{run}"
        );
    }
}

#[test]
fn ecs_v1_fallback_is_refused_when_imdsv1_is_disabled() {
    let fake = cloud();
    fake.set_ecs_role("v1-role");
    fake.disable_imds_token(404);
    let plugin = ecs_plugin(&fake)
        .env("ALIBABA_CLOUD_IMDSV1_DISABLED", "true")
        .env("ALIBABA_CLOUD_ECS_METADATA", "v1-role")
        .env("ACK_API_TIMEOUT", "5");

    let run = plugin.run_err();

    assert_action_count(&fake, ACTION_IMDS_TOKEN, 1, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
    assert_mentions_any(&run, &["imdsv1", "imdsv2"], "IMDSv1 refused");
}

#[test]
fn ecs_metadata_variable_names_the_role_without_discovery() {
    let fake = cloud();
    let role = fake.set_ecs_role("named-role");
    let plugin = ecs_plugin(&fake).env("ALIBABA_CLOUD_ECS_METADATA", "named-role");

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the named ECS role");
    assert_action_count(&fake, ACTION_IMDS_ROLE_NAME, 0, &run);
    assert_action_count(&fake, ACTION_IMDS_CREDENTIALS, 1, &run);
    assert_names_source(&run, &["named-role"]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn named_ecs_role_beats_the_credentials_uri() {
    let fake = cloud();
    let role = fake.set_ecs_role("named-role");
    let (uri, _) = fake.add_credentials_uri("loses");
    let plugin = ecs_plugin(&fake)
        .env("ALIBABA_CLOUD_ECS_METADATA", "named-role")
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", uri);

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the named ECS role");
    assert_action_count(&fake, ACTION_CREDENTIALS_URI, 0, &run);
}

#[test]
fn credentials_uri_beats_ecs_role_discovery() {
    let fake = cloud();
    fake.set_ecs_role("discoverable-role");
    let (uri, principal) = fake.add_credentials_uri("wins");
    let plugin = ecs_plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", uri);

    let run = plugin.run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    assert!(
        fake.requests_to(Service::ECS_METADATA).is_empty(),
        "a configured credentials URI is chosen without probing the metadata service\n{run}"
    );
}

// ---------------------------------------------------------------------------------------------
// Step 6: ALIBABA_CLOUD_CREDENTIALS_URI
// ---------------------------------------------------------------------------------------------

#[test]
fn credentials_uri_from_the_environment() {
    let fake = cloud();
    let (uri, principal) = fake.add_credentials_uri("env");
    let plugin = plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri);

    let run = plugin.clone().arg("-v").run_ok();

    assert_cn(&run, &principal, "the credentials URI's principal");
    let cs = only(&fake, ACTION_USER_CONFIG, &run);
    assert_eq!(
        cs.access_key_id.as_deref(),
        Some(fake.grants()[0].key.id.as_str())
    );
    assert_names_source(&run, &[&uri]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&plugin, &fake, &run);
}

#[test]
fn credentials_uri_answering_without_success_is_a_clear_error() {
    let fake = cloud();
    let uri = fake.add_failing_credentials_uri("broken", "CredentialsServerUnavailable");
    let plugin = plugin(&fake).env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri);

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_mentions(
        &run,
        &[&uri, "CredentialsServerUnavailable"],
        "a failing credentials URI",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

// ---------------------------------------------------------------------------------------------
// --role-arn
// ---------------------------------------------------------------------------------------------

#[test]
fn role_arn_flag_assumes_the_role_on_top_of_environment_keys() {
    let fake = cloud();
    let user = fake.add_access_key("LTAIflagSource1", "flag-source-secret");
    let arn = role_arn("flag-role");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &user);
    let base = plugin(&fake).access_key("LTAIflagSource1", "flag-source-secret");
    let with_role = base.clone().args(["--role-arn", arn.as_str()]);

    let run = with_role.clone().arg("-v").run_ok();

    assert_cn(&run, &role, "the --role-arn role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_sts_form_post(&record, &run);
    assert_eq!(record.access_key_id.as_deref(), Some("LTAIflagSource1"));
    assert_eq!(record.form_param("RoleArn"), Some(arn.as_str()));
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.form_param("DurationSeconds"), Some("3600"), "{run}");
    assert_names_source(&run, &[&arn]);
    assert_no_secrets(&run, &fake, &[]);
    assert_cache_hit(&with_role, &fake, &run);

    // Without the flag, the same keys are another identity: another cache entry, the user's CN.
    let plain = base.run_ok();
    assert_cn(&plain, &user, "the environment key");
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &plain);
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &plain);
}

#[test]
fn role_arn_flag_on_top_of_a_role_profile_chains_the_roles() {
    let fake = cloud();
    let user = fake.add_access_key("LTAIflagChain01", "flag-chain-secret");
    let profile_arn = role_arn("profile-role");
    let flag_arn = role_arn("flag-on-top");
    let profile_role = fake.add_role(&profile_arn);
    let flag_role = fake.add_role(&flag_arn);
    fake.allow_assume(&profile_arn, &user);
    fake.allow_assume(&flag_arn, &profile_role);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIflagChain01",
                "access_key_secret": "flag-chain-secret",
                "ram_role_arn": profile_arn,
            }),
        )],
    );

    let run = plugin.args(["--role-arn", flag_arn.as_str()]).run_ok();

    assert_cn(&run, &flag_role, "the --role-arn role");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 2, "{run}");
    assert_eq!(
        assumed[1].access_key_id.as_deref(),
        Some(fake.grants()[0].key.id.as_str()),
        "--role-arn is assumed with the profile role's STS key\n{run}"
    );
}

#[test]
fn malformed_role_arn_is_a_usage_error_before_any_request() {
    let fake = cloud();
    fake.add_access_key("LTAIflagBad0001", "flag-bad-secret");
    let plugin = plugin(&fake)
        .access_key("LTAIflagBad0001", "flag-bad-secret")
        .args(["--role-arn", "arn:aws:iam::123456789012:role/nope"]);

    let run = plugin.run_exit(2);

    assert_eq!(fake.count(), 0, "{run}");
    assert_mentions(&run, &["--role-arn"], "a malformed --role-arn");
}

// ---------------------------------------------------------------------------------------------
// Precedence
// ---------------------------------------------------------------------------------------------

/// Three AK profiles `alpha`, `beta`, `gamma` (current: `gamma`), each with its own key.
fn three_profiles<'a>(fake: &'a FakeCloud) -> (Plugin<'a>, [Principal; 3]) {
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

#[test]
fn environment_beats_the_cli_profile() {
    let fake = cloud();
    let (plugin, _) = three_profiles(&fake);
    let env = fake.add_access_key("LTAIenvWins0001", "env-wins-secret");

    let run = plugin
        .access_key("LTAIenvWins0001", "env-wins-secret")
        .run_ok();

    assert_cn(&run, &env, "the environment key");
}

#[test]
fn profile_flag_beats_alibaba_cloud_profile_beats_current() {
    let fake = cloud();
    let (plugin, [alpha, beta, gamma]) = three_profiles(&fake);

    let run = plugin.clone().run_ok();
    assert_cn(&run, &gamma, "the current profile");

    let run = plugin.clone().env("ALIBABA_CLOUD_PROFILE", "beta").run_ok();
    assert_cn(&run, &beta, "the ALIBABA_CLOUD_PROFILE profile");

    let run = plugin
        .clone()
        .env("ALIBABA_CLOUD_PROFILE", "beta")
        .args(["--profile", "alpha"])
        .run_ok();
    assert_cn(&run, &alpha, "the --profile profile");
}

#[test]
fn profile_flag_forces_the_profile_even_with_environment_keys() {
    let fake = cloud();
    let (plugin, [alpha, _, _]) = three_profiles(&fake);
    fake.add_access_key("LTAIenvIgnored1", "env-ignored-secret");

    let run = plugin
        .access_key("LTAIenvIgnored1", "env-ignored-secret")
        .args(["--profile", "alpha", "-v"])
        .run_ok();

    assert_cn(&run, &alpha, "the --profile profile");
    assert_names_source(&run, &["alpha"]);
}

// ---------------------------------------------------------------------------------------------
// Endpoints (nothing leaves the machine: a dead local proxy takes every outgoing request)
// ---------------------------------------------------------------------------------------------

#[test]
fn profile_region_picks_the_cs_endpoint_unless_a_region_is_set() {
    let fake = cloud();
    fake.add_access_key("LTAIregion00001", "region-secret-01");
    let base = offline(plugin(&fake).env_remove("ACK_CS_ENDPOINT").arg("-v"));
    write_cli_config(
        &base,
        "sz",
        vec![cli_profile(
            "sz",
            "AK",
            json!({
                "access_key_id": "LTAIregion00001",
                "access_key_secret": "region-secret-01",
                "region_id": "cn-shenzhen",
            }),
        )],
    );

    let run = base.clone().run_err();
    assert_mentions(
        &run,
        &["https://cs.cn-shenzhen.aliyuncs.com"],
        "the profile's region_id picks the cs endpoint",
    );

    let run = base
        .clone()
        .env("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
        .run_err();
    assert_mentions(
        &run,
        &["https://cs.cn-beijing.aliyuncs.com"],
        "ALIBABA_CLOUD_REGION_ID beats the profile's region_id",
    );

    let run = base.clone().env("ALICLOUD_REGION", "cn-chengdu").run_err();
    assert_mentions(
        &run,
        &["https://cs.cn-chengdu.aliyuncs.com"],
        "ALICLOUD_REGION is a fallback for ALIBABA_CLOUD_REGION_ID",
    );

    let run = base.args(["--region", "cn-qingdao"]).run_err();
    assert_mentions(
        &run,
        &["https://cs.cn-qingdao.aliyuncs.com"],
        "--region beats the profile's region_id",
    );
    assert_eq!(fake.count(), 0, "{run}");
    assert_no_secrets(&run, &fake, &[]);
}

#[test]
fn sts_endpoint_follows_sts_region_vpc_and_profile_sts_region() {
    let fake = cloud();
    fake.add_access_key("LTAIstsEndpoint", "sts-endpoint-secret");
    let arn = role_arn("endpoint-role");
    let role = fake.add_role(&arn);
    let with_sts_region = |sts_region: &str| {
        cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIstsEndpoint",
                "access_key_secret": "sts-endpoint-secret",
                "ram_role_arn": arn,
                "sts_region": sts_region,
            }),
        )
    };
    let base = offline(plugin(&fake).env_remove("ACK_STS_ENDPOINT").arg("-v"));

    write_cli_config(&base, "dev", vec![with_sts_region("")]);
    let run = base.clone().run_err();
    assert_mentions(
        &run,
        &["https://sts.aliyuncs.com"],
        "the default STS endpoint",
    );

    let run = base
        .clone()
        .env("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou")
        .run_err();
    assert_mentions(
        &run,
        &["https://sts.cn-hangzhou.aliyuncs.com"],
        "ALIBABA_CLOUD_STS_REGION",
    );

    let run = base
        .clone()
        .env("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou")
        .env("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true")
        .run_err();
    assert_mentions(
        &run,
        &["https://sts-vpc.cn-hangzhou.aliyuncs.com"],
        "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
    );

    write_cli_config(&base, "dev", vec![with_sts_region("cn-shanghai")]);
    let run = base.clone().run_err();
    assert_mentions(
        &run,
        &["https://sts.cn-shanghai.aliyuncs.com"],
        "the profile's sts_region",
    );
    assert_eq!(fake.count(), 0, "{run}");

    // --sts-endpoint reaches the fake (loopback http is allowed).
    let run = plugin(&fake)
        .env_remove("ACK_STS_ENDPOINT")
        .args(["--sts-endpoint", fake.sts_endpoint().as_str()])
        .env(
            "ALIBABA_CLOUD_CONFIG_FILE",
            base.home()
                .join(".aliyun/config.json")
                .display()
                .to_string(),
        )
        .run_ok();
    assert_cn(&run, &role, "the role, through --sts-endpoint");
}

// ---------------------------------------------------------------------------------------------
// The cache: a hit makes no request of any kind
// ---------------------------------------------------------------------------------------------

#[test]
fn cache_hit_with_a_role_profile_makes_no_request_and_force_refresh_assumes_again() {
    let fake = cloud();
    fake.add_access_key("LTAIcacheRole01", "cache-role-secret");
    let arn = role_arn("cached-role");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "dev",
        vec![cli_profile(
            "dev",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIcacheRole01",
                "access_key_secret": "cache-role-secret",
                "ram_role_arn": arn,
            }),
        )],
    );

    let first = plugin.run_ok();
    assert_cn(&first, &role, "the role");
    assert_eq!(fake.count(), 2, "one AssumeRole, one cs call\n{first}");
    for _ in 0..3 {
        assert_cache_hit(&plugin, &fake, &first);
    }
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 1, &first);

    let refreshed = plugin.clone().arg("--force-refresh").run_ok();
    assert_cn(&refreshed, &role, "the role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 2, &refreshed);
    assert_action_count(&fake, ACTION_USER_CONFIG, 2, &refreshed);
}

#[test]
fn cache_hit_with_an_external_profile_does_not_run_the_command() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIexternalAk1", "external-ak-secret");
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let counter = plugin.home().join("runs.log");
    let script = external_script(
        &plugin,
        "credential-process.sh",
        &json!({
            "mode": "AK",
            "access_key_id": "LTAIexternalAk1",
            "access_key_secret": "external-ak-secret",
        }),
        &counter,
    );
    write_cli_config(
        &plugin,
        "ext",
        vec![cli_profile(
            "ext",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );

    let first = plugin.run_ok();
    assert_cn(&first, &me, "the External command's key");
    for _ in 0..3 {
        assert_cache_hit(&plugin, &fake, &first);
    }
    assert_eq!(
        lines(&counter),
        1,
        "the External command ran on a cache hit\n{first}"
    );
}

// ---------------------------------------------------------------------------------------------
// STS failures and retries
// ---------------------------------------------------------------------------------------------

#[test]
fn sts_5xx_and_throttling_are_retried_with_fresh_nonces() {
    let fake = cloud();
    fake.add_access_key("LTAIretryRole01", "retry-role-secret");
    let arn = role_arn("retried-role");
    let role = fake.add_role(&arn);
    fake.fail_next_on(Service::STS, 1, Fault::ServiceUnavailable);
    fake.fail_next_on(Service::STS, 1, Fault::Throttling { time_left_ms: 200 });
    let plugin = plugin(&fake)
        .access_key("LTAIretryRole01", "retry-role-secret")
        .args(["--role-arn", arn.as_str()]);

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the role");
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    assert_eq!(assumed.len(), 3, "{run}");
    let mut nonces: Vec<_> = assumed.iter().filter_map(|r| r.nonce()).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "every attempt needs a fresh nonce\n{run}");
    assert_action_count(&fake, ACTION_USER_CONFIG, 1, &run);
}

#[test]
fn assume_role_refused_names_the_profile_and_the_sts_error() {
    let fake = cloud();
    fake.add_access_key("LTAIrefused0001", "refused-secret-01");
    let someone_else = fake.add_access_key("LTAIallowed0001", "allowed-secret-01");
    let arn = role_arn("locked-role");
    fake.add_role(&arn);
    fake.allow_assume(&arn, &someone_else);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "locked",
        vec![cli_profile(
            "locked",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIrefused0001",
                "access_key_secret": "refused-secret-01",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.arg("-v").run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.outcome,
        Outcome::Rejected("NoPermission".into()),
        "{run}"
    );
    assert_mentions(
        &run,
        &["locked", "NoPermission", &record.request_id],
        "a refused AssumeRole",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
    assert_no_secrets(&run, &fake, &[]);
}

#[test]
fn wrong_secret_in_a_role_profile_reports_the_signature_mismatch_without_the_secret() {
    let fake = cloud();
    fake.add_access_key("LTAIwrongSecret", "the-right-secret-01");
    let arn = role_arn("some-role");
    fake.add_role(&arn);
    let plugin = plugin(&fake).secret("a-wrong-secret-0001");
    write_cli_config(
        &plugin,
        "typo",
        vec![cli_profile(
            "typo",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIwrongSecret",
                "access_key_secret": "a-wrong-secret-0001",
                "ram_role_arn": arn,
            }),
        )],
    );

    let run = plugin.arg("-v").run_err();

    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.outcome,
        Outcome::Rejected("SignatureDoesNotMatch".into()),
        "{run}"
    );
    assert_mentions(
        &run,
        &["typo", "SignatureDoesNotMatch", &record.request_id],
        "a signature mismatch at STS",
    );
    assert_no_secrets(&run, &fake, &["a-wrong-secret-0001"]);
}

// ---------------------------------------------------------------------------------------------
// Broken configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_profile_named_by_the_flag_is_an_error_naming_it_and_the_existing_ones() {
    let fake = cloud();
    let (plugin, _) = three_profiles(&fake);

    let run = plugin.args(["--profile", "staging"]).run_err();

    assert_mentions(
        &run,
        &["staging", "alpha", "beta", "gamma"],
        "an unknown --profile",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn source_profile_cycle_is_an_error_naming_the_cycle() {
    let fake = cloud();
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "loop-alpha",
        vec![
            cli_profile(
                "loop-alpha",
                "ChainableRamRoleArn",
                json!({"source_profile": "loop-beta", "ram_role_arn": role_arn("a")}),
            ),
            cli_profile(
                "loop-beta",
                "ChainableRamRoleArn",
                json!({"source_profile": "loop-alpha", "ram_role_arn": role_arn("b")}),
            ),
        ],
    );

    let run = plugin.run_err();

    assert_mentions(
        &run,
        &["loop-alpha", "loop-beta", "cycl"],
        "a source_profile cycle",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn malformed_config_json_is_a_clear_error() {
    let fake = cloud();
    let plugin = plugin(&fake);
    let path = plugin.write_home_file(
        ".aliyun/config.json",
        "{\"current\": \"default\", \"profiles\": [ {\"name\": \"default\", ",
    );

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_mentions(
        &run,
        &[&path.display().to_string()],
        "a malformed config.json",
    );
    assert_eq!(fake.count(), 0, "{run}");
}

// ---------------------------------------------------------------------------------------------
// No source at all
// ---------------------------------------------------------------------------------------------

/// Everything a "no credentials" message should say it tried.
fn assert_lists_what_was_tried(run: &Run) {
    assert_mentions(
        run,
        &[
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            ".aliyun/config.json",
            ".alibabacloud/credentials",
        ],
        "no credentials",
    );
    assert_mentions_any(
        run,
        &["ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC", "RRSA"],
        "no credentials: RRSA",
    );
    assert_mentions_any(run, &["ECS", "metadata"], "no credentials: ECS");
    assert_mentions(run, &["ALIBABA_CLOUD_CREDENTIALS_URI"], "no credentials");
}

#[test]
fn no_source_lists_what_was_tried() {
    let fake = cloud();

    let run = plugin(&fake).run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_lists_what_was_tried(&run);
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn no_source_with_an_unreachable_metadata_service_fails_fast_and_lists_what_was_tried() {
    let fake = cloud();
    let plugin = plugin(&fake)
        .env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env(
            "ACK_ECS_METADATA_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .kill_after(Duration::from_secs(20));

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_lists_what_was_tried(&run);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "off ECS the metadata probe must fail fast\n{run}"
    );
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn no_attached_ecs_role_lists_what_was_tried() {
    let fake = cloud();
    // A metadata service without a role: discovery answers 404.
    let run = ecs_plugin(&fake).run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_lists_what_was_tried(&run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

// ---------------------------------------------------------------------------------------------
// More of chain.md: edges of the sources and of STS
// ---------------------------------------------------------------------------------------------

#[test]
fn sts_endpoint_flag_must_be_https_unless_loopback() {
    let fake = cloud();
    fake.add_access_key("LTAIstsFlag0001", "sts-flag-secret");
    let arn = role_arn("flag-endpoint-role");
    fake.add_role(&arn);

    let run = plugin(&fake)
        .access_key("LTAIstsFlag0001", "sts-flag-secret")
        .args(["--role-arn", arn.as_str()])
        .args(["--sts-endpoint", "http://sts.aliyuncs.com"])
        .run_exit(2);

    assert_eq!(fake.count(), 0, "{run}");
    assert_mentions(
        &run,
        &["http://sts.aliyuncs.com"],
        "a plain-http STS endpoint",
    );
}

#[test]
fn cli_ram_role_arn_profile_never_asks_for_less_than_900_seconds() {
    let fake = cloud();
    fake.add_access_key("LTAIshortRole01", "short-role-secret");
    let arn = role_arn("short-role");
    let role = fake.add_role(&arn);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "short",
        vec![cli_profile(
            "short",
            "RamRoleArn",
            json!({
                "access_key_id": "LTAIshortRole01",
                "access_key_secret": "short-role-secret",
                "ram_role_arn": arn,
                "expired_seconds": 600,
            }),
        )],
    );

    let run = plugin.run();

    // Either raised to the minimum, or refused locally naming the field: never a 400 from STS.
    let assumed = fake.requests_for(ACTION_ASSUME_ROLE);
    if run.status.success() {
        assert_cn(&run, &role, "the role");
        let asked: u64 = assumed[0]
            .form_param("DurationSeconds")
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        assert!(asked >= 900, "DurationSeconds {asked} < 900\n{run}");
    } else {
        assert!(assumed.is_empty(), "{run}");
        assert_mentions(&run, &["expired_seconds"], "expired_seconds below 900");
    }
}

#[test]
fn cli_chainable_profile_with_an_sts_token_source_signs_with_the_token() {
    let fake = cloud();
    let source = fake.add_sts_key("STS.chainSource1", "chain-sts-secret", "chain-sts-token+/=");
    let arn = role_arn("after-sts");
    let role = fake.add_role(&arn);
    fake.allow_assume(&arn, &source);
    let plugin = plugin(&fake);
    write_cli_config(
        &plugin,
        "chained",
        vec![
            cli_profile(
                "sts",
                "StsToken",
                json!({
                    "access_key_id": "STS.chainSource1",
                    "access_key_secret": "chain-sts-secret",
                    "sts_token": "chain-sts-token+/=",
                }),
            ),
            cli_profile(
                "chained",
                "ChainableRamRoleArn",
                json!({"source_profile": "sts", "ram_role_arn": arn}),
            ),
        ],
    );

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the role");
    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_eq!(
        record.form_param("SecurityToken"),
        Some("chain-sts-token+/="),
        "{run}"
    );
}

#[test]
fn ini_credentials_ini_is_the_fallback_file_name() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIiniDotIni01", "ini-dot-ini-secret");
    let plugin = plugin(&fake);
    plugin.write_home_file(
        ".alibabacloud/credentials.ini",
        "[default]\ntype = access_key\naccess_key_id = LTAIiniDotIni01\naccess_key_secret = ini-dot-ini-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the credentials.ini key");
}

#[test]
fn external_command_failure_is_a_clear_error_naming_the_profile() {
    let fake = cloud();
    let plugin = plugin(&fake).env("PATH", "/usr/bin:/bin");
    let script = plugin.write_home_file(
        "broken-process",
        "#!/bin/sh\necho 'this is not JSON'\necho 'sso session expired' >&2\nexit 3\n",
    );
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    write_cli_config(
        &plugin,
        "ext-broken",
        vec![cli_profile(
            "ext-broken",
            "External",
            json!({"process_command": script.display().to_string()}),
        )],
    );

    let run = plugin.run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_mentions(&run, &["ext-broken"], "a failing External command");
    assert_eq!(fake.count(), 0, "{run}");
}

#[test]
fn unknown_role_is_reported_with_the_sts_code_without_retry() {
    let fake = cloud();
    fake.add_access_key("LTAInoSuchRole1", "no-such-role-secret");
    let arn = role_arn("does-not-exist");

    let run = plugin(&fake)
        .access_key("LTAInoSuchRole1", "no-such-role-secret")
        .args(["--role-arn", arn.as_str()])
        .run_err();

    let record = only(&fake, ACTION_ASSUME_ROLE, &run);
    assert_mentions(
        &run,
        &["EntityNotExist.Role", &arn, &record.request_id],
        "an unknown role",
    );
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn rrsa_defaults_to_the_plugin_session_name_and_an_hour() {
    let fake = cloud();
    let (plugin, role, _, _) = rrsa(&fake, "jwt-defaults");

    let run = plugin.run_ok();

    assert_cn(&run, &role, "the RRSA role");
    let record = only(&fake, ACTION_ASSUME_ROLE_WITH_OIDC, &run);
    assert_eq!(
        record.form_param("RoleSessionName"),
        Some(DEFAULT_SESSION_NAME),
        "{run}"
    );
    assert_eq!(record.form_param("DurationSeconds"), Some("3600"), "{run}");
}

#[test]
fn hanging_metadata_service_fails_fast() {
    let fake = cloud();
    fake.set_ecs_role("never-answers");
    fake.fail_next_on(Service::ECS_METADATA, 20, Fault::Hang);
    let plugin = ecs_plugin(&fake).kill_after(Duration::from_secs(20));

    let run = plugin.run_err();

    assert!(
        run.elapsed < Duration::from_secs(8),
        "a metadata service that does not answer must be given up on in about a second\n{run}"
    );
    assert_lists_what_was_tried(&run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn concurrent_cold_invocations_with_a_role_assume_it_once() {
    let fake = cloud();
    fake.add_access_key("LTAIconcurrent1", "concurrent-secret");
    let arn = role_arn("busy-role");
    let role = fake.add_role(&arn);
    fake.set_latency(Duration::from_millis(300));
    let plugin = plugin(&fake)
        .access_key("LTAIconcurrent1", "concurrent-secret")
        .args(["--role-arn", arn.as_str()]);

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10).map(|_| scope.spawn(|| plugin.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for run in &runs {
        assert!(run.status.success(), "{run}");
        assert_cn(run, &role, "the role");
    }
    assert_eq!(
        fake.count_action(ACTION_ASSUME_ROLE),
        1,
        "10 cold invocations must assume the role once\n{fake:?}"
    );
    assert_eq!(fake.count_action(ACTION_USER_CONFIG), 1, "{fake:?}");
}

#[test]
fn each_role_and_each_source_identity_gets_its_own_cache_entry() {
    let fake = cloud();
    let alice = fake.add_access_key("LTAIcacheAlice1", "cache-alice-secret");
    fake.add_access_key("LTAIcacheBob001", "cache-bob-secret");
    let reader_arn = role_arn("reader");
    let writer_arn = role_arn("writer");
    let reader = fake.add_role(&reader_arn);
    let writer = fake.add_role(&writer_arn);
    let base = plugin(&fake);
    let as_alice = base
        .clone()
        .access_key("LTAIcacheAlice1", "cache-alice-secret");

    let run = as_alice
        .clone()
        .args(["--role-arn", reader_arn.as_str()])
        .run_ok();
    assert_cn(&run, &reader, "the reader role");
    let run = as_alice
        .clone()
        .args(["--role-arn", writer_arn.as_str()])
        .run_ok();
    assert_cn(
        &run,
        &writer,
        "the writer role: a cached reader certificate must not be served",
    );
    let run = as_alice.clone().run_ok();
    assert_cn(&run, &alice, "alice herself");
    assert_action_count(&fake, ACTION_USER_CONFIG, 3, &run);

    // Another source identity assuming the same role: its own entry too.
    let run = base
        .clone()
        .access_key("LTAIcacheBob001", "cache-bob-secret")
        .args(["--role-arn", reader_arn.as_str()])
        .run_ok();
    assert_cn(&run, &reader, "the reader role");
    assert_action_count(&fake, ACTION_ASSUME_ROLE, 3, &run);
    assert_action_count(&fake, ACTION_USER_CONFIG, 4, &run);
    assert_eq!(
        fake.requests_for(ACTION_ASSUME_ROLE)[2]
            .access_key_id
            .as_deref(),
        Some("LTAIcacheBob001"),
        "{run}"
    );
}

#[test]
fn sts_answer_that_is_not_json_fails_cleanly() {
    let fake = cloud();
    fake.add_access_key("LTAIgarbageSts1", "garbage-sts-secret");
    let arn = role_arn("garbage-role");
    fake.add_role(&arn);
    fake.fail_next_on(Service::STS, 10, Fault::BodyNotJson);

    let run = plugin(&fake)
        .access_key("LTAIgarbageSts1", "garbage-sts-secret")
        .args(["--role-arn", arn.as_str()])
        .run_err();

    assert_eq!(run.code(), Some(1), "{run}");
    assert_mentions(&run, &["AssumeRole"], "an STS answer that is not JSON");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert_action_count(&fake, ACTION_USER_CONFIG, 0, &run);
}

#[test]
fn ini_file_with_comments_and_other_sections_is_read() {
    let fake = cloud();
    let me = fake.add_access_key("LTAIiniComment1", "ini-comment-secret");
    let plugin = plugin(&fake);
    write_ini(
        &plugin,
        "; written by hand\n# another comment\n\n[other]\ntype = access_key\naccess_key_id = LTAIother\naccess_key_secret = other\n\n\
         [default]\nenable = true\ntype = access_key\n  access_key_id = LTAIiniComment1  \naccess_key_secret=ini-comment-secret\n",
    );

    let run = plugin.run_ok();

    assert_cn(&run, &me, "the [default] key");
}

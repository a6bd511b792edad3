//! `doctor`: the seven checks against the fake cloud and a real TLS API server, as text (pinned
//! by goldens, with the varying parts masked) and as JSON (parsed). Every run goes through the
//! leak check of [`Plugin::run`], stdout included.
//!
//! - `mod.rs` (this file): the set-up shared by the topics, everything fine, and the contract's
//!   shape (`-o json`, exit codes, `--help`, completions);
//! - `failures.rs`: no credentials, a wrong secret, clock skew, a refused endpoint, a cache
//!   directory with bad permissions, a kubeconfig that runs a missing binary;
//! - `apiserver.rs`: a revoked certificate (and `cache clear` mending it), RBAC's 403,
//!   Kubernetes 1.27 and older, a mesh, a fleet, `tls-server-name` and `proxy-url`;
//! - `endpoints.rs`: a remote endpoint probed through a proxy's tunnel;
//! - `read_only.rs`: doctor changes nothing, and prints no secret, token or key.

mod apiserver;
mod endpoints;
mod failures;
mod read_only;

use serde_json::Value;

use crate::support::apiserver::ApiServer;
use crate::support::fake_cloud::FakeCloud;
use crate::support::golden::{assert_masked, normalise};
use crate::support::{
    CLUSTER, KEY_ID, KEY_SECRET, Plugin, Principal, Run, as_ram_user, cloud_behind_apiserver,
};

/// The check names, in their order.
const NAMES: [&str; 7] = [
    "credentials",
    "identity",
    "clock",
    "endpoints",
    "cache",
    "kubeconfig",
    "apiserver",
];

/// A fake cloud with [`CLUSTER`], whose API server is a TLS server that demands the fake's
/// client certificates (whatever their CN), and the RAM user of [`KEY_ID`]
/// ([`cloud_behind_apiserver`]).
fn cloud_and_cluster() -> (FakeCloud, Principal, ApiServer) {
    let (fake, me, api) = cloud_behind_apiserver();
    api.require_cn(None);
    fake.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    (fake, me, api)
}

/// `kubeconfig --cluster-id CLUSTER --merge`: the context kubectl would use (in the plugin's
/// `~/.kube/config`), and a cached certificate.
fn set_up_kubeconfig(plugin: &Plugin) {
    plugin
        .clone()
        .args(["kubeconfig", "--cluster-id", CLUSTER, "--merge"])
        .run_success();
}

/// `doctor` with `args`, run with `plugin`'s environment.
fn doctor<'a>(plugin: &Plugin<'a>, args: &[&str]) -> Run<'a> {
    plugin
        .clone()
        .arg("doctor")
        .args(args.iter().copied())
        .run()
}

/// The run's exit code, asserted.
#[track_caller]
fn assert_exit(run: &Run, code: i32) {
    assert_eq!(run.status.code(), Some(code), "exit code\n{run}");
}

/// The report on stdout, masked as the goldens are, and also the RAM user's uid, the plugin's
/// version and certificate serial numbers.
fn masked(run: &Run, me: &Principal) -> String {
    let text = normalise(run, &run.stdout)
        .replace(&me.uid, "[uid]")
        .replace(env!("CARGO_PKG_VERSION"), "[version]");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("serial ") {
        let (head, tail) = rest.split_at(at + "serial ".len());
        out.push_str(head);
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex > 0 {
            out.push_str("[serial]");
        }
        rest = &tail[hex..];
    }
    out.push_str(rest);
    out
}

/// Asserts the report on stdout, masked ([`masked`]), is exactly `expected`.
#[track_caller]
fn assert_report(run: &Run, me: &Principal, expected: &str) {
    assert_masked(run, "stdout", &masked(run, me), expected);
}

/// One check of `-o json`.
#[derive(Debug, Clone)]
struct Checked {
    name: String,
    status: String,
    detail: String,
    hint: Option<String>,
}

/// `-o json`'s checks, with the contract's shape asserted: `{"checks": [...]}` and nothing
/// else, each check exactly `name`, `status`, `detail`, `hint` (a string or null).
#[track_caller]
fn checks(run: &Run) -> Vec<Checked> {
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{run}"));
    let object = value.as_object().expect("a JSON object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["checks"],
        "top-level fields\n{run}"
    );
    value["checks"]
        .as_array()
        .expect("checks is a list")
        .iter()
        .map(|check| {
            let fields: Vec<&String> = check.as_object().expect("a check").keys().collect();
            assert_eq!(fields, ["detail", "hint", "name", "status"], "{run}");
            let text = |name: &str| check[name].as_str().expect(name).to_string();
            assert!(
                check["hint"].is_null() || check["hint"].is_string(),
                "{run}"
            );
            Checked {
                name: text("name"),
                status: text("status"),
                detail: text("detail"),
                hint: check["hint"].as_str().map(str::to_string),
            }
        })
        .collect()
}

/// The check called `name`.
#[track_caller]
fn check<'c>(checks: &'c [Checked], name: &str) -> &'c Checked {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
}

#[test]
fn everything_fine_is_seven_oks_and_exit_0() {
    let (fake, me, _api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);

    let run = doctor(&plugin, &["--cluster-id", CLUSTER]);
    assert_exit(&run, 0);
    assert_eq!(run.stderr, "", "{run}");
    assert_report(
        &run,
        &me,
        r#"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
ok   identity     RAMUser acs:ram::1234567890123456:user/[uid] in account 1234567890123456 (AccessKey LTAI5tFakeAccessKey0001)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
ok   cache        [home]/cache: private to you; 1 cached certificate
                  cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a (as access-key:LTAI5tFakeAccessKey0001): cached, valid until [time], refresh due at [time]
ok   kubeconfig   context `c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a` (the current one) in [home]/.kube/config runs [bin] get-credential --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a
                  [bin] --version: ack-credential-plugin [version]
ok   apiserver    https://127.0.0.1:[port] takes the cached certificate (CN [uid], serial [serial]) for user "[uid]" in groups system:users, system:authenticated (SelfSubjectReview v1)
"#,
    );

    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let checks = checks(&run);
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for check in &checks {
        assert_eq!(
            (check.status.as_str(), &check.hint),
            ("ok", &None),
            "{check:?}"
        );
    }
}

/// `doctor` is in `--help` and the completions, its own help lists the checks, and its target
/// is optional but still one at most.
#[test]
fn doctor_is_in_the_help_and_the_completions() {
    let fake = FakeCloud::start();
    let run = Plugin::new(&fake).arg("--help").run_success();
    assert!(
        run.stdout.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("doctor ")
                && line.ends_with(
                    " Check what a credential depends on: the credentials and whose they are, \
                     the clock, the endpoints, the cache, the kubeconfig, and whether the \
                     cluster accepts the certificate",
                )
        }),
        "{run}"
    );
    let run = Plugin::new(&fake).args(["doctor", "--help"]).run_success();
    for name in NAMES {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("  {name} "))),
            "{name}\n{run}"
        );
    }
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = Plugin::new(&fake)
            .args(["completions", shell])
            .run_success();
        assert!(run.stdout.contains("doctor"), "{shell}\n{run}");
    }
    let run = Plugin::new(&fake)
        .args(["doctor", "--cluster-id", CLUSTER, "--mesh-id", "m1"])
        .run_exit(2);
    assert!(
        run.stderr.starts_with(
            "error: the argument '--cluster-id <ID>' cannot be used with '--mesh-id <ID>'"
        ),
        "{run}"
    );
    let run = Plugin::new(&fake)
        .args(["doctor", "-o", "yaml"])
        .run_exit(2);
    assert!(
        run.stderr
            .starts_with("error: invalid value 'yaml' for '--output <FORMAT>'"),
        "{run}"
    );
    assert_eq!(fake.count(), 0);
}

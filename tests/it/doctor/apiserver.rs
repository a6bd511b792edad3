//! The `apiserver` check against the TLS API server: whom it takes the certificate for, a
//! revoked certificate (and `cache clear` mending it), RBAC's 403, Kubernetes 1.27 (v1beta1)
//! and older (no `SelfSubjectReview` at all), a mesh, a fleet, and a cluster entry's
//! `tls-server-name` and `proxy-url` (set with real kubectl).
//!
//! (Over 400 lines: seven tests of one check, each a whole scenario.)

use super::*;
use crate::support::cache_files::entry_files;
use crate::support::kubectl::{self, kubectls};
use crate::support::proxy::tunnelling_proxy;
use crate::support::{FLEET, MESH};

/// The certificate the fake issued last.
fn last_certificate(fake: &FakeCloud) -> String {
    fake.requests()
        .iter()
        .rev()
        .find_map(|r| r.issued.as_ref().and_then(|i| i.certificate_pem.clone()))
        .expect("a certificate was issued")
}

#[test]
fn a_revoked_certificate_fails_with_the_hint_to_clear_the_cache_which_mends_it() {
    let (fake, me, api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);
    api.revoke(&last_certificate(&fake));

    let run = doctor(&plugin, &["--cluster-id", CLUSTER]);
    assert_exit(&run, 1);
    assert_report(
        &run,
        &me,
        r"
ok   credentials  AccessKey LTAI5tFakeAccessKey0001 from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
ok   identity     RAMUser acs:ram::1234567890123456:user/[uid] in account 1234567890123456 (AccessKey LTAI5tFakeAccessKey0001)
ok   clock        this machine's clock agrees with the API's, to the second (Date of http://[fake])
ok   endpoints    cs, sts http://[fake]: DNS [ms], connect [ms], no TLS (http)
ok   cache        [home]/cache: private to you; 1 cached certificate
                  cluster c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a (as access-key:LTAI5tFakeAccessKey0001): cached, valid until [time], refresh due at [time]
ok   kubeconfig   context `c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a` (the current one) in [home]/.kube/config runs [bin] get-credential --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a
                  [bin] --version: ack-credential-plugin [version]
fail apiserver    https://127.0.0.1:[port] refuses the cached certificate (CN [uid], serial [serial]): HTTP 401: Unauthorized
                  hint: the certificate was revoked, or the cluster's CA was rotated: run `ack-credential-plugin cache clear --cluster-id c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a`, then retry (the next call fetches a new certificate)
",
    );

    plugin
        .clone()
        .args(["cache", "clear", "--cluster-id", CLUSTER])
        .run_success();
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let found = checks(&run);
    let apiserver = check(&found, "apiserver");
    assert!(
        apiserver.detail.contains(
            " takes a certificate fetched for this check (none is cached; it is not stored) "
        ),
        "{run}"
    );
    assert!(
        entry_files(plugin.cache_path()).is_empty(),
        "doctor stored the certificate it fetched\n{run}"
    );
}

/// Authenticated, not allowed: the certificate works, so a warning with the RBAC hint.
#[test]
fn a_forbidden_user_is_a_warning_about_rbac() {
    let (fake, me, api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);
    api.require_cn(Some("someone-else"));

    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let found = checks(&run);
    let apiserver = check(&found, "apiserver");
    assert_eq!(apiserver.status, "warn", "{run}");
    assert!(
        apiserver.detail.contains(&format!(
            " as user \"{}\", but does not let it ask who it is: HTTP 403: ",
            me.uid
        )),
        "{run}"
    );
    assert_eq!(
        apiserver.hint.as_deref(),
        Some(
            format!(
                "the certificate works; what it may do is up to the cluster's RBAC: grant user \
                 \"{}\" a role (ACK console: Authorizations; or a ClusterRoleBinding naming the \
                 user)",
                me.uid
            )
            .as_str()
        )
    );
}

#[test]
fn kubernetes_1_27_is_asked_in_v1beta1_and_older_ones_are_read_from_the_certificate() {
    let (fake, me, api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);

    api.serve_self_subject_review(&["v1beta1"]);
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let detail = check(&checks(&run), "apiserver").detail.clone();
    assert!(
        detail.ends_with(&format!(
            " for user \"{}\" in groups system:users, system:authenticated (SelfSubjectReview \
             v1beta1)",
            me.uid
        )),
        "{run}"
    );

    api.serve_self_subject_review(&[]);
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let detail = check(&checks(&run), "apiserver").detail.clone();
    assert!(
        detail.ends_with(&format!(
            "; it serves no SelfSubjectReview (Kubernetes before 1.27), and the certificate \
             names user \"{}\" in groups system:users",
            me.uid
        )),
        "{run}"
    );
    let posts: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect();
    assert!(
        posts.ends_with(&[
            "/apis/authentication.k8s.io/v1/selfsubjectreviews".to_string(),
            "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews".to_string(),
        ]),
        "{posts:?}"
    );
}

/// A mesh, with no kubeconfig context for it: the kubeconfig check fails, and the API server
/// check asks the server the API's kubeconfig names, with a certificate fetched in memory.
#[test]
fn a_mesh_without_a_context_is_checked_against_the_server_the_api_names() {
    let (fake, _me, api) = cloud_and_cluster();
    fake.add_mesh(MESH, &api.url(), &api.url(), api.ca_pem());
    let plugin = as_ram_user(&fake);

    let run = doctor(&plugin, &["--mesh-id", MESH, "-o", "json"]);
    assert_exit(&run, 1);
    let found = checks(&run);
    let statuses: Vec<(&str, &str)> = found
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("credentials", "ok"),
            ("identity", "ok"),
            ("clock", "ok"),
            ("endpoints", "ok"),
            ("cache", "ok"),
            ("kubeconfig", "fail"),
            ("apiserver", "ok"),
        ],
        "{run}"
    );
    assert_eq!(
        check(&found, "kubeconfig").hint.as_deref(),
        Some(
            format!(
                "write one: `ack-credential-plugin kubeconfig --mesh-id {MESH} --merge` (with \
                 --set-current-context to make it current)"
            )
            .as_str()
        )
    );
    let apiserver = check(&found, "apiserver");
    assert!(
        apiserver.detail.ends_with(
            "\nno kubeconfig context names the server (see kubeconfig): asked the one the API's \
             kubeconfig names"
        ),
        "{run}"
    );
    assert_eq!(fake.count_action("DescribeServiceMeshKubeconfig"), 1);
    assert!(entry_files(plugin.cache_path()).is_empty(), "{run}");
}

/// An ACK One fleet, its hub cluster behind the TLS API server: the same seven checks, with
/// adcp as the API and `--fleet-id` in the kubeconfig and the hints.
#[test]
fn a_fleet_is_checked_like_a_cluster() {
    let (fake, me, api) = cloud_and_cluster();
    fake.add_fleet(FLEET, &api.url(), &api.url(), api.ca_pem());
    let plugin = as_ram_user(&fake);
    plugin
        .clone()
        .args(["kubeconfig", "--fleet-id", FLEET, "--merge"])
        .run_success();

    let run = doctor(&plugin, &["--fleet-id", FLEET, "-o", "json"]);
    assert_exit(&run, 0);
    let found = checks(&run);
    for check in &found {
        assert_eq!(check.status, "ok", "{run}");
    }
    assert!(
        check(&found, "endpoints")
            .detail
            .starts_with("adcp, sts http://"),
        "{run}"
    );
    assert!(
        check(&found, "kubeconfig")
            .detail
            .contains(&format!(" get-credential --fleet-id {FLEET}")),
        "{run}"
    );
    assert!(
        check(&found, "apiserver").detail.contains(&format!(
            " takes the cached certificate (CN {}, serial ",
            me.uid
        )),
        "{run}"
    );

    api.revoke(&last_certificate(&fake));
    let run = doctor(&plugin, &["--fleet-id", FLEET, "-o", "json"]);
    assert_exit(&run, 1);
    assert_eq!(
        check(&checks(&run), "apiserver").hint.as_deref(),
        Some(
            format!(
                "the certificate was revoked, or the cluster's CA was rotated: run \
                 `ack-credential-plugin cache clear --fleet-id {FLEET}`, then retry (the next \
                 call fetches a new certificate)"
            )
            .as_str()
        )
    );
}

/// `kubectl config set clusters.CLUSTER.FIELD VALUE` (`unset` without a value) on the plugin's
/// kubeconfig, with a real kubectl.
fn set_cluster_field(plugin: &Plugin, field: &str, value: Option<&str>) {
    let kubectl = &kubectls().last().expect("a kubectl").path;
    let key = format!("clusters.{CLUSTER}.{field}");
    let mut args = vec![
        "config",
        if value.is_some() { "set" } else { "unset" },
        &key,
    ];
    args.extend(value);
    let config = plugin.home().join(".kube/config");
    let out = kubectl::run(kubectl, &plugin.home().join("kubectl-home"), &config, &args);
    assert!(out.success(), "{out}");
}

/// A server whose certificate names `apiserver.internal` alone, reached at 127.0.0.1: refused
/// as kubectl refuses it, until the cluster's `tls-server-name` says that name; a wrong name
/// gets a hint about the setting, not about the CA.
#[test]
fn the_server_is_verified_for_the_clusters_tls_server_name() {
    let fake = FakeCloud::start();
    fake.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start_named(&fake.client_ca_pem(), &["apiserver.internal"]);
    fake.add_cluster(CLUSTER, &api.url(), &api.url(), api.ca_pem());
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);

    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 1);
    let apiserver = check(&checks(&run), "apiserver").clone();
    assert_eq!(apiserver.status, "fail", "{run}");
    assert!(apiserver.detail.contains("not valid for name"), "{run}");
    assert_eq!(
        apiserver.hint.as_deref(),
        Some(
            format!(
                "the server's certificate does not name the host of {} (the message lists the \
                 names it holds): if you reach the server by another name (a tunnel, a load \
                 balancer), set one it holds (`kubectl config set \
                 clusters.{CLUSTER}.tls-server-name NAME`); if the cluster's address changed, \
                 run `ack-credential-plugin kubeconfig --cluster-id {CLUSTER} --merge`",
                api.url()
            )
            .as_str()
        ),
        "{run}"
    );

    set_cluster_field(&plugin, "tls-server-name", Some("apiserver.internal"));
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let apiserver = check(&checks(&run), "apiserver").clone();
    assert_eq!(apiserver.status, "ok", "{run}");
    assert!(
        apiserver
            .detail
            .contains(" takes the cached certificate (CN ")
            && apiserver.detail.ends_with(
                "\nverifying its certificate for `apiserver.internal`, the kubeconfig's \
                 tls-server-name"
            ),
        "{run}"
    );

    set_cluster_field(&plugin, "tls-server-name", Some("other.internal"));
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 1);
    assert_eq!(
        check(&checks(&run), "apiserver").hint.as_deref(),
        Some(
            format!(
                "the server's certificate is not for `other.internal`, the tls-server-name of \
                 cluster `{CLUSTER}` in the kubeconfig: correct it (`kubectl config set \
                 clusters.{CLUSTER}.tls-server-name NAME`) or remove it (`kubectl config unset \
                 clusters.{CLUSTER}.tls-server-name`)"
            )
            .as_str()
        ),
        "{run}"
    );
}

/// A cluster entry's `proxy-url` carries the check: the proxy is asked for a tunnel to the
/// server (loopback included, as client-go does) with the proxy's password sent to it alone,
/// and the detail names it without the password. A SOCKS proxy, which kubectl speaks and doctor
/// does not, is a skip that says so, before any certificate is fetched.
#[test]
fn the_check_goes_through_the_clusters_proxy_url() {
    let (fake, _me, api) = cloud_and_cluster();
    let plugin = as_ram_user(&fake);
    set_up_kubeconfig(&plugin);
    let (proxy, seen) = tunnelling_proxy();
    let with_password = proxy.replace("http://", "http://me:proxy-password@");
    set_cluster_field(&plugin, "proxy-url", Some(&with_password));

    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    let apiserver = check(&checks(&run), "apiserver").clone();
    assert_eq!(apiserver.status, "ok", "{run}");
    assert!(
        apiserver
            .detail
            .ends_with(&format!("\nthrough the kubeconfig's proxy-url ({proxy})")),
        "{run}"
    );
    assert!(
        !run.stdout.contains("proxy-password") && !run.stderr.contains("proxy-password"),
        "{run}"
    );
    let heads = seen.connections();
    assert!(!heads.is_empty(), "{run}");
    for head in &heads {
        let mut lines = head.lines();
        assert_eq!(
            lines.next(),
            Some(format!("CONNECT {} HTTP/1.1", api.addr()).as_str()),
            "{heads:?}"
        );
        let authorization = lines.find_map(|line| {
            let (name, value) = line.split_once(": ")?;
            name.eq_ignore_ascii_case("proxy-authorization")
                .then_some(value)
        });
        // me:proxy-password
        assert_eq!(
            authorization,
            Some("Basic bWU6cHJveHktcGFzc3dvcmQ="),
            "{heads:?}"
        );
    }

    // The scheme in any case, as client-go reads it.
    set_cluster_field(
        &plugin,
        "proxy-url",
        Some(&proxy.replace("http://", "HTTP://")),
    );
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    assert_eq!(check(&checks(&run), "apiserver").status, "ok", "{run}");

    // With nothing cached, said before a certificate is fetched for a check that cannot run.
    set_cluster_field(&plugin, "proxy-url", Some("socks5://127.0.0.1:1"));
    plugin
        .clone()
        .args(["cache", "clear", "--cluster-id", CLUSTER])
        .run_success();
    let fetches = fake.count_action("DescribeClusterUserKubeconfig");
    let run = doctor(&plugin, &["--cluster-id", CLUSTER, "-o", "json"]);
    assert_exit(&run, 0);
    assert_eq!(
        fake.count_action("DescribeClusterUserKubeconfig"),
        fetches,
        "{run}"
    );
    let apiserver = check(&checks(&run), "apiserver").clone();
    assert_eq!(
        (apiserver.status.as_str(), apiserver.hint.as_deref()),
        (
            "skip",
            Some("ask the server with kubectl itself: `kubectl auth whoami`")
        ),
        "{run}"
    );
    assert_eq!(
        apiserver.detail,
        format!(
            "the kubeconfig reaches {} through a SOCKS proxy (its proxy-url), which doctor does \
             not speak; kubectl does",
            api.url()
        ),
        "{run}"
    );
}

//! `kubeconfig --cluster-name NAME`: the listing, then the one cluster of that name set up as if
//! its id and region had been given; no match, or several, is an error that says what was
//! found.

use crate::support::fake_cloud::{ACTION_USER_CONFIG, DEFAULT_CLUSTER_PUBLIC_SERVER};
use crate::support::golden::assert_stderr;
use crate::support::{Plugin, as_ram_user};

use super::*;

fn by_name<'a>(fake: &'a FakeCloud, name: &str) -> Plugin<'a> {
    as_ram_user(fake).args(["kubeconfig", "--cluster-name", name])
}

fn exec_args(config: &serde_yaml_ng::Value) -> Vec<String> {
    config["users"][0]["user"]["exec"]["args"]
        .as_sequence()
        .expect("exec args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// One listing, one fetch of the cluster found; the context is named after the cluster, and
/// kubectl's calls name its id and region (and land on the entry just cached).
#[test]
fn a_name_resolves_to_its_cluster_and_names_the_context() {
    let (fake, me) = clusters_cloud();
    fake.set_cluster_page_cap(4);
    let p = by_name(&fake, "prod");
    let run = p.run_success();
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&run.stdout).unwrap();
    assert_eq!(config["current-context"], "prod", "{run}");
    assert_eq!(config["contexts"][0]["name"], "prod", "{run}");
    assert_eq!(
        config["clusters"][0]["cluster"]["server"],
        DEFAULT_CLUSTER_PUBLIC_SERVER
    );
    let args = exec_args(&config);
    assert_eq!(
        args,
        [
            "get-credential",
            "--cluster-id",
            PROD,
            "--region",
            "cn-hangzhou"
        ],
        "{run}"
    );
    assert_eq!(listing_pages(&fake, &run, "v3").len(), 2, "{run}");
    let fetches = fake.requests_for(ACTION_USER_CONFIG);
    assert_eq!(fetches.len(), 1, "{run}");
    assert_eq!(fetches[0].path, format!("/k8s/{PROD}/user_config"), "{run}");
    assert_eq!(fetches[0].issued.as_ref().unwrap().uid, me.uid);
    assert_eq!(run.stderr, "", "{run}");

    let calls = fake.count();
    let hit = as_ram_user(&fake)
        .cache_dir(p.cache_path())
        .args(&args)
        .run_ok();
    assert_eq!(
        fake.count(),
        calls,
        "kubectl's first call must be a hit\n{hit}"
    );
}

/// `--context` still names the entries; `--region` narrows the listing to one of two namesakes.
#[test]
fn a_region_picks_one_of_two_clusters_of_the_same_name() {
    let (fake, _) = clusters_cloud();
    let run = by_name(&fake, "web")
        .args([
            "--region",
            "cn-shanghai",
            "--context",
            "web-sh",
            "--private-ip",
        ])
        .env("ACK_SIGNATURE_VERSION", "v2")
        .run_success();
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&run.stdout).unwrap();
    assert_eq!(config["current-context"], "web-sh", "{run}");
    assert_eq!(
        exec_args(&config),
        [
            "get-credential",
            "--cluster-id",
            WEB_SHANGHAI,
            "--region",
            "cn-shanghai",
            "--private-ip"
        ],
        "{run}"
    );
    let pages = listing_pages(&fake, &run, "v2");
    assert_eq!(pages[0].query_param("region_id"), Some("cn-shanghai"));
    let fetch = fake.last_request().unwrap();
    assert_eq!(fetch.signature_version(), Some("v2"), "{run}");
    assert_eq!(fetch.query_param("PrivateIpAddress"), Some("true"), "{run}");
}

#[test]
fn no_cluster_of_that_name_says_how_many_were_listed() {
    let (fake, _) = clusters_cloud();
    let run = by_name(&fake, "Prod").run_exit(1);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: no cluster is named "Prod" among the 7 clusters this identity can list
hint: `ack-credential-plugin clusters` lists them; names are matched exactly"#,
    );
    assert_eq!(fake.count(), 1, "only the listing\n{run}");
}

#[test]
fn several_clusters_of_that_name_are_listed_with_their_ids_and_regions() {
    let (fake, _) = clusters_cloud();
    let run = by_name(&fake, "web").run_exit(1);
    assert_stderr(
        &run,
        r#"
ack-credential-plugin: error: 2 clusters are named "web": cw0b0000000000000000000000000002 (cn-beijing), cw0s0000000000000000000000000003 (cn-shanghai)
hint: choose one with --cluster-id ID, or narrow the search with --region REGION"#,
    );
    assert_eq!(fake.count(), 1, "only the listing\n{run}");
}

/// The cluster found may refuse its kubeconfig: the error is the fetch's, as for an id.
#[test]
fn a_cluster_found_but_refused_is_the_apis_error() {
    let (fake, _) = clusters_cloud();
    let run = by_name(&fake, "secret").run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClusterUserKubeconfig for cluster cs0c0000000000000000000000000005 failed: Forbidden.RAM: User not authorized to operate on the specified resource, or this API doesn't support RAM. (HTTP 403, RequestId: [request-id #1])
hint: this identity is not allowed to call DescribeClusterUserKubeconfig: grant `cs:DescribeClusterUserKubeconfig` in RAM, or use another identity",
    );
}

#[test]
fn a_blank_name_is_a_usage_error_without_a_request() {
    let (fake, _) = clusters_cloud();
    let run = by_name(&fake, " ").run_exit(2);
    assert_stderr(
        &run,
        r#"ack-credential-plugin: error: --cluster-name " " is not a cluster name"#,
    );
    assert_eq!(fake.count(), 0);
}

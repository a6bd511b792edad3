//! `clusters`: every page of `DescribeClustersV1`, as a table or as JSON.

use serde_json::json;

use super::*;
use crate::support::golden::assert_stderr;
use crate::support::{Plugin, as_ram_user};

/// `clusters ARGS` as the caller of [`clusters_cloud`].
fn clusters<'a>(fake: &'a FakeCloud, args: &[&str]) -> Plugin<'a> {
    as_ram_user(fake).arg("clusters").args(args.iter().copied())
}

const TABLE: &str = "\
ID                                 NAME              REGION       TYPE               STATE      VERSION
c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a  cluster-c7d5e3f1  cn-hangzhou  ManagedKubernetes  running    1.33.1-aliyun.1
cp0d0000000000000000000000000001   prod              cn-hangzhou  ManagedKubernetes  running    1.33.1-aliyun.1
cw0b0000000000000000000000000002   web               cn-beijing   ManagedKubernetes  running    1.33.1-aliyun.1
cw0s0000000000000000000000000003   web               cn-shanghai  ManagedKubernetes  upgrading  1.33.1-aliyun.1
co1d0000000000000000000000000004   old               cn-hangzhou  ManagedKubernetes  deleting   1.33.1-aliyun.1
cs0c0000000000000000000000000005   secret            cn-beijing   ManagedKubernetes  running    1.33.1-aliyun.1
cn0w0000000000000000000000000006   new               cn-beijing   ManagedKubernetes  initial    1.33.1-aliyun.1
";

/// The API answers at most 3 clusters a page, whatever is asked: the plugin reads all three
/// pages (by `page_info.total_count`) and prints one table, in the API's order.
#[test]
fn clusters_reads_every_page_and_prints_a_table() {
    let (fake, _) = clusters_cloud();
    fake.set_cluster_page_cap(3);
    let run = clusters(&fake, &[]).run_success();
    assert_eq!(run.stdout, TABLE, "{run}");
    assert_eq!(run.stderr, "", "{run}");
    let pages = listing_pages(&fake, &run, "v3");
    assert_eq!(pages.len(), 3, "{run}");
    assert!(
        pages.iter().all(|p| p.query_param("region_id").is_none()),
        "{run}"
    );
    assert_eq!(fake.count(), 3, "a listing fetches no kubeconfig\n{run}");
}

/// V2 (ROA HMAC-SHA1) pages as well: the fake's V2 verifier accepts every page.
#[test]
fn clusters_with_v2_signatures_reads_every_page() {
    let (fake, _) = clusters_cloud();
    fake.set_cluster_page_cap(2);
    let run = clusters(&fake, &[])
        .env("ACK_SIGNATURE_VERSION", "v2")
        .run_success();
    assert_eq!(run.stdout, TABLE, "{run}");
    assert_eq!(listing_pages(&fake, &run, "v2").len(), 4, "{run}");
}

/// 250 clusters at the API's own page size: three full reads of 100, 100 and 50.
#[test]
fn clusters_beyond_one_full_page_are_all_listed() {
    let (fake, _) = cloud();
    for n in 0..249 {
        fake.add_listed_cluster(
            &format!("cmany{n:028}"),
            &format!("c-{n}"),
            "cn-hangzhou",
            "running",
        );
    }
    let run = clusters(&fake, &["-o", "json"]).run_success();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = value["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 250, "{run}");
    assert_eq!(ids[0], CLUSTER);
    assert_eq!(ids[249], format!("cmany{:028}", 248));
    assert_eq!(listing_pages(&fake, &run, "v3").len(), 3, "{run}");
}

#[test]
fn clusters_json_has_the_documented_fields() {
    let (fake, _) = cloud();
    fake.add_listed_cluster(PROD, "prod", "cn-beijing", "updating");
    let run = clusters(&fake, &["-o", "json"]).run_success();
    assert!(run.stdout.ends_with("}\n"), "{run}");
    // The fields in README's order (the first occurrence of each is in the first cluster).
    let places: Vec<usize> = ["id", "name", "region", "type", "state", "version"]
        .iter()
        .map(|field| run.stdout.find(&format!("\"{field}\":")).expect(field))
        .collect();
    assert!(places.is_sorted(), "fields out of README's order\n{run}");
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        value,
        json!({"clusters": [
            {"id": CLUSTER, "name": cluster_name(), "region": "cn-hangzhou",
             "type": "ManagedKubernetes", "state": "running", "version": "1.33.1-aliyun.1"},
            {"id": PROD, "name": "prod", "region": "cn-beijing",
             "type": "ManagedKubernetes", "state": "updating", "version": "1.33.1-aliyun.1"},
        ]}),
        "{run}"
    );
    assert_eq!(run.stderr, "", "{run}");
}

/// `--region` asks the API for that region's clusters only (`region_id`).
#[test]
fn clusters_region_lists_that_region_only() {
    let (fake, _) = clusters_cloud();
    let run = clusters(&fake, &["--region", "cn-beijing", "-o", "json"]).run_success();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = value["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [WEB_BEIJING, SECRET, NEW], "{run}");
    let pages = listing_pages(&fake, &run, "v3");
    assert_eq!(
        pages[0].query_param("region_id"),
        Some("cn-beijing"),
        "{run}"
    );
}

/// The environment's region picks the endpoint only: the listing is of every region.
#[test]
fn the_environments_region_does_not_filter_the_list() {
    let (fake, _) = clusters_cloud();
    let run = clusters(&fake, &[])
        .env("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
        .run_success();
    assert_eq!(run.stdout, TABLE, "{run}");
    assert!(
        listing_pages(&fake, &run, "v3")[0]
            .query_param("region_id")
            .is_none()
    );
}

#[test]
fn no_clusters_is_said_on_stderr_and_json_is_an_empty_list() {
    let fake = FakeCloud::start();
    fake.add_access_key(crate::support::KEY_ID, crate::support::KEY_SECRET);
    let run = clusters(&fake, &["--region", "cn-beijing"]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(&run, "no clusters in cn-beijing for this identity");
    let run = clusters(&fake, &["-o", "json"]).run_success();
    assert_eq!(run.stdout, "{\n  \"clusters\": []\n}\n", "{run}");
}

/// A name from the API is shown, not obeyed: a control character becomes `?`.
#[test]
fn names_with_control_characters_are_shown_harmlessly() {
    let (fake, _) = cloud();
    fake.set_cluster_info(CLUSTER, "evil\u{1b}]0;pwned\u{7}", "cn-hangzhou", "running");
    let run = clusters(&fake, &[]).run_success();
    assert!(run.stdout.contains("  evil?]0;pwned?  "), "{run}");
    assert!(!run.stdout.contains('\u{1b}'), "{run}");
}

#[test]
fn listing_refused_names_the_ram_permission() {
    let (fake, me) = clusters_cloud();
    fake.deny_cluster_listing(&me);
    let run = clusters(&fake, &[]).run_exit(1);
    assert_stderr(
        &run,
        r"
ack-credential-plugin: error: DescribeClustersV1 for the clusters failed: Forbidden.RAM: User not authorized to operate on the specified resource, or this API doesn't support RAM. (HTTP 403, RequestId: [request-id #0])
hint: this identity is not allowed to list clusters (DescribeClustersV1): grant `cs:GetClusters` in RAM, or use another identity",
    );
    assert_eq!(fake.count(), 1, "{run}");
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    let (fake, _) = cloud();
    let run = clusters(&fake, &["-o", "yaml"]).run_exit(2);
    assert_stderr(
        &run,
        r"
error: invalid value 'yaml' for '--output <FORMAT>'
  [possible values: text, json]

For more information, try '--help'.",
    );
    assert_eq!(fake.count(), 0);
}

//! Finding clusters and meshes by listing them: `clusters` and `meshes` (every page, a table or
//! JSON), `kubeconfig --cluster-name` (one match, else the matches' ids and regions) and
//! `kubeconfig --all` (every running cluster, one write, a summary). The fake pages
//! `DescribeClustersV1` as asked, up to a cap, and verifies every signature, V3 by default and
//! V2 with `ACK_SIGNATURE_VERSION=v2`.

mod all;
mod by_name;
mod clusters;
mod meshes;

use crate::support::fake_cloud::{ACTION_DESCRIBE_CLUSTERS, FakeCloud, Outcome, RequestRecord};
use crate::support::{CLUSTER, Principal, Run, cloud};

/// The clusters of [`clusters_cloud`], besides [`CLUSTER`] (`cluster-c7d5e3f1`, cn-hangzhou,
/// running): two called `web` in two regions, one of each state that matters, one the caller
/// may list but not fetch.
pub const PROD: &str = "cp0d0000000000000000000000000001";
pub const WEB_BEIJING: &str = "cw0b0000000000000000000000000002";
pub const WEB_SHANGHAI: &str = "cw0s0000000000000000000000000003";
pub const OLD: &str = "co1d0000000000000000000000000004";
pub const SECRET: &str = "cs0c0000000000000000000000000005";
pub const NEW: &str = "cn0w0000000000000000000000000006";

/// A fake cloud with [`CLUSTER`] and the clusters above, and the caller of [`cloud`] (who may
/// not fetch [`SECRET`]'s kubeconfig).
pub fn clusters_cloud() -> (FakeCloud, Principal) {
    let (fake, me) = cloud();
    fake.add_listed_cluster(PROD, "prod", "cn-hangzhou", "running");
    fake.add_listed_cluster(WEB_BEIJING, "web", "cn-beijing", "running");
    fake.add_listed_cluster(WEB_SHANGHAI, "web", "cn-shanghai", "upgrading");
    fake.add_listed_cluster(OLD, "old", "cn-hangzhou", "deleting");
    fake.add_listed_cluster(SECRET, "secret", "cn-beijing", "running");
    fake.add_listed_cluster(NEW, "new", "cn-beijing", "initial");
    let someone_else = fake.add_access_key("LTAI5tSomeoneElse0001", "someoneElseSecret01");
    fake.allow_cluster(SECRET, &someone_else);
    (fake, me)
}

/// The `DescribeClustersV1` requests of the run, each checked: listed, signed with the scheme
/// the run asked for (the fake verified it), and asking for page `n` (from 1) of 100.
#[track_caller]
pub fn listing_pages(fake: &FakeCloud, run: &Run, scheme: &str) -> Vec<RequestRecord> {
    let pages = fake.requests_for(ACTION_DESCRIBE_CLUSTERS);
    for (n, page) in pages.iter().enumerate() {
        assert_eq!(page.outcome, Outcome::Listed, "{run}");
        assert_eq!(page.signature_version(), Some(scheme), "{run}");
        assert_eq!(
            (page.method.as_str(), page.path.as_str()),
            ("GET", "/api/v1/clusters")
        );
        assert_eq!(
            page.query_param("page_number"),
            Some((n + 1).to_string().as_str()),
            "{run}"
        );
        assert_eq!(page.query_param("page_size"), Some("100"), "{run}");
    }
    pages
}

/// `CLUSTER`'s name in the listing.
pub fn cluster_name() -> String {
    format!("cluster-{}", &CLUSTER[..8])
}

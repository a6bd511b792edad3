//! Test support, one place for everything the tests share:
//!
//! - [`fake_cloud`]: the fake of the Alibaba Cloud APIs, which also knows every secret it
//!   registered or handed out;
//! - [`plugin`]: the [`Plugin`] builder that runs the real binary (in the foreground, or in the
//!   background to be killed), checks every run for leaked secrets ([`secrets`]) and prints a
//!   full report when an assertion fails;
//! - [`golden`]: whole-message checks of stderr, with the varying parts masked;
//! - [`kubectl`]: every real kubectl ([`kubectl::for_every_kubectl`]) and [`apiserver`], the TLS
//!   API server they talk to;
//! - [`exec_credential`], [`cache_files`], [`wait`], [`rng`]: parsing what the binary printed,
//!   reading and editing its cache, waiting for a condition, reproducible randomness;
//! - [`proxy`]: proxies of the tests' own (one that refuses and records, one that tunnels);
//! - the common fixture below: a fake cloud with one cluster and one RAM user's access key.

pub mod apiserver;
pub mod background;
pub mod cache_files;
pub mod checks;
pub mod child;
pub mod exec_credential;
pub mod fake_cloud;
pub mod golden;
pub mod kubectl;
pub mod plugin;
pub mod proxy;
pub mod rng;
pub mod secrets;
pub mod test_ca;
pub mod wait;

use apiserver::ApiServer;
pub use fake_cloud::{FakeCloud, Principal};
pub use plugin::{Plugin, Run};

/// The cluster of [`cloud`].
pub const CLUSTER: &str = "c7d5e3f1a9b8c6d4e2f0a1b3c5d7e9f1a";
/// The second cluster and the two meshes of [`cloud_with_meshes`].
pub const CLUSTER_2: &str = "cb2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1";
pub const MESH: &str = "m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";
pub const MESH_2: &str = "m9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
/// The ACK One fleet of [`cloud_with_fleet`].
pub const FLEET: &str = "cf1e2d3c4b5a69788796a5b4c3d2e1f0a";
/// The RAM user's access key of [`cloud`].
pub const KEY_ID: &str = "LTAI5tFakeAccessKey0001";
pub const KEY_SECRET: &str = "fakeSecretFakeSecretFakeSecret01";

/// A fake cloud serving [`CLUSTER`] (at [`fake_cloud::DEFAULT_CLUSTER_PUBLIC_SERVER`] and
/// [`fake_cloud::DEFAULT_CLUSTER_PRIVATE_SERVER`], with the fake's cluster CA), and the access
/// key [`KEY_ID`]/[`KEY_SECRET`] of a RAM user, returned beside it.
pub fn cloud() -> (FakeCloud, Principal) {
    let fake = FakeCloud::start();
    fake.add_cluster_with_defaults(CLUSTER);
    let me = fake.add_access_key(KEY_ID, KEY_SECRET);
    (fake, me)
}

/// [`cloud`], with a second cluster [`CLUSTER_2`] and the meshes [`MESH`] and [`MESH_2`] (at
/// [`fake_cloud::DEFAULT_MESH_PUBLIC_SERVER`] and [`fake_cloud::DEFAULT_MESH_PRIVATE_SERVER`]).
pub fn cloud_with_meshes() -> (FakeCloud, Principal) {
    let (fake, me) = cloud();
    fake.add_cluster_with_defaults(CLUSTER_2);
    fake.add_mesh_with_defaults(MESH);
    fake.add_mesh_with_defaults(MESH_2);
    (fake, me)
}

/// [`cloud`], with the fleet [`FLEET`] (at [`fake_cloud::DEFAULT_FLEET_PUBLIC_SERVER`] and
/// [`fake_cloud::DEFAULT_FLEET_PRIVATE_SERVER`]).
pub fn cloud_with_fleet() -> (FakeCloud, Principal) {
    let (fake, me) = cloud();
    fake.add_fleet_with_defaults(FLEET);
    (fake, me)
}

/// A fake cloud with the access key [`KEY_ID`]/[`KEY_SECRET`] of a RAM user (returned beside
/// it), and a TLS API server that trusts the fake's client CA and lets in only that user's
/// certificates (CN = the user's uid). Nothing is registered at the server yet: add a cluster,
/// mesh or fleet at `api.url()` with `api.ca_pem()`.
pub fn cloud_behind_apiserver() -> (FakeCloud, Principal, ApiServer) {
    let fake = FakeCloud::start();
    let me = fake.add_access_key(KEY_ID, KEY_SECRET);
    let api = ApiServer::start(&fake.client_ca_pem());
    api.require_cn(Some(&me.uid));
    (fake, me, api)
}

/// The binary with the access key of [`cloud`] in the environment.
pub fn as_ram_user(fake: &FakeCloud) -> Plugin<'_> {
    Plugin::new(fake).access_key(KEY_ID, KEY_SECRET)
}

/// `get-credential --cluster-id CLUSTER` with the access key of [`cloud`].
pub fn get_credential(fake: &FakeCloud) -> Plugin<'_> {
    as_ram_user(fake).args(["get-credential", "--cluster-id", CLUSTER])
}

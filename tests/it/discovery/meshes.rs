//! `meshes`: `DescribeServiceMeshes`, as a table or as JSON.

use serde_json::json;

use super::*;
use crate::support::fake_cloud::{ACTION_DESCRIBE_SERVICE_MESHES, Service};
use crate::support::golden::assert_stderr;
use crate::support::{MESH, MESH_2, Plugin, as_ram_user, cloud_with_meshes};

fn meshes<'a>(fake: &'a FakeCloud, args: &[&str]) -> Plugin<'a> {
    as_ram_user(fake).arg("meshes").args(args.iter().copied())
}

fn meshes_cloud() -> (FakeCloud, Principal) {
    let (fake, me) = cloud_with_meshes();
    fake.set_mesh_info(MESH_2, "payments", "cn-beijing", "upgrading");
    (fake, me)
}

#[test]
fn meshes_prints_a_table() {
    let (fake, _) = meshes_cloud();
    let run = meshes(&fake, &[]).run_success();
    assert_eq!(
        run.stdout,
        "\
ID                                 NAME           REGION       STATE      VERSION    EDITION
m1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d  mesh-m1a2b3c4  cn-hangzhou  running    1.22.6.45  enterprise
m9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c  payments       cn-beijing   upgrading  1.22.6.45  enterprise
",
        "{run}"
    );
    assert_eq!(run.stderr, "", "{run}");
    let record = fake.last_request().unwrap();
    assert_eq!(fake.count(), 1, "{run}");
    assert_eq!(record.service, Service::ASM, "{run}");
    assert_eq!(
        record.action.as_deref(),
        Some(ACTION_DESCRIBE_SERVICE_MESHES)
    );
    assert_eq!(record.signature_version(), Some("v3"), "{run}");
    assert_eq!(record.outcome, Outcome::Listed, "{run}");
}

#[test]
fn meshes_json_with_v2_signatures() {
    let (fake, _) = meshes_cloud();
    let run = meshes(&fake, &["--output", "json"])
        .env("ACK_SIGNATURE_VERSION", "v2")
        .run_success();
    let places: Vec<usize> = ["id", "name", "region", "state", "version", "edition"]
        .iter()
        .map(|field| run.stdout.find(&format!("\"{field}\":")).expect(field))
        .collect();
    assert!(places.is_sorted(), "fields out of README's order\n{run}");
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        value,
        json!({"meshes": [
            {"id": MESH, "name": "mesh-m1a2b3c4", "region": "cn-hangzhou", "state": "running",
             "version": "1.22.6.45", "edition": "enterprise"},
            {"id": MESH_2, "name": "payments", "region": "cn-beijing", "state": "upgrading",
             "version": "1.22.6.45", "edition": "enterprise"},
        ]}),
        "{run}"
    );
    let record = fake.last_request().unwrap();
    assert_eq!(record.signature_version(), Some("v2"), "{run}");
    assert_eq!(record.param("Action"), Some(ACTION_DESCRIBE_SERVICE_MESHES));
    assert_eq!(record.outcome, Outcome::Listed, "{run}");
}

#[test]
fn no_meshes_is_said_on_stderr() {
    let (fake, _) = cloud();
    let run = meshes(&fake, &[]).run_success();
    assert_eq!(run.stdout, "", "{run}");
    assert_stderr(&run, "no meshes for this identity");
}

#[test]
fn mesh_listing_refused_names_the_ram_permission() {
    let (fake, me) = meshes_cloud();
    fake.deny_mesh_listing(&me);
    let run = meshes(&fake, &[]).run_exit(1);
    assert_stderr(
        &run,
        &format!(
            "ack-credential-plugin: error: DescribeServiceMeshes for the meshes failed: \
             Forbidden.RAM: User not authorized to operate on the specified resource: {} may \
             not list the service meshes. (HTTP 403, RequestId: [request-id #0])\n\
             hint: this identity is not allowed to call DescribeServiceMeshes: grant \
             `servicemesh:DescribeServiceMeshes` in RAM, or use another identity",
            me.uid
        ),
    );
}

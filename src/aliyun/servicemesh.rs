//! Alibaba Cloud Service Mesh (servicemesh, API version 2020-01-11): the mesh kubeconfig, and
//! the list of meshes (`DescribeServiceMeshes`).

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use super::IssuedKubeconfig;
use super::access_key::Credentials;
use super::answer::{Reading, text};
use super::client::Client;
use super::hints;
use super::request::RpcRequest;
use crate::error::{ApiError, Error};

const VERSION: &str = "2020-01-11";
pub(crate) use super::actions::SERVICE_MESH_KUBECONFIG as ACTION;
/// ASM's one, central endpoint.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://servicemesh.aliyuncs.com";

/// `DescribeServiceMeshKubeconfig`. It takes no lifetime: the mesh decides.
pub(crate) fn describe_kubeconfig(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
    mesh_id: &str,
    private_ip: bool,
) -> Result<IssuedKubeconfig, Error> {
    let request = RpcRequest {
        action: ACTION,
        version: VERSION,
        target: format!("mesh {mesh_id}"),
        params: vec![
            ("ServiceMeshId", mesh_id.to_string()),
            ("PrivateIpAddress", private_ip.to_string()),
        ],
    };
    let answer = client
        .rpc(endpoint, Some(credentials), &request)
        .map_err(|e| hints::with_hint(e, |api| mesh_hint(mesh_id, api)))?;
    parse_answer(&answer.body, answer.request_id.as_deref())
}

/// The hint for a mesh that is not there.
fn mesh_hint(mesh_id: &str, api: &ApiError) -> Option<String> {
    let missing = api.status == 404 || api.code.contains("NotFound");
    (missing && api.code.contains("ServiceMesh")).then(|| {
        format!(
            "check the mesh id `{mesh_id}`: the mesh must exist in the account of these \
             credentials"
        )
    })
}

/// The API that lists the meshes an identity can see.
pub(crate) use super::actions::LIST_SERVICE_MESHES as LIST_ACTION;

/// A mesh as `DescribeServiceMeshes` lists it. Text fields the answer leaves out are empty.
/// Serialised as `meshes -o json` prints it: the fields in README's order, this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MeshSummary {
    /// `ServiceMeshInfo.ServiceMeshId`.
    pub(crate) id: String,
    pub(crate) name: String,
    /// `ServiceMeshInfo.RegionId`.
    pub(crate) region: String,
    /// `ServiceMeshInfo.State`: `running`, `initial`, `upgrading`...
    pub(crate) state: String,
    /// `ServiceMeshInfo.Version`: the Istio version.
    pub(crate) version: String,
    /// `ClusterSpec`: `standard`, `enterprise` or `ultimate`.
    pub(crate) edition: String,
}

/// `DescribeServiceMeshes`: every mesh the caller can see, in one answer (the API does not page).
pub(crate) fn describe_service_meshes(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
) -> Result<Vec<MeshSummary>, Error> {
    let request = RpcRequest {
        action: LIST_ACTION,
        version: VERSION,
        target: "the meshes".to_string(),
        params: Vec::new(),
    };
    let answer = client.rpc(endpoint, Some(credentials), &request)?;
    parse_meshes(&answer.body, answer.request_id.as_deref())
}

/// `{"RequestId", "ServiceMeshes": [{"ServiceMeshInfo": {"ServiceMeshId", "Name", "RegionId",
/// "State", "Version", ...}, "ClusterSpec", ...}]}`.
pub(crate) fn parse_meshes(
    body: &[u8],
    request_id: Option<&str>,
) -> Result<Vec<MeshSummary>, Error> {
    let reading = Reading {
        action: LIST_ACTION,
        request_id,
    };
    let body = reading.json(body)?;
    let list = reading.list(&body, "ServiceMeshes")?;
    let mut meshes = Vec::with_capacity(list.len());
    for item in list {
        let info = item.get("ServiceMeshInfo").unwrap_or(&Value::Null);
        let id = text(info, "ServiceMeshId");
        if id.is_empty() {
            return Err(reading.bad("a mesh in the list has no `ServiceMeshInfo.ServiceMeshId`"));
        }
        meshes.push(MeshSummary {
            id,
            name: text(info, "Name"),
            region: text(info, "RegionId"),
            state: text(info, "State"),
            version: text(info, "Version"),
            edition: text(item, "ClusterSpec"),
        });
    }
    Ok(meshes)
}

/// `{"RequestId", "Kubeconfig": "<YAML>", "ExpireTime": "2024-05-28 16:00:00"}`.
pub(crate) fn parse_answer(
    body: &[u8],
    request_id: Option<&str>,
) -> Result<IssuedKubeconfig, Error> {
    IssuedKubeconfig::from_answer(
        ACTION,
        body,
        request_id,
        "Kubeconfig",
        Some(("ExpireTime", parse_expire_time)),
    )
}

/// `ExpireTime` is `2024-05-28 16:00:00`, with no zone, and not reliably UTC. It is read as UTC
/// and only ever used as an upper bound beside the certificate's NotAfter, which is the
/// authority: if the API meant a zone east of UTC, reading it as UTC only makes it later than
/// the truth, and the NotAfter wins.
fn parse_expire_time(text: &str) -> Option<i64> {
    if let Some(t) = crate::time::parse_rfc3339(text) {
        return Some(t);
    }
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_of_meshes_reads_the_documented_fields() {
        let body = br#"{"RequestId":"R","ServiceMeshes":[
            {"ServiceMeshInfo":{"ServiceMeshId":"m1","Name":"mesh-a","RegionId":"cn-beijing",
             "State":"running","Version":"1.22.6.45","Profile":"Default"},
             "ClusterSpec":"enterprise","Clusters":["c1"],"Endpoints":{}},
            {"ServiceMeshInfo":{"ServiceMeshId":"m2"}}]}"#;
        let meshes = parse_meshes(body, None).unwrap();
        assert_eq!(
            meshes[0],
            MeshSummary {
                id: "m1".into(),
                name: "mesh-a".into(),
                region: "cn-beijing".into(),
                state: "running".into(),
                version: "1.22.6.45".into(),
                edition: "enterprise".into(),
            }
        );
        assert_eq!(meshes[1].edition, "");
        assert_eq!(parse_meshes(br#"{"RequestId":"R"}"#, None).unwrap(), []);
        for bad in [
            &b"[]x"[..],
            br#"{"ServiceMeshes":1}"#,
            br#"{"ServiceMeshes":[{}]}"#,
        ] {
            assert!(parse_meshes(bad, None).is_err());
        }
    }

    #[test]
    fn expire_time_without_a_zone_is_read_as_utc() {
        assert_eq!(
            parse_expire_time("2026-01-02 03:04:05"),
            Some(1_767_323_045)
        );
        assert_eq!(
            parse_expire_time("2026-01-02T03:04:05Z"),
            Some(1_767_323_045)
        );
        assert_eq!(parse_expire_time("soon"), None);
    }
}

//! Alibaba Cloud Service Mesh (servicemesh, API version 2020-01-11): the mesh kubeconfig.

use chrono::NaiveDateTime;

use super::IssuedKubeconfig;
use super::access_key::Credentials;
use super::client::Client;
use super::request::RpcRequest;
use crate::error::Error;

const VERSION: &str = "2020-01-11";
pub(crate) const ACTION: &str = "DescribeServiceMeshKubeconfig";
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
        .map_err(|error| match error {
            Error::Api(mut api) => {
                if api.code.contains("ServiceMesh") && (api.status == 404 || api.code.contains("NotFound")) {
                    api.hint = Some(format!(
                        "check the mesh id `{mesh_id}`: the mesh must exist in the account of these credentials"
                    ));
                }
                Error::Api(api)
            }
            other => other,
        })?;
    parse_answer(&answer.body, answer.request_id.as_deref())
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
        "ExpireTime",
        parse_expire_time,
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

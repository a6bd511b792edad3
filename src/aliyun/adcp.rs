//! ACK One (Distributed Cloud Container Platform, adcp, API version 2022-01-01): the kubeconfig
//! of a fleet's hub cluster.
//!
//! A fleet lives in a region, and adcp has one endpoint per region
//! (`adcp.{region}.aliyuncs.com`). The SDKs fall back to a central `adcp.aliyuncs.com` for a
//! region they do not know; the plugin asks for a region instead (or an explicit endpoint),
//! since a fleet asked for in the wrong region is "not found" and the user would not know why.

use super::IssuedKubeconfig;
use super::access_key::Credentials;
use super::client::Client;
use super::endpoint;
use super::hints;
use super::request::RpcRequest;
use crate::error::{ApiError, Error};

const VERSION: &str = "2022-01-01";
pub(crate) use super::actions::HUB_CLUSTER_KUBECONFIG as ACTION;

/// The adcp endpoint of the fleet's region. Without a region there is none to pick: the error
/// says where a region can come from.
pub(crate) fn endpoint(region: Option<&str>) -> Result<String, Error> {
    match region {
        Some(region) => endpoint::regional("adcp", region, false).map_err(Error::Usage),
        None => Err(Error::Usage(
            "an ACK One fleet lives in a region, and none is known: give the fleet's region with \
             --region (or ALIBABA_CLOUD_REGION_ID, or region_id in the aliyun CLI profile), or \
             the API's address with --adcp-endpoint"
                .to_string(),
        )),
    }
}

/// `DescribeHubClusterKubeconfig` (RPC) for the hub cluster of fleet `fleet_id`. It takes no
/// lifetime and states no expiry: the certificate's NotAfter is the only one.
pub(crate) fn describe_hub_kubeconfig(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
    fleet_id: &str,
    private_ip: bool,
) -> Result<IssuedKubeconfig, Error> {
    let request = RpcRequest {
        action: ACTION,
        version: VERSION,
        target: format!("fleet {fleet_id}"),
        params: vec![
            ("ClusterId", fleet_id.to_string()),
            ("PrivateIpAddress", private_ip.to_string()),
        ],
    };
    let answer = client
        .rpc(endpoint, Some(credentials), &request)
        .map_err(|e| hints::with_hint(e, |api| fleet_hint(fleet_id, endpoint, api)))?;
    parse_answer(&answer.body, answer.request_id.as_deref())
}

/// The hint for a fleet that is not there: most often, one asked for in another region.
fn fleet_hint(fleet_id: &str, endpoint: &str, api: &ApiError) -> Option<String> {
    (api.status == 404 || api.code.contains("NotFound")).then(|| {
        format!(
            "check the fleet id `{fleet_id}` and its region: the fleet must exist in the account \
             of these credentials, in the region of {endpoint}"
        )
    })
}

/// `{"RequestId", "Kubeconfig": "<YAML>"}`.
pub(crate) fn parse_answer(
    body: &[u8],
    request_id: Option<&str>,
) -> Result<IssuedKubeconfig, Error> {
    IssuedKubeconfig::from_answer(ACTION, body, request_id, "Kubeconfig", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_fleets_region_and_there_is_no_central_one() {
        assert_eq!(
            endpoint(Some("cn-hangzhou")).unwrap(),
            "https://adcp.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(endpoint(None).unwrap_err().exit_code(), 2);
        assert_eq!(endpoint(Some("cn hangzhou")).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn the_answer_has_a_kubeconfig_and_no_expiry() {
        let issued = parse_answer(
            br#"{"RequestId":"R1","Kubeconfig":"apiVersion: v1\n","ExpireTime":"2026-01-02 03:04:05"}"#,
            None,
        )
        .unwrap();
        assert_eq!(issued.config, "apiVersion: v1\n");
        assert_eq!(issued.expiration, None, "the certificate is the authority");
        assert_eq!(issued.request_id.as_deref(), Some("R1"));
        let Err(error) = parse_answer(br#"{"RequestId":"R2"}"#, Some("R2")) else {
            panic!("an answer without a kubeconfig was taken");
        };
        assert_eq!(
            error.to_string(),
            "DescribeHubClusterKubeconfig returned an answer that cannot be used: the body has no \
             `Kubeconfig` (the kubeconfig) (RequestId: R2)\nhint: try again; if it persists, \
             report it with the RequestId"
        );
    }
}

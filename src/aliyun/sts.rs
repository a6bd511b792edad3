//! Security Token Service (sts, API version 2015-04-01): assuming RAM roles.

use serde_json::Value;

use super::access_key::Credentials;
use super::answer::Reading;
use super::client::Client;
use super::endpoint;
use super::request::RpcRequest;
use crate::error::Error;
use crate::secret::Secret;

const VERSION: &str = "2015-04-01";
pub(crate) use super::actions::{ASSUME_ROLE, ASSUME_ROLE_WITH_OIDC};
const GET_CALLER_IDENTITY: &str = "GetCallerIdentity";

/// Where STS is, from flags and variables: an explicit endpoint, else a region's
/// (`ALIBABA_CLOUD_STS_REGION`, else a profile's `sts_region`), VPC or public, else the central
/// endpoint. A profile may name its own ([`ProfileSts`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct StsEndpoint {
    /// `--sts-endpoint`, `ACK_STS_ENDPOINT` or `ALIBABA_CLOUD_STS_ENDPOINT`, as a base URL.
    pub(crate) explicit: Option<String>,
    /// `ALIBABA_CLOUD_STS_REGION`.
    pub(crate) region: Option<String>,
    /// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`, or `ALIBABA_CLOUD_ENDPOINT_TYPE=vpc`.
    pub(crate) vpc: bool,
}

/// What a credentials profile says about STS: an aliyun CLI profile's `sts_endpoint`,
/// `sts_region` and `enable_vpc` (or `endpoint_type` `vpc`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProfileSts<'a> {
    pub(crate) endpoint: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    pub(crate) vpc: bool,
}

impl StsEndpoint {
    /// The base URL of STS for a source configured with `profile`.
    pub(crate) fn resolve(&self, profile: ProfileSts) -> Result<String, Error> {
        if let Some(url) = &self.explicit {
            return Ok(url.clone());
        }
        if let Some(text) = profile.endpoint {
            return host_or_url(text)
                .map_err(|why| Error::Usage(format!("the profile's sts_endpoint: {why}")));
        }
        match self.region.as_deref().or(profile.region) {
            Some(region) => {
                endpoint::regional("sts", region, self.vpc || profile.vpc).map_err(Error::Usage)
            }
            None => Ok(DEFAULT_ENDPOINT.to_string()),
        }
    }
}

/// The central STS endpoint.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://sts.aliyuncs.com";

/// An STS endpoint as the SDKs and the aliyun CLI take it (`ALIBABA_CLOUD_STS_ENDPOINT`, a
/// profile's `sts_endpoint`): a host name, reached over https (`sts.cn-hangzhou.aliyuncs.com`),
/// or, beyond them, a base URL with its scheme, held to the rules of every endpoint override
/// ([`endpoint::validate`]: plain http for loopback hosts only).
pub(crate) fn host_or_url(text: &str) -> Result<String, String> {
    if text.contains("://") {
        return endpoint::validate(text);
    }
    let is_host = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !is_host {
        return Err(format!(
            "{text:?} is neither a host name (sts.cn-hangzhou.aliyuncs.com) nor a base URL"
        ));
    }
    endpoint::validate(&format!("https://{text}"))
}

/// The default `RoleSessionName`: it shows in ActionTrail as who assumed the role.
pub(crate) const DEFAULT_SESSION_NAME: &str = "ack-credential-plugin";
/// The shortest session STS grants.
pub(crate) const MIN_DURATION_SECONDS: u64 = 900;
pub(crate) const DEFAULT_DURATION_SECONDS: u64 = 3600;

/// What `AssumeRole` and `AssumeRoleWithOIDC` have in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleRequest {
    pub(crate) role_arn: String,
    pub(crate) session_name: String,
    pub(crate) duration_seconds: u64,
    pub(crate) external_id: Option<String>,
    pub(crate) policy: Option<String>,
}

impl RoleRequest {
    pub(crate) fn new(role_arn: &str) -> Self {
        RoleRequest {
            role_arn: role_arn.to_string(),
            session_name: DEFAULT_SESSION_NAME.to_string(),
            duration_seconds: DEFAULT_DURATION_SECONDS,
            external_id: None,
            policy: None,
        }
    }

    /// The configured session name (else the default stays) and session policy.
    pub(crate) fn with(mut self, session_name: Option<&str>, policy: Option<&str>) -> Self {
        if let Some(name) = session_name {
            self.session_name = name.to_string();
        }
        self.policy = policy.map(str::to_string);
        self
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("RoleArn", self.role_arn.clone()),
            ("RoleSessionName", self.session_name.clone()),
            ("DurationSeconds", self.duration_seconds.to_string()),
        ];
        if let Some(id) = &self.external_id {
            params.push(("ExternalId", id.clone()));
        }
        if let Some(policy) = &self.policy {
            params.push(("Policy", policy.clone()));
        }
        params
    }
}

/// `AssumeRole`, signed with `credentials`.
pub(crate) fn assume_role(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
    role: &RoleRequest,
) -> Result<Credentials, Error> {
    let request = RpcRequest {
        action: ASSUME_ROLE,
        version: VERSION,
        target: format!("role {}", role.role_arn),
        params: role.params(),
    };
    let answer = client.rpc(endpoint, Some(credentials), &request)?;
    parse_credentials(request.action, &answer.body, answer.request_id.as_deref())
}

/// `AssumeRoleWithOIDC`: unsigned; the OIDC token is the proof.
pub(crate) fn assume_role_with_oidc(
    client: &Client,
    endpoint: &str,
    provider_arn: &str,
    oidc_token: &Secret,
    role: &RoleRequest,
) -> Result<Credentials, Error> {
    let mut params = role.params();
    params.push(("OIDCProviderArn", provider_arn.to_string()));
    params.push(("OIDCToken", oidc_token.expose().to_string()));
    let request = RpcRequest {
        action: ASSUME_ROLE_WITH_OIDC,
        version: VERSION,
        target: format!("role {}", role.role_arn),
        params,
    };
    let answer = client.rpc(endpoint, None, &request)?;
    parse_credentials(request.action, &answer.body, answer.request_id.as_deref())
}

/// Who a set of credentials belongs to, as STS `GetCallerIdentity` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerIdentity {
    pub(crate) account_id: String,
    /// `acs:ram::<account>:user/<name>`, `acs:ram::<account>:assumed-role/<role>/<session>`,
    /// `acs:ram::<account>:root`.
    pub(crate) arn: String,
    /// `Account` (the main account), `RAMUser` or `AssumedRoleUser`.
    pub(crate) identity_type: String,
    pub(crate) request_id: Option<String>,
}

/// `GetCallerIdentity`, signed with `credentials`: every identity may call it, so it tells
/// whether the credentials work at all, and whose they are.
pub(crate) fn get_caller_identity(
    client: &Client,
    endpoint: &str,
    credentials: &Credentials,
) -> Result<CallerIdentity, Error> {
    let request = RpcRequest {
        action: GET_CALLER_IDENTITY,
        version: VERSION,
        target: "these credentials".to_string(),
        params: Vec::new(),
    };
    let answer = client.rpc(endpoint, Some(credentials), &request)?;
    parse_caller_identity(&answer.body, answer.request_id.as_deref())
}

fn parse_caller_identity(body: &[u8], request_id: Option<&str>) -> Result<CallerIdentity, Error> {
    let reading = Reading {
        action: GET_CALLER_IDENTITY,
        request_id,
    };
    let body = reading.json(body)?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| reading.bad(format!("the body has no `{name}`")))
    };
    Ok(CallerIdentity {
        account_id: field("AccountId")?,
        arn: field("Arn")?,
        identity_type: field("IdentityType")?,
        request_id: request_id.map(str::to_string),
    })
}

/// `{"Credentials": {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}}`.
/// Errors never quote the body: it holds the secret.
pub(crate) fn parse_credentials(
    action: &'static str,
    body: &[u8],
    request_id: Option<&str>,
) -> Result<Credentials, Error> {
    let reading = Reading { action, request_id };
    let body = reading.json(body)?;
    Credentials::from_session_json(&body["Credentials"], "the answer's Credentials")
        .map_err(|why| reading.bad(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_endpoint_precedence() {
        let profile = |region| ProfileSts {
            region,
            ..ProfileSts::default()
        };
        let central = StsEndpoint::default();
        assert_eq!(
            central.resolve(ProfileSts::default()).unwrap(),
            "https://sts.aliyuncs.com"
        );
        assert_eq!(
            central.resolve(profile(Some("cn-hangzhou"))).unwrap(),
            "https://sts.cn-hangzhou.aliyuncs.com"
        );
        let profile_vpc = ProfileSts {
            region: Some("cn-hangzhou"),
            vpc: true,
            ..ProfileSts::default()
        };
        assert_eq!(
            central.resolve(profile_vpc).unwrap(),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
        let regional = StsEndpoint {
            region: Some("cn-beijing".into()),
            vpc: true,
            ..StsEndpoint::default()
        };
        assert_eq!(
            regional.resolve(profile(Some("cn-hangzhou"))).unwrap(),
            "https://sts-vpc.cn-beijing.aliyuncs.com"
        );
        let named = ProfileSts {
            endpoint: Some("sts.cn-shanghai.aliyuncs.com"),
            ..profile_vpc
        };
        assert_eq!(
            central.resolve(named).unwrap(),
            "https://sts.cn-shanghai.aliyuncs.com"
        );
        let explicit = StsEndpoint {
            explicit: Some("http://127.0.0.1:1".into()),
            ..regional
        };
        assert_eq!(explicit.resolve(named).unwrap(), "http://127.0.0.1:1");
        assert!(central.resolve(profile(Some("cn hangzhou/"))).is_err());
    }

    #[test]
    fn sts_endpoint_is_a_host_or_a_url() {
        assert_eq!(
            host_or_url("sts.cn-hangzhou.aliyuncs.com").unwrap(),
            "https://sts.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            host_or_url("sts-vpc.cn-hangzhou.aliyuncs.com:443").unwrap(),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            host_or_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            host_or_url("https://sts.example.com").unwrap(),
            "https://sts.example.com"
        );
        for bad in [
            "",
            "http://sts.aliyuncs.com",
            "sts.aliyuncs.com/path",
            "sts aliyuncs com",
            "user@sts.aliyuncs.com",
        ] {
            assert!(host_or_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_sts_credentials_without_quoting_them() {
        let body = br#"{"RequestId":"R","Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-01-01T00:00:00Z"}}"#;
        let credentials = parse_credentials("AssumeRole", body, None).unwrap();
        assert_eq!(credentials.access_key_id, "STS.x");
        assert_eq!(credentials.security_token.unwrap().expose(), "t");
        let partial = br#"{"Credentials":{"AccessKeyId":"STS.x","AccessKeySecret":"TOPSECRET"}}"#;
        let error = parse_credentials("AssumeRole", partial, None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("SecurityToken") && !error.contains("TOPSECRET"),
            "{error}"
        );
    }

    #[test]
    fn reads_the_caller_identity() {
        let body = br#"{"RequestId":"R","AccountId":"123","UserId":"456","PrincipalId":"456","IdentityType":"RAMUser","Arn":"acs:ram::123:user/dev"}"#;
        let identity = parse_caller_identity(body, Some("R")).unwrap();
        assert_eq!(identity.account_id, "123");
        assert_eq!(identity.arn, "acs:ram::123:user/dev");
        assert_eq!(identity.identity_type, "RAMUser");
        let error = parse_caller_identity(br#"{"AccountId":"1"}"#, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "GetCallerIdentity returned an answer that cannot be used: the body has no `Arn`\n\
             hint: try again; if it persists, report it with the RequestId"
        );
    }

    #[test]
    fn sends_optional_parameters_only_when_set() {
        let mut role = RoleRequest::new("acs:ram::1:role/r");
        assert_eq!(role.params().len(), 3);
        role.external_id = Some("e".into());
        role.policy = Some("{}".into());
        let names: Vec<_> = role.params().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "RoleArn",
                "RoleSessionName",
                "DurationSeconds",
                "ExternalId",
                "Policy"
            ]
        );
    }
}

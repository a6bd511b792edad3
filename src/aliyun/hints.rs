//! What the user can do about an error answer: a remedy per code, the two causes of a
//! signature mismatch told apart, and clock skew shown in seconds.

use super::access_key::Credentials;
use super::actions;
use super::error::is_throttling;
use super::sign;
use crate::error::{ApiError, Error};
use crate::log::verbose;

/// What the user can do about an error, for the codes that have a clear remedy.
pub(crate) fn hint(action: &str, status: u16, code: &str) -> Option<String> {
    let hint = match code {
        "IncompleteSignature" => {
            "the server found the signature incomplete: this is a bug in the plugin, please report it".into()
        }
        "InvalidAccessKeyId.NotFound" => {
            "this AccessKey ID does not exist: check ALIBABA_CLOUD_ACCESS_KEY_ID".into()
        }
        "InvalidAccessKeyId.Inactive" => {
            "this AccessKey is disabled: enable it in the RAM console or use another".into()
        }
        "MissingSecurityToken" => {
            "an STS AccessKey needs its token: set ALIBABA_CLOUD_SECURITY_TOKEN".into()
        }
        "SignatureNonceUsed" => "a request was replayed; try again".into(),
        _ if code.starts_with("InvalidSecurityToken") => {
            "the STS security token is wrong or has expired: get fresh temporary credentials".into()
        }
        _ if is_throttling(status, code) => {
            "the API is throttling requests from this account; wait a little and try again".into()
        }
        _ if code.starts_with("Forbidden") || code.starts_with("NoPermission") || status == 403 => {
            permission_hint(action)
        }
        _ if (500..600).contains(&status) => {
            "the service is having trouble; try again in a few minutes".into()
        }
        _ => return None,
    };
    Some(hint)
}

/// `error` with the hint `hint` finds for it, when it is an API error with one: a call that
/// knows what it asked for (a cluster id, a mesh id) can say more than [`hint`] can.
pub(crate) fn with_hint(error: Error, hint: impl FnOnce(&ApiError) -> Option<String>) -> Error {
    match error {
        Error::Api(mut api) => {
            if let Some(hint) = hint(&api) {
                api.hint = Some(hint);
            }
            Error::Api(api)
        }
        other => other,
    }
}

/// What to grant for a refused call. STS needs both sides: the caller's `sts:AssumeRole` and
/// the role's trust policy naming the caller.
fn permission_hint(action: &str) -> String {
    match action {
        actions::ASSUME_ROLE | actions::ASSUME_ROLE_WITH_OIDC => format!(
            "this identity may not assume the role: it needs `sts:{action}` in RAM, and the \
             role's trust policy must name it as a principal"
        ),
        actions::SERVICE_MESH_KUBECONFIG | actions::LIST_SERVICE_MESHES => format!(
            "this identity is not allowed to call {action}: grant `servicemesh:{action}` in RAM, \
             or use another identity"
        ),
        actions::HUB_CLUSTER_KUBECONFIG => format!(
            "this identity is not allowed to call {action}: grant `adcp:{action}` in RAM, or use \
             another identity"
        ),
        // Listing clusters is RAM's `cs:GetClusters`, not an action named after the API.
        actions::LIST_CLUSTERS => format!(
            "this identity is not allowed to list clusters ({action}): grant `cs:GetClusters` in \
             RAM, or use another identity"
        ),
        _ => format!(
            "this identity is not allowed to call {action}: grant `cs:{action}` in RAM, or use \
             another identity"
        ),
    }
}

/// `SignatureDoesNotMatch` has two causes: a wrong secret (the server signed the same string
/// we did) or a canonicalisation bug (it signed a different one). Comparing tells them apart.
pub(crate) fn signature_hint(
    server: Option<&str>,
    ours: &str,
    credentials: &Credentials,
) -> String {
    let redact = |text: &str| redact_token(text, credentials.security_token.as_ref());
    match server {
        Some(server) if server != ours => {
            verbose!("server string to sign: {:?}", redact(server));
            verbose!("our string to sign:    {:?}", redact(ours));
            "the server signed a different request than the plugin did: this is a bug in the \
             plugin (or a proxy changed the request); please report it with the output of -v"
                .to_string()
        }
        _ => format!(
            "the AccessKey secret does not belong to AccessKey ID {}: check \
             ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your profile)",
            credentials.access_key_id
        ),
    }
}

/// A string to sign with the STS token taken out. The token is in it raw (a ROA header) or
/// percent-encoded twice (an RPC parameter, encoded again inside the canonical query).
fn redact_token(text: &str, token: Option<&crate::secret::Secret>) -> String {
    let Some(token) = token else {
        return text.to_string();
    };
    let once = sign::percent_encode(token.expose());
    let twice = sign::percent_encode(&once);
    text.replace(&twice, "***")
        .replace(&once, "***")
        .replace(token.expose(), "***")
}

/// The request time was refused: name both clocks so the user can see the skew.
pub(crate) fn clock_skew_hint(server_date: Option<&str>) -> String {
    let local = crate::time::now();
    match server_date.and_then(crate::time::parse_http_date) {
        Some(server) => format!(
            "this machine's clock is off by {} s: it reads {} but the server's reads {}. The API \
             accepts requests within 15 minutes of its time; synchronise the clock (NTP, chrony) \
             and try again",
            local - server,
            crate::time::rfc3339(local),
            crate::time::rfc3339(server),
        ),
        None => format!(
            "the server refused this machine's clock ({}): the API accepts requests within 15 \
             minutes of its time; synchronise the clock (NTP, chrony) and try again",
            crate::time::rfc3339(local)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_hints_name_the_right_product() {
        assert!(
            hint("AssumeRole", 403, "NoPermission")
                .unwrap()
                .contains("sts:AssumeRole")
        );
        assert!(
            hint("AssumeRole", 403, "NoPermission")
                .unwrap()
                .contains("trust policy")
        );
        let cs = hint("DescribeClusterUserKubeconfig", 403, "Forbidden.RAM").unwrap();
        assert!(cs.contains("cs:DescribeClusterUserKubeconfig"), "{cs}");
        let mesh = hint("DescribeServiceMeshKubeconfig", 403, "Forbidden").unwrap();
        assert!(mesh.contains("servicemesh:"), "{mesh}");
        let meshes = hint("DescribeServiceMeshes", 403, "Forbidden.RAM").unwrap();
        assert!(
            meshes.contains("`servicemesh:DescribeServiceMeshes`"),
            "{meshes}"
        );
        let fleet = hint("DescribeHubClusterKubeconfig", 403, "Forbidden.RAM").unwrap();
        assert!(
            fleet.contains("`adcp:DescribeHubClusterKubeconfig`"),
            "{fleet}"
        );
        let list = hint("DescribeClustersV1", 403, "Forbidden.RAM").unwrap();
        assert!(list.contains("`cs:GetClusters`"), "{list}");
    }

    #[test]
    fn strings_to_sign_are_shown_without_the_token_in_any_encoding() {
        let token = crate::secret::Secret::new("CAIS+abc/def==");
        let rpc = sign::rpc_string_to_sign("POST", &[("SecurityToken", token.expose())]);
        let roa = sign::roa_string_to_sign(
            "GET",
            "/k8s/c1/user_config",
            &[],
            &[("x-acs-security-token", token.expose())],
        );
        for text in [rpc, roa] {
            let shown = redact_token(&text, Some(&token));
            assert!(!shown.contains("CAIS") && shown.contains("***"), "{shown}");
        }
    }
}

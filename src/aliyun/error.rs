//! Error answers from Alibaba Cloud APIs: reading both body spellings, deciding whether a retry
//! can help, and the hint that tells the user what to do.

use std::fmt;

use serde_json::Value;

/// An error answer from an API, with everything the user needs to act on it or report it.
#[derive(Debug)]
pub struct ApiError {
    /// The API name, e.g. `DescribeClusterUserKubeconfig`.
    pub action: &'static str,
    /// What the call was about, e.g. `cluster c0123`.
    pub target: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// How many attempts ended this way (retryable errors are retried).
    pub attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {} failed: {}: {} (HTTP {}",
            self.action, self.target, self.code, self.message, self.status
        )?;
        if let Some(id) = &self.request_id {
            write!(f, ", RequestId: {id}")?;
        }
        f.write_str(")")?;
        if self.attempts > 1 {
            write!(f, ", {} attempts", self.attempts)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// The parts of an error body, read from either spelling: gateway and RPC errors use
/// `{"Code", "Message", "RequestId"}`, cs business errors `{"code", "message", "requestId"}`.
#[derive(Debug, Default, PartialEq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    /// For `SignatureDoesNotMatch`, the string the server signed, cut off the message. It can
    /// hold the security token (a signed header), so it is never shown as it stands.
    pub server_string_to_sign: Option<String>,
}

/// The marker before the server's string to sign in a `SignatureDoesNotMatch` message.
const SERVER_STRING_TO_SIGN: &str = "server string to sign is:";

impl ErrorBody {
    /// Read an error body; anything that is not a JSON object gives an empty `ErrorBody`.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody::default();
        };
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| map.get(*name).and_then(Value::as_str))
                .map(str::to_string)
        };
        let mut message = field(&["Message", "message"]);
        let mut server_string_to_sign = None;
        if let Some(text) = &message
            && let Some(at) = text.find(SERVER_STRING_TO_SIGN)
        {
            server_string_to_sign = Some(text[at + SERVER_STRING_TO_SIGN.len()..].to_string());
            message = Some(text[..at].trim_end().to_string());
        }
        ErrorBody {
            code: field(&["Code", "code"]),
            message,
            request_id: field(&["RequestId", "requestId", "request_id"]),
            server_string_to_sign,
        }
    }
}

/// Whether an error answer is worth another attempt. The calls the plugin makes are all
/// read-only, so a retry cannot do harm; it only cannot help with signature, key, token,
/// permission and parameter errors.
pub fn is_retryable(status: u16, code: &str) -> bool {
    is_throttling(status, code)
        || matches!(
            code,
            "ServiceUnavailable" | "InternalError" | "UnknownError"
        )
        || matches!(status, 500 | 502 | 503 | 504) && !is_permanent(code)
}

/// Throttling: HTTP 429, or a `Throttling*` code (which comes with HTTP 400).
pub fn is_throttling(status: u16, code: &str) -> bool {
    status == 429 || code == "Throttling" || code.starts_with("Throttling.")
}

fn is_permanent(code: &str) -> bool {
    code == "SignatureDoesNotMatch"
        || code == "IncompleteSignature"
        || code == "MissingSecurityToken"
        || code.starts_with("InvalidAccessKeyId")
        || code.starts_with("InvalidSecurityToken")
        || code.starts_with("Forbidden")
}

/// What the user can do about an error, for the codes that have a clear remedy.
pub fn hint(action: &str, status: u16, code: &str) -> Option<String> {
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

/// What to grant for a refused call. STS needs both sides: the caller's `sts:AssumeRole` and
/// the role's trust policy naming the caller.
fn permission_hint(action: &str) -> String {
    match action {
        "AssumeRole" | "AssumeRoleWithOIDC" => format!(
            "this identity may not assume the role: it needs `sts:{action}` in RAM, and the \
             role's trust policy must name it as a principal"
        ),
        "DescribeServiceMeshKubeconfig" => format!(
            "this identity is not allowed to call {action}: grant `servicemesh:{action}` in RAM, \
             or use another identity"
        ),
        _ => format!(
            "this identity is not allowed to call {action}: grant `cs:{action}` in RAM, or use \
             another identity"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_spellings_of_error_bodies() {
        let gateway = br#"{"RequestId":"R1","HostId":"cs.aliyuncs.com","Code":"Forbidden.RAM","Message":"no"}"#;
        assert_eq!(
            ErrorBody::parse(gateway),
            ErrorBody {
                code: Some("Forbidden.RAM".into()),
                message: Some("no".into()),
                request_id: Some("R1".into()),
                server_string_to_sign: None,
            }
        );
        let business =
            br#"{"code":"ErrorClusterNotFound","message":"cluster c1 not found","requestId":"R2","status":404}"#;
        let body = ErrorBody::parse(business);
        assert_eq!(body.code.as_deref(), Some("ErrorClusterNotFound"));
        assert_eq!(body.request_id.as_deref(), Some("R2"));
        assert_eq!(
            ErrorBody::parse(b"<html>bad gateway</html>"),
            ErrorBody::default()
        );
    }

    #[test]
    fn cuts_the_server_string_to_sign_off_the_message() {
        let body = br#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:GET\n\nx-acs-security-token:SECRET\n/k8s"}"#;
        let body = ErrorBody::parse(body);
        assert_eq!(
            body.message.as_deref(),
            Some("Specified signature is not matched with our calculation.")
        );
        assert_eq!(
            body.server_string_to_sign.as_deref(),
            Some("GET\n\nx-acs-security-token:SECRET\n/k8s")
        );
    }

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
    }

    #[test]
    fn retries_only_what_a_retry_can_fix() {
        assert!(is_retryable(503, ""));
        assert!(!is_retryable(501, ""), "not implemented stays so");
        assert!(is_retryable(500, "InternalError"));
        assert!(is_retryable(400, "Throttling.User"));
        assert!(is_retryable(429, ""));
        assert!(is_retryable(400, "ServiceUnavailable"));
        assert!(!is_retryable(400, "SignatureDoesNotMatch"));
        assert!(!is_retryable(404, "InvalidAccessKeyId.NotFound"));
        assert!(!is_retryable(403, "Forbidden.RAM"));
        assert!(!is_retryable(400, "InvalidSecurityToken.Expired"));
        assert!(!is_retryable(400, "MissingParameter"));
        assert!(!is_retryable(404, "ErrorClusterNotFound"));
    }
}

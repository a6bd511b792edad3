//! Error answers from Alibaba Cloud APIs: reading both body spellings, deciding whether a retry
//! can help, and the hint that tells the user what to do.

use std::fmt::Write;

use serde_json::Value;

/// The parts of an error body, read from either spelling: gateway and RPC errors use
/// `{"Code", "Message", "RequestId"}`, cs business errors `{"code", "message", "requestId"}`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ErrorBody {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) request_id: Option<String>,
    /// For `SignatureDoesNotMatch`, the string the server signed, cut off the message. It can
    /// hold the security token (a signed header), so it is never shown as it stands.
    pub(crate) server_string_to_sign: Option<String>,
}

/// The marker before the server's string to sign in a `SignatureDoesNotMatch` message.
const SERVER_STRING_TO_SIGN: &str = "server string to sign is:";

impl ErrorBody {
    /// Read an error body; anything that is not a JSON object gives an empty `ErrorBody`.
    pub(crate) fn parse(body: &[u8]) -> ErrorBody {
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

    /// Append `, Code: ..., Message: ..., RequestId: ...` to `text`, for the fields the body
    /// has: how a service that is not an OpenAPI (the CloudSSO portal, the OAuth site) is
    /// quoted when it answers with an error.
    pub(crate) fn append_to(&self, text: &mut String) {
        for (label, value) in [
            ("Code", &self.code),
            ("Message", &self.message),
            ("RequestId", &self.request_id),
        ] {
            if let Some(value) = value {
                let _ = write!(text, ", {label}: {value}");
            }
        }
    }
}

/// Whether an error answer is worth another attempt. The calls the plugin makes are all
/// read-only, so a retry cannot do harm; it only cannot help with signature, key, token,
/// permission and parameter errors.
pub(crate) fn is_retryable(status: u16, code: &str) -> bool {
    is_throttling(status, code)
        || matches!(
            code,
            "ServiceUnavailable" | "InternalError" | "UnknownError"
        )
        || matches!(status, 500 | 502 | 503 | 504) && !is_permanent(code)
}

/// Throttling: HTTP 429, or a `Throttling*` code (which comes with HTTP 400).
pub(crate) fn is_throttling(status: u16, code: &str) -> bool {
    status == 429 || code == "Throttling" || code.starts_with("Throttling.")
}

/// Whether an error says the credentials themselves are no good (an unknown or disabled
/// AccessKey, an expired or malformed STS token): new credentials may succeed where these
/// failed. A permission error is not one of these.
pub(crate) fn refuses_credentials(error: &crate::error::Error) -> bool {
    match error {
        crate::error::Error::Api(api) => {
            api.code.starts_with("InvalidAccessKeyId")
                || api.code.starts_with("InvalidSecurityToken")
        }
        crate::error::Error::Source { error, .. } => refuses_credentials(error),
        _ => false,
    }
}

fn is_permanent(code: &str) -> bool {
    code == "SignatureDoesNotMatch"
        || code == "IncompleteSignature"
        || code == "MissingSecurityToken"
        || code.starts_with("InvalidAccessKeyId")
        || code.starts_with("InvalidSecurityToken")
        || code.starts_with("Forbidden")
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

//! ROA V2 (HMAC-SHA1), the cs API's signature: the verifier, written from the public reference
//! (not shared with `src/`), and the gateway checks around it, in the order the fake applies
//! them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use super::MAX_CLOCK_SKEW;
use super::accounts::{Principal, Refusal, check_not_expired, check_security_token};
use super::cs::CS_API_VERSION;
use super::http::{HttpRequest, Reply, find_header};
use super::log::Outcome;
use super::state::Shared;

const CS_HOST_ID: &str = "cs.aliyuncs.com";

/// The ROA V2 string to sign:
/// `METHOD\nAccept\nContent-MD5\nContent-Type\nDate\n` + `name:trimmed value\n` for every
/// `x-acs-*` header (lower-cased names, sorted) + path + (`?` + sorted `k=v` / bare `k` with raw,
/// decoded values, when there is a query).
pub fn roa_string_to_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let mut out = String::new();
    out.push_str(method);
    out.push('\n');
    for name in ["accept", "content-md5", "content-type", "date"] {
        out.push_str(find_header(headers, name).unwrap_or(""));
        out.push('\n');
    }
    let mut acs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k.starts_with("x-acs-"))
        .collect();
    acs.sort();
    for (name, value) in &acs {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(path);
    if !query.is_empty() {
        let mut sorted: Vec<&(String, String)> = query.iter().collect();
        sorted.sort();
        let joined: Vec<String> = sorted
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&joined.join("&"));
    }
    out
}

/// `base64(HMAC-SHA1(key = secret, string_to_sign))`.
pub fn roa_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Who a request authenticated as.
pub(super) struct Caller {
    pub principal: Principal,
}

/// Gateway checks, in the order the fake applies them: V3 ([`super::v3`]) when the request is
/// signed with it, else ROA V2.
pub(super) fn authenticate(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
) -> Result<Caller, Reply> {
    if super::v3::is_v3(&request.headers) {
        let fail = |status: u16, code: &str, message: String| {
            gateway_error(status, request_id, code, &message)
        };
        let key = super::v3::authenticate(shared, request, &fail)?;
        let api_version = request.header("x-acs-version").unwrap_or("");
        if api_version != CS_API_VERSION {
            return Err(gateway_error(
                400,
                request_id,
                "InvalidVersion",
                &format!("Specified parameter Version {api_version} is not valid."),
            ));
        }
        return Ok(Caller {
            principal: key.principal,
        });
    }
    for name in [
        "authorization",
        "date",
        "x-acs-signature-nonce",
        "x-acs-signature-method",
        "x-acs-signature-version",
    ] {
        if request.header(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(gateway_error(
                400,
                request_id,
                "IncompleteSignature",
                &format!(
                    "The request signature does not conform to Aliyun standards. Missing header {name}."
                ),
            ));
        }
    }
    for name in ["x-acs-version", "x-acs-action"] {
        if request.header(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(gateway_error(
                400,
                request_id,
                "MissingParameter",
                &format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            ));
        }
    }
    let method = request.header("x-acs-signature-method").unwrap_or("");
    if method != "HMAC-SHA1" {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidSignatureMethod",
            &format!("Specified signature method {method} is not valid for this fake (HMAC-SHA1)."),
        ));
    }
    let version = request.header("x-acs-signature-version").unwrap_or("");
    if version != "1.0" {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidSignatureVersion",
            &format!("Specified signature version {version} is not valid."),
        ));
    }
    let api_version = request.header("x-acs-version").unwrap_or("");
    if api_version != CS_API_VERSION {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidVersion",
            &format!("Specified parameter Version {api_version} is not valid."),
        ));
    }

    let authorization = request.header("authorization").unwrap_or("");
    let Some((key_id, signature)) = authorization
        .strip_prefix("acs ")
        .and_then(|rest| rest.split_once(':'))
    else {
        return Err(gateway_error(
            400,
            request_id,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards. Authorization is not 'acs AccessKeyId:Signature'.",
        ));
    };

    let refused =
        |(status, code, message): Refusal| gateway_error(status, request_id, code, message);
    let (known, fresh_nonce) = {
        let mut state = shared.lock();
        let known = state.accounts.known_key(key_id);
        let nonce = request
            .header("x-acs-signature-nonce")
            .unwrap_or("")
            .to_string();
        let fresh = state.nonces.insert(nonce);
        (known, fresh)
    };
    let (key, expires) = known.map_err(refused)?;
    check_security_token(&key, request.header("x-acs-security-token")).map_err(refused)?;

    let string_to_sign = roa_string_to_sign(
        &request.method,
        &request.path,
        &request.query,
        &request.headers,
    );
    let expected = roa_signature(&key.secret, &string_to_sign);
    if expected != signature {
        return Err(gateway_error(
            400,
            request_id,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }

    let date = request.header("date").unwrap_or("");
    let Ok(date) = DateTime::parse_from_rfc2822(date) else {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidTimeStamp.Format",
            &format!("Specified time stamp or date value {date:?} is not well formatted."),
        ));
    };
    let skew = date.with_timezone(&Utc) - shared.now();
    if skew.abs() > MAX_CLOCK_SKEW {
        return Err(gateway_error(
            400,
            request_id,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    if !fresh_nonce {
        return Err(gateway_error(
            400,
            request_id,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    check_not_expired(expires, shared.now()).map_err(refused)?;
    Ok(Caller {
        principal: key.principal,
    })
}

/// The body of a gateway error (and of injected faults): `{"RequestId", "HostId", "Code",
/// "Message", "Recommend"}`.
pub(super) fn gateway_error_body(request_id: &str, code: &str, message: &str) -> Value {
    json!({
        "RequestId": request_id,
        "HostId": CS_HOST_ID,
        "Code": code,
        "Message": message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product=CS"),
    })
}

/// An error answered by the gateway in front of cs (signature, key, version, RAM).
pub(super) fn gateway_error(status: u16, request_id: &str, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        gateway_error_body(request_id, code, message),
        Outcome::Rejected(code.to_string()),
    )
}

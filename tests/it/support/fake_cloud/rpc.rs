//! RPC V2 (HMAC-SHA1), the signature of STS and servicemesh: the verifier, written from the
//! public reference (not shared with `src/`), and the gateway checks every RPC request gets,
//! for any product on the listener.

use std::collections::HashSet;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

use super::MAX_CLOCK_SKEW;
use super::accounts::{AccessKey, Refusal, check_not_expired, check_security_token};
use super::http::{HttpRequest, Reply};
use super::log::Outcome;
use super::state::Shared;

/// Alibaba's percent-encoding: `A-Z a-z 0-9 - _ . ~` stay, every other UTF-8 byte is `%XY`
/// (upper-case hex); so a space is `%20`, `*` is `%2A`, `/` is `%2F`.
pub fn rpc_percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The RPC V2 string to sign: `METHOD&%2F&` + enc(canonical query), the canonical query being
/// every parameter except `Signature`, sorted by name, as `enc(name)=enc(value)` joined by `&`.
pub fn rpc_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (rpc_percent_encode(k), rpc_percent_encode(v)))
        .collect();
    sorted.sort();
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        rpc_percent_encode("/"),
        rpc_percent_encode(&canonical)
    )
}

/// `base64(HMAC-SHA1(key = secret + "&", string_to_sign))`.
pub fn rpc_signature(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// An RPC product on the listener: what its error bodies name and the API version it serves.
#[derive(Clone, Copy)]
pub(super) struct RpcProduct {
    /// For messages: `STS`, `ASM`.
    pub name: &'static str,
    pub host_id: &'static str,
    /// The `product` of the `Recommend` link.
    pub recommend: &'static str,
    pub version: &'static str,
}

pub(super) fn rpc_product_error(
    product: RpcProduct,
    status: u16,
    request_id: &str,
    code: &str,
    message: &str,
) -> Reply {
    Reply::json(
        status,
        json!({
            "RequestId": request_id,
            "HostId": product.host_id,
            "Code": code,
            "Message": message,
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={code}&product={}",
                product.recommend
            ),
        }),
        Outcome::Rejected(code.to_string()),
    )
}

/// The checks every RPC request gets before its signature: method, form body, no parameter
/// twice, `Action`, `Version` (the product's), `Format=JSON`. Returns the action.
pub(super) fn rpc_envelope<'r>(
    request: &'r HttpRequest,
    request_id: &str,
    product: RpcProduct,
) -> Result<&'r str, Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    if request.method != "POST" && request.method != "GET" {
        return Err(fail(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api is not found, please check your url and method: {} /",
                request.method
            ),
        ));
    }
    if !request.body.is_empty() && !request.is_form() {
        return Err(fail(
            400,
            "InvalidParameter.ContentType",
            format!(
                "The request body must be application/x-www-form-urlencoded (Content-Type: {:?}).",
                request.header("content-type")
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (name, _) in &request.params {
        if !seen.insert(name.as_str()) {
            return Err(fail(
                400,
                "InvalidParameter.Duplicate",
                format!(
                    "The parameter {name} is sent more than once (query and form body are merged)."
                ),
            ));
        }
    }
    let Some(action) = request.param("Action").filter(|a| !a.is_empty()) else {
        return Err(fail(
            400,
            "MissingParameter",
            "The input parameter \"Action\" that is mandatory for processing this request is not supplied.".to_string(),
        ));
    };
    match request.param("Version") {
        Some(version) if version == product.version => {}
        None | Some("") => {
            return Err(fail(
                400,
                "MissingParameter",
                "The input parameter \"Version\" that is mandatory for processing this request is not supplied.".to_string(),
            ));
        }
        Some(other) => {
            return Err(fail(
                400,
                "InvalidVersion",
                format!(
                    "Specified parameter Version {other} is not valid ({} is {}).",
                    product.name, product.version
                ),
            ));
        }
    }
    // V3 answers JSON without being asked; V2 defaults to XML.
    if !super::v3::is_v3(&request.headers) && request.param("Format") != Some("JSON") {
        return Err(fail(
            400,
            "InvalidParameter.Format",
            format!(
                "This fake answers JSON only, and {} defaults to XML: send Format=JSON (got {:?}).",
                product.name,
                request.param("Format")
            ),
        ));
    }
    Ok(action)
}

/// `Timestamp` (when present, or always when `required`) well formed and within 15 minutes;
/// `SignatureNonce` (when present) not used before.
pub(super) fn check_timestamp_and_nonce(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    product: RpcProduct,
    required: bool,
) -> Result<(), Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    match request.param("Timestamp") {
        None if !required => {}
        None => {
            return Err(fail(
                400,
                "MissingParameter",
                "The input parameter \"Timestamp\" that is mandatory for processing this request is not supplied.".to_string(),
            ));
        }
        Some(raw) => {
            let Ok(at) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%SZ") else {
                return Err(fail(
                    400,
                    "InvalidTimeStamp.Format",
                    format!(
                        "Specified time stamp or date value {raw:?} is not well formatted (yyyy-MM-ddTHH:mm:ssZ)."
                    ),
                ));
            };
            if (at.and_utc() - shared.now()).abs() > MAX_CLOCK_SKEW {
                return Err(fail(
                    400,
                    "InvalidTimeStamp.Expired",
                    "Specified time stamp or date value is expired.".to_string(),
                ));
            }
        }
    }
    if let Some(nonce) = request.param("SignatureNonce") {
        let fresh = shared.lock().nonces.insert(format!("rpc:{nonce}"));
        if !fresh {
            return Err(fail(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.".to_string(),
            ));
        }
    }
    Ok(())
}

/// The RPC gateway's checks of a signed request; returns the key it was signed with.
pub(super) fn rpc_authenticate(
    shared: &Shared,
    request: &HttpRequest,
    request_id: &str,
    product: RpcProduct,
) -> Result<AccessKey, Reply> {
    let fail = |status: u16, code: &str, message: String| {
        rpc_product_error(product, status, request_id, code, &message)
    };
    if super::v3::is_v3(&request.headers) {
        return super::v3::authenticate(shared, request, &fail);
    }
    for name in [
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
    ] {
        if request.param(name).is_none_or(str::is_empty) {
            return Err(fail(
                400,
                "IncompleteSignature",
                format!(
                    "The request signature does not conform to Aliyun standards. Missing parameter {name}."
                ),
            ));
        }
    }
    for name in ["SignatureNonce", "Timestamp"] {
        if request.param(name).is_none_or(str::is_empty) {
            return Err(fail(
                400,
                "MissingParameter",
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            ));
        }
    }
    let method = request.param("SignatureMethod").unwrap_or("");
    if method != "HMAC-SHA1" {
        return Err(fail(
            400,
            "InvalidSignatureMethod",
            format!("Specified signature method {method} is not valid for this fake (HMAC-SHA1)."),
        ));
    }
    let version = request.param("SignatureVersion").unwrap_or("");
    if version != "1.0" {
        return Err(fail(
            400,
            "InvalidSignatureVersion",
            format!("Specified signature version {version} is not valid."),
        ));
    }
    let refused = |(status, code, message): Refusal| fail(status, code, message.to_string());
    let key_id = request.param("AccessKeyId").unwrap_or("");
    let (key, expires) = shared.lock().accounts.known_key(key_id).map_err(refused)?;
    check_security_token(&key, request.param("SecurityToken")).map_err(refused)?;
    let string_to_sign = rpc_string_to_sign(&request.method, &request.params);
    let expected = rpc_signature(&key.secret, &string_to_sign);
    if request.param("Signature") != Some(expected.as_str()) {
        return Err(fail(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    check_timestamp_and_nonce(shared, request, request_id, product, true)?;
    check_not_expired(expires, shared.now()).map_err(refused)?;
    Ok(key)
}

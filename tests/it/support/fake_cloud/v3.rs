//! ACS3-HMAC-SHA256 (V3), the signature the official SDKs use by default, for ROA (cs) and RPC
//! (STS, servicemesh) alike: the verifier, written from the public reference (not shared with
//! `src/`), and the checks around it.
//!
//! A V3 request carries `Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,
//! Signature=<hex>` and the signed headers `host`, `x-acs-action`, `x-acs-version`,
//! `x-acs-date` (`2024-01-01T00:00:00Z`), `x-acs-signature-nonce`, `x-acs-content-sha256`
//! (hex SHA-256 of the body) and, with an STS key, `x-acs-security-token`. An RPC call's action
//! and version come from those headers instead of `Action`/`Version` parameters.

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::MAX_CLOCK_SKEW;
use super::accounts::{AccessKey, Refusal, check_not_expired, check_security_token};
use super::http::{HttpRequest, Reply};
use super::rpc::rpc_percent_encode;
use super::state::Shared;

pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Headers a V3 request must sign.
const REQUIRED: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// Whether a request is signed with V3 (by its `Authorization` header).
pub fn is_v3(request_headers: &[(String, String)]) -> bool {
    super::http::find_header(request_headers, "authorization")
        .is_some_and(|a| a.starts_with(V3_ALGORITHM))
}

/// The parts of a V3 `Authorization` header.
pub struct V3Authorization {
    pub access_key_id: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Option<V3Authorization> {
    let rest = value.strip_prefix(V3_ALGORITHM)?.strip_prefix(' ')?;
    let mut id = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => id = Some(value.to_string()),
            "SignedHeaders" => {
                signed = Some(
                    value
                        .split(';')
                        .filter(|h| !h.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
            }
            "Signature" => signature = Some(value.to_string()),
            _ => return None,
        }
    }
    Some(V3Authorization {
        access_key_id: id?,
        signed_headers: signed?,
        signature: signature?,
    })
}

/// The canonical request: `METHOD\nURI\nQUERY\nHEADERS\nSIGNED\nPAYLOAD-HASH`, the query
/// sorted and percent-encoded (`k=` for an empty value), each signed header `name:value\n`
/// (lower-cased, value trimmed, sorted).
pub fn v3_canonical_request(
    method: &str,
    encoded_path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (rpc_percent_encode(k), rpc_percent_encode(v)))
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut names: Vec<&String> = signed_headers.iter().collect();
    names.sort();
    let mut canonical_headers = String::new();
    for name in &names {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let signed = names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    format!("{method}\n{encoded_path}\n{query}\n{canonical_headers}\n{signed}\n{hashed_payload}")
}

/// `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)).
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}

/// hex(HMAC-SHA256(key = secret, string to sign)).
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        out
    })
}

/// The gateway's checks of a V3 request; `fail` builds the product's error answer. Returns the
/// key it was signed with.
pub(super) fn authenticate(
    shared: &Shared,
    request: &HttpRequest,
    fail: &dyn Fn(u16, &str, String) -> Reply,
) -> Result<AccessKey, Reply> {
    let Some(authorization) = request
        .header("authorization")
        .and_then(parse_authorization)
    else {
        return Err(fail(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards. Authorization is not \
             'ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...'."
                .to_string(),
        ));
    };
    for name in REQUIRED {
        if request.header(name).is_none_or(|v| v.trim().is_empty())
            || !authorization.signed_headers.iter().any(|h| h == name)
        {
            return Err(fail(
                400,
                "IncompleteSignature",
                format!(
                    "The request signature does not conform to Aliyun standards. Header {name} \
                     is missing or not signed."
                ),
            ));
        }
    }
    if authorization
        .signed_headers
        .iter()
        .any(|h| h != &h.to_ascii_lowercase())
    {
        return Err(fail(
            400,
            "IncompleteSignature",
            "SignedHeaders must be lower-case.".to_string(),
        ));
    }
    let body_hash = hex(&Sha256::digest(request.body.as_bytes()));
    if request.header("x-acs-content-sha256") != Some(body_hash.as_str()) {
        return Err(fail(
            400,
            "InvalidParameter.ContentSHA256",
            "x-acs-content-sha256 is not the SHA-256 of the body.".to_string(),
        ));
    }
    let refused = |(status, code, message): Refusal| fail(status, code, message.to_string());
    let (known, fresh_nonce) = {
        let mut state = shared.lock();
        let known = state.accounts.known_key(&authorization.access_key_id);
        let nonce = request.header("x-acs-signature-nonce").unwrap_or("");
        let fresh = state.nonces.insert(format!("v3:{nonce}"));
        (known, fresh)
    };
    let (key, expires) = known.map_err(refused)?;
    let token = request.header("x-acs-security-token");
    if token.is_some()
        && !authorization
            .signed_headers
            .iter()
            .any(|h| h == "x-acs-security-token")
    {
        return Err(fail(
            400,
            "IncompleteSignature",
            "Header x-acs-security-token is not signed.".to_string(),
        ));
    }
    check_security_token(&key, token).map_err(refused)?;
    let encoded_path = request.target.split('?').next().unwrap_or("/");
    let canonical = v3_canonical_request(
        &request.method,
        encoded_path,
        &request.query,
        &request.headers,
        &authorization.signed_headers,
        &body_hash,
    );
    let string_to_sign = v3_string_to_sign(&canonical);
    if v3_signature(&key.secret, &string_to_sign) != authorization.signature {
        return Err(fail(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign \
                 is:{string_to_sign}"
            ),
        ));
    }
    let date = request.header("x-acs-date").unwrap_or("");
    let Ok(at) = NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%SZ") else {
        return Err(fail(
            400,
            "InvalidTimeStamp.Format",
            format!("Specified time stamp or date value {date:?} is not well formatted."),
        ));
    };
    if (at.and_utc() - shared.now()).abs() > MAX_CLOCK_SKEW {
        return Err(fail(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.".to_string(),
        ));
    }
    if !fresh_nonce {
        return Err(fail(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.".to_string(),
        ));
    }
    check_not_expired(expires, shared.now()).map_err(refused)?;
    Ok(key)
}

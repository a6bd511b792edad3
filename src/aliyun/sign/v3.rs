//! ACS3-HMAC-SHA256, the V3 signature the official SDKs use by default, for ROA and RPC alike.
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n hex(sha256(body))
//! StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
//! Authorization    = ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<hex>
//! ```
//! The query is sorted by name, names and values percent-encoded, an empty value written as
//! `name=`. Headers are lower-cased, their values trimmed, sorted by name, one `name:value\n`
//! line each; two headers of the same name are merged into one line, their values sorted and
//! joined by `,` (as the Go and Python SDKs do; Java and PHP keep one, C# joins with `, `: the
//! plugin never sends a header twice). The HMAC key is the bare secret, and the signature is
//! lower-case hex, not base64 as in V2. Pure, like the V2 schemes: the vectors in
//! `testdata/v3-signature-vectors.json` pin every byte.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::percent_encode;
use crate::digest::{hex, sha256};

pub(crate) const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The canonical request and the `SignedHeaders` list. `path` is the canonical URI as sent
/// (already percent-encoded per segment); `headers` are the headers to sign.
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    hashed_payload: &str,
) -> (String, String) {
    let mut query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");

    let mut merged: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.trim()),
            None => merged.push((name, vec![value.trim()])),
        }
    }
    merged.sort();
    let mut canonical_headers = String::new();
    for (name, values) in &mut merged {
        values.sort_unstable();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let signed_headers = merged
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (
        format!(
            "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}"
        ),
        signed_headers,
    )
}

/// `ACS3-HMAC-SHA256\n` + hex(sha256(canonical request)).
pub(crate) fn string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}",
        hex(&sha256(canonical_request.as_bytes()))
    )
}

/// hex(HMAC-SHA256(secret, string to sign)).
pub(crate) fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub(crate) fn authorization(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
}

/// `x-acs-content-sha256`: hex(sha256(body)).
pub(crate) fn hashed_payload(body: &[u8]) -> String {
    hex(&sha256(body))
}

#[cfg(test)]
mod tests {
    //! Every vector of `v3-signature-vectors.json`: the documentation's request from its inputs,
    //! and each SDK's unit test from its canonical request (their header merging differs, and
    //! the plugin matches Go's and Python's, which are also built from their inputs).

    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../testdata/v3-signature-vectors.json");

    fn vectors() -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        all["vectors"].as_array().unwrap().clone()
    }

    fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} in {}", v["id"]))
    }

    /// Which test covers each vector: a family without a test fails here.
    #[test]
    fn every_vector_has_a_test() {
        for v in vectors() {
            let id = text(&v, "/id");
            let algorithm = text(&v, "/algorithm");
            assert!(
                algorithm == ALGORITHM || algorithm.starts_with("HexEncode(SHA-256)"),
                "vector {id} of family {algorithm} has no test"
            );
        }
    }

    #[test]
    fn the_documentation_example_from_its_inputs() {
        let v = vectors()
            .into_iter()
            .find(|v| v["id"] == "acs3-doc-runinstances")
            .unwrap();
        let inputs = &v["inputs"];
        let query: Vec<(&str, &str)> = inputs["query"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let headers: Vec<(&str, &str)> = inputs["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let payload = hashed_payload(text(inputs, "/body").as_bytes());
        assert_eq!(payload, text(&v, "/expected/hashed_request_payload"));
        let (canonical, signed) = canonical_request(
            text(inputs, "/method"),
            text(inputs, "/canonical_uri"),
            &query,
            &headers,
            &payload,
        );
        assert_eq!(canonical, text(&v, "/expected/canonical_request"));
        let to_sign = string_to_sign(&canonical);
        assert_eq!(to_sign, text(&v, "/expected/string_to_sign"));
        let signature = signature(text(inputs, "/access_key_secret"), &to_sign);
        assert_eq!(signature, text(&v, "/expected/signature"));
        assert_eq!(
            authorization(text(inputs, "/access_key_id"), &signed, &signature),
            text(&v, "/expected/authorization")
        );
    }

    /// Each SDK's `GetAuthorization` test: the signature and header from its canonical
    /// request; and where the SDK merges duplicate headers as the plugin does (Go, Python, C++,
    /// TypeScript), the canonical request itself from the SDK call's inputs.
    #[test]
    fn every_sdk_unit_test() {
        let mut checked = 0;
        for v in vectors() {
            if v["algorithm"] != ALGORITHM || v["id"] == "acs3-doc-runinstances" {
                continue;
            }
            let id = text(&v, "/id");
            let canonical = text(&v, "/inputs/canonical_request");
            let to_sign = string_to_sign(canonical);
            if let Some(expected) = v.pointer("/expected/string_to_sign") {
                assert_eq!(Some(to_sign.as_str()), expected.as_str(), "{id}");
            }
            let signature = signature(text(&v, "/inputs/access_key_secret"), &to_sign);
            assert_eq!(signature, text(&v, "/expected/signature"), "{id}");
            let signed = canonical.lines().rev().nth(1).unwrap();
            assert_eq!(
                authorization(text(&v, "/inputs/access_key_id"), signed, &signature),
                text(&v, "/expected/authorization"),
                "{id}"
            );

            let call = &v["inputs"]["sdk_call"];
            let merges_like_go = !["java", "csharp", "php"]
                .iter()
                .any(|sdk| id.starts_with(&format!("acs3-openapi-util-{sdk}")));
            if merges_like_go {
                let query: Vec<(&str, &str)> = call["query"]
                    .as_object()
                    .map(|q| {
                        q.iter()
                            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                            .collect()
                    })
                    .unwrap_or_default();
                let headers: Vec<(&str, &str)> = call["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                    .collect();
                // Each SDK's own quirks for a missing method and path (see the vector notes).
                let method = match text(call, "/method") {
                    "" if id.ends_with("-go") => "",
                    "" => "GET",
                    method => method,
                };
                let path = match text(call, "/pathname") {
                    "" if id.contains("-cpp") || id.contains("-ts") => "",
                    "" => "/",
                    path => path,
                };
                let (built, _) =
                    canonical_request(method, path, &query, &headers, text(call, "/payload_hash"));
                assert_eq!(built, canonical, "{id}");
            }
            checked += 1;
        }
        assert_eq!(checked, 9, "every SDK vector was checked");
    }

    #[test]
    fn sha256_primitives() {
        let mut checked = 0;
        for v in vectors() {
            if v["algorithm"] == "HexEncode(SHA-256) (primitive)" {
                assert_eq!(
                    hashed_payload(text(&v, "/inputs/data").as_bytes()),
                    text(&v, "/expected/hex")
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 2, "every SHA-256 vector was checked");
    }
}

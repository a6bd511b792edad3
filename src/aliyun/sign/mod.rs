//! Request signatures for Alibaba Cloud's V2 schemes: ROA (cs) and RPC (servicemesh, STS); the
//! V3 scheme (ACS3-HMAC-SHA256) is in [`v3`].
//!
//! Everything here is pure: the time, the nonce and the secret come in as arguments, so the
//! official test vectors in `testdata/signature-vectors.json` pin the exact bytes we sign.
//!
//! (Over 400 lines with its tests, which run every vector family of the official file: they
//! belong beside the signer.)

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub(crate) mod v3;

/// Alibaba's percent-encoding, used by every scheme: `A-Z a-z 0-9 - _ . ~` stay as they are, every
/// other UTF-8 byte becomes `%XY` with upper-case hex. So a space is `%20` (never `+`), `*` is
/// `%2A` and `/` is `%2F`: unlike form encoding, and unlike Java's `URLEncoder`.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// A URL path with each segment percent-encoded and the `/` separators kept.
pub(crate) fn percent_encode_path(path: &str) -> String {
    path.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// `base64(HMAC-SHA1(key, data))`, the signature primitive of both V2 schemes.
pub(crate) fn hmac_sha1_base64(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    BASE64.encode(mac.finalize().into_bytes())
}

/// The ROA V2 string to sign.
///
/// `headers` are the request's headers by name (any case). Only `Accept`, `Content-MD5`,
/// `Content-Type`, `Date` and headers whose lower-cased name starts with `x-acs-` are signed; a
/// missing one of the first four still leaves its empty line. The query is appended sorted by
/// name with RAW values (not percent-encoded), and an empty value is written as the bare name.
pub(crate) fn roa_string_to_sign(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| *value)
    };
    let mut out = String::new();
    out.push_str(method);
    out.push('\n');
    for name in ["Accept", "Content-MD5", "Content-Type", "Date"] {
        out.push_str(header(name));
        out.push('\n');
    }

    let mut acs: Vec<(String, &str)> = headers
        .iter()
        .map(|(key, value)| (key.to_ascii_lowercase(), value.trim()))
        .filter(|(key, _)| key.starts_with("x-acs-"))
        .collect();
    acs.sort();
    for (name, value) in acs {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }

    out.push_str(path);
    let mut query: Vec<&(&str, &str)> = query.iter().collect();
    query.sort();
    for (i, (name, value)) in query.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(name);
        if !value.is_empty() {
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

/// The ROA V2 `Authorization` header value. The HMAC key is the bare secret (no `&`, unlike RPC).
pub(crate) fn roa_authorization(
    access_key_id: &str,
    access_key_secret: &str,
    string_to_sign: &str,
) -> String {
    let signature = hmac_sha1_base64(access_key_secret.as_bytes(), string_to_sign.as_bytes());
    format!("acs {access_key_id}:{signature}")
}

/// The RPC V2 canonicalized query: every parameter sent (query and form body together, without
/// `Signature`), sorted by name, `enc(name)=enc(value)` joined by `&`.
pub(crate) fn rpc_canonical_query(params: &[(&str, &str)]) -> String {
    let mut params: Vec<&(&str, &str)> = params.iter().collect();
    params.sort();
    params
        .into_iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The RPC V2 string to sign: `METHOD&%2F&enc(canonical query)`. The HTTP method is signed, so a
/// POST signature does not verify as a GET.
pub(crate) fn rpc_string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&rpc_canonical_query(params))
    )
}

/// The RPC V2 `Signature` parameter (before it is itself percent-encoded into the URL or form).
/// The HMAC key is the secret followed by `&`.
pub(crate) fn rpc_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(
        format!("{access_key_secret}&").as_bytes(),
        string_to_sign.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    //! Every RPC, ROA and primitive vector from the official docs and SDK unit tests. The
    //! ACS3-HMAC-SHA256 vectors of this file are pinned in `v3.rs`, from the V3 file that holds
    //! them all.

    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    const VECTORS: &str = include_str!("../testdata/signature-vectors.json");

    fn vectors(algorithm_prefix: &str) -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| {
                v["algorithm"]
                    .as_str()
                    .unwrap()
                    .starts_with(algorithm_prefix)
            })
            .cloned()
            .collect()
    }

    fn pairs(map: &Value) -> Vec<(String, String)> {
        map.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect()
    }

    fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn every_vector_family_is_covered() {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        let families: BTreeSet<&str> = all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["algorithm"].as_str().unwrap())
            .collect();
        let covered = [
            "RPC-HMAC-SHA1",
            "ROA-HMAC-SHA1",
            "HMAC-SHA1-base64",
            "Content-MD5",
            "HexEncode(SHA-256)",
            "percent-encode",
        ];
        // V3's vectors here are all in the V3 file, whose tests cover every one of them.
        let v3: Value =
            serde_json::from_str(include_str!("../testdata/v3-signature-vectors.json")).unwrap();
        for vector in all["vectors"].as_array().unwrap() {
            if vector["algorithm"] == "ACS3-HMAC-SHA256" {
                assert!(
                    v3["vectors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|w| w["id"] == vector["id"] && w["expected"] == vector["expected"]),
                    "V3 vector {} is not in the V3 file",
                    vector["id"]
                );
            }
        }
        for family in families.into_iter().filter(|f| !f.starts_with("ACS3")) {
            assert!(
                covered.iter().any(|c| family.starts_with(c)),
                "vector family {family} has no test"
            );
        }
    }

    #[test]
    fn rpc_vectors() {
        let vectors = vectors("RPC-HMAC-SHA1");
        assert_eq!(vectors.len(), 9);
        for v in vectors {
            let id = v["id"].as_str().unwrap();
            let inputs = &v["inputs"];
            let expected = &v["expected"];
            let params = pairs(&inputs["params"]);
            let params = borrowed(&params);
            let method = inputs["method"].as_str().unwrap();
            let string_to_sign = rpc_string_to_sign(method, &params);
            if let Some(canonical) = expected["canonicalized_query"].as_str() {
                assert_eq!(rpc_canonical_query(&params), canonical, "{id}");
            }
            if let Some(sts) = expected["string_to_sign"].as_str() {
                assert_eq!(string_to_sign, sts, "{id}");
            }
            if let Some(signature) = expected["signature"].as_str() {
                let secret = inputs["access_key_secret"].as_str().unwrap();
                assert_eq!(rpc_signature(secret, &string_to_sign), signature, "{id}");
            }
            if let Some(url) = expected["signed_url"].as_str() {
                let signature = rpc_signature(
                    inputs["access_key_secret"].as_str().unwrap(),
                    &string_to_sign,
                );
                assert!(
                    url.contains(&format!("Signature={}", percent_encode(&signature))),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn roa_vectors() {
        let vectors = vectors("ROA-HMAC-SHA1");
        assert_eq!(vectors.len(), 8);
        for v in vectors {
            let id = v["id"].as_str().unwrap();
            let inputs = &v["inputs"];
            let expected = &v["expected"];
            let mut headers = pairs(&inputs["headers"]);
            // The form-body vector leaves Content-MD5 for the verifier to fill in.
            if let Some(body) = inputs["body"].as_str() {
                for (name, value) in &mut headers {
                    if name == "Content-MD5" && value.starts_with('<') {
                        *value = content_md5(body);
                    }
                }
            }
            let query = pairs(&inputs["query"]);
            let string_to_sign = roa_string_to_sign(
                inputs["method"].as_str().unwrap(),
                inputs["path"].as_str().unwrap(),
                &borrowed(&query),
                &borrowed(&headers),
            );
            if let Some(sts) = expected["string_to_sign"].as_str() {
                assert_eq!(string_to_sign, sts, "{id}");
            }
            let secret = inputs["access_key_secret"].as_str().unwrap_or_default();
            if let Some(signature) = expected["signature"].as_str() {
                assert_eq!(
                    hmac_sha1_base64(secret.as_bytes(), string_to_sign.as_bytes()),
                    signature,
                    "{id}"
                );
            }
            if let Some(authorization) = expected["authorization"].as_str() {
                let id_ = inputs["access_key_id"].as_str().unwrap();
                assert_eq!(
                    roa_authorization(id_, secret, &string_to_sign),
                    authorization,
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn hmac_vectors() {
        let vectors = vectors("HMAC-SHA1-base64");
        assert_eq!(vectors.len(), 8);
        for v in vectors {
            let inputs = &v["inputs"];
            let key = inputs["key"].as_str().unwrap();
            let data = inputs["string_to_sign"].as_str().unwrap();
            assert_eq!(
                hmac_sha1_base64(key.as_bytes(), data.as_bytes()),
                v["expected"]["signature"].as_str().unwrap(),
                "{}",
                v["id"]
            );
        }
    }

    #[test]
    fn percent_encoding_vectors() {
        let vectors = vectors("percent-encode");
        assert_eq!(vectors.len(), 4);
        for v in vectors {
            let inputs = &v["inputs"];
            let expected = &v["expected"];
            if let Some(value) = inputs["value"].as_str() {
                assert_eq!(
                    percent_encode(value),
                    expected["encoded"].as_str().unwrap(),
                    "{}",
                    v["id"]
                );
            } else {
                let paths = inputs["paths"].as_array().unwrap();
                let encoded = expected["encoded"].as_array().unwrap();
                for (path, want) in paths.iter().zip(encoded) {
                    assert_eq!(
                        percent_encode_path(path.as_str().unwrap()),
                        want.as_str().unwrap()
                    );
                }
            }
        }
    }

    fn content_md5(body: &str) -> String {
        use md5::Digest;
        BASE64.encode(md5::Md5::digest(body.as_bytes()))
    }

    #[test]
    fn content_md5_vectors() {
        let vectors = vectors("Content-MD5");
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            assert_eq!(
                content_md5(v["inputs"]["body"].as_str().unwrap()),
                v["expected"]["content_md5"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn sha256_vectors() {
        let vectors = vectors("HexEncode(SHA-256)");
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let digest = crate::digest::sha256(v["inputs"]["data"].as_str().unwrap().as_bytes());
            assert_eq!(
                crate::digest::hex(&digest),
                v["expected"]["hex"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn roa_signs_only_acs_headers_sorted_and_trimmed() {
        let sts = roa_string_to_sign(
            "GET",
            "/k8s/c1/user_config",
            &[
                ("TemporaryDurationMinutes", "180"),
                ("PrivateIpAddress", "false"),
            ],
            &[
                ("Date", "Mon, 02 Jan 2006 15:04:05 GMT"),
                ("X-Acs-Version", " 2015-12-15 "),
                ("x-acs-action", "DescribeClusterUserKubeconfig"),
                ("User-Agent", "not signed"),
                ("Accept", "application/json"),
            ],
        );
        assert_eq!(
            sts,
            "GET\napplication/json\n\n\nMon, 02 Jan 2006 15:04:05 GMT\n\
             x-acs-action:DescribeClusterUserKubeconfig\nx-acs-version:2015-12-15\n\
             /k8s/c1/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=180"
        );
    }
}

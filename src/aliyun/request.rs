//! Request assembly: a ROA or RPC call, the credentials and the per-attempt values (time,
//! nonce) in; the URL, headers and body to send, signed, out. Pure, so that what goes on the
//! wire can be tested without a network, and a signature scheme is one function to swap.
//!
//! (Over 400 lines with its tests, which pin what goes on the wire for each request kind: they
//! belong beside the assembly.)

use chrono::{DateTime, Utc};

use super::access_key::Credentials;
use super::sign::{self, v3};
use crate::secret::Secret;

/// A ROA-style call (cs): the action, the API version, a path and a query.
pub(crate) struct RoaRequest<'a> {
    pub(crate) action: &'static str,
    pub(crate) version: &'static str,
    /// What the call is about, for messages: `cluster c0123`.
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'a str, String)>,
}

/// An RPC-style call (servicemesh, STS): the action, the API version and its own parameters;
/// the common ones (`Format`, `Timestamp`, nonce, signature) are added per attempt.
pub(crate) struct RpcRequest<'a> {
    pub(crate) action: &'static str,
    pub(crate) version: &'static str,
    /// What the call is about, for messages: `role acs:ram::1:role/x`.
    pub(crate) target: String,
    pub(crate) params: Vec<(&'a str, String)>,
}

/// The signature scheme, `ACK_SIGNATURE_VERSION`: V3 unless V2 is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// ROA V2 and RPC V2, HMAC-SHA1.
    V2,
    /// ACS3-HMAC-SHA256 for ROA and RPC alike, the official SDKs' default.
    #[default]
    V3,
}

/// What changes from one attempt to the next: every attempt is signed afresh.
pub(crate) struct Stamp<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) nonce: &'a str,
}

impl Stamp<'_> {
    /// `2024-01-01T00:00:00Z`: RPC V2's `Timestamp`, V3's `x-acs-date`.
    fn iso8601(&self) -> String {
        self.now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// One signed HTTP request, ready to send.
pub(crate) struct Signed {
    pub(crate) method: &'static str,
    /// The URL without the endpoint: path and query.
    pub(crate) path_and_query: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<String>,
    /// What was signed, to compare with the server's on `SignatureDoesNotMatch`. It holds the
    /// STS token: never shown as it stands.
    pub(crate) string_to_sign: String,
}

impl RoaRequest<'_> {
    /// `GET` with the query in the URL, signed by `scheme`. `host` is the endpoint's
    /// authority as sent (`cs.cn-hangzhou.aliyuncs.com`, `127.0.0.1:8080`).
    pub(crate) fn sign(
        &self,
        scheme: Scheme,
        host: &str,
        credentials: &Credentials,
        stamp: &Stamp,
    ) -> Signed {
        let query: Vec<(&str, &str)> = self.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = sign::percent_encode_path(&self.path);
        let token = credentials.security_token.as_ref().map(Secret::expose);
        let (mut headers, string_to_sign, authorization) = match scheme {
            Scheme::V2 => {
                let mut headers: Vec<(&'static str, String)> = vec![
                    ("Accept", "application/json".into()),
                    ("Date", crate::time::http_date(stamp.now)),
                    ("x-acs-action", self.action.into()),
                    ("x-acs-version", self.version.into()),
                    ("x-acs-signature-method", "HMAC-SHA1".into()),
                    ("x-acs-signature-version", "1.0".into()),
                    ("x-acs-signature-nonce", stamp.nonce.into()),
                ];
                if let Some(token) = token {
                    headers.push(("x-acs-security-token", token.into()));
                }
                let string_to_sign =
                    sign::roa_string_to_sign("GET", &self.path, &query, &borrowed(&headers));
                let authorization = sign::roa_authorization(
                    &credentials.access_key_id,
                    credentials.access_key_secret.expose(),
                    &string_to_sign,
                );
                (headers, string_to_sign, authorization)
            }
            Scheme::V3 => {
                let hashed = v3::hashed_payload(b"");
                let mut headers =
                    v3_headers(self.action, self.version, host, stamp, token, &hashed);
                let (string_to_sign, authorization) =
                    v3_sign("GET", &path, &query, &headers, &hashed, credentials);
                headers.push(("Accept", "application/json".into()));
                (headers, string_to_sign, authorization)
            }
        };
        headers.push(("Authorization", authorization));
        Signed {
            method: "GET",
            path_and_query: format!("{path}?{}", form(&query)),
            headers,
            body: None,
            string_to_sign,
        }
    }
}

impl RpcRequest<'_> {
    /// `POST /` with every parameter in the form body, where neither the signature nor the
    /// token shows up in a URL or a proxy's log. With `credentials` it is signed by `scheme`;
    /// without, it goes unsigned in either, as `AssumeRoleWithOIDC` must.
    pub(crate) fn sign(
        &self,
        scheme: Scheme,
        host: &str,
        credentials: Option<&Credentials>,
        stamp: &Stamp,
    ) -> Signed {
        let own = self.params.iter().map(|(k, v)| (*k, v.as_str()));
        let (scheme, credentials) = match credentials {
            Some(credentials) => (scheme, Some(credentials)),
            None => (Scheme::V2, None),
        };
        if let (Scheme::V3, Some(credentials)) = (scheme, credentials) {
            // V3 moves the action, version, time and nonce into signed headers: the body keeps
            // the call's own parameters.
            let body = form(&own.collect::<Vec<_>>());
            let token = credentials.security_token.as_ref().map(Secret::expose);
            let hashed = v3::hashed_payload(body.as_bytes());
            let mut headers = v3_headers(self.action, self.version, host, stamp, token, &hashed);
            headers.push(("content-type", FORM.into()));
            let (string_to_sign, authorization) =
                v3_sign("POST", "/", &[], &headers, &hashed, credentials);
            headers.push(("Accept", "application/json".into()));
            headers.push(("Authorization", authorization));
            return Signed {
                method: "POST",
                path_and_query: "/".into(),
                headers,
                body: Some(body),
                string_to_sign,
            };
        }
        let timestamp = stamp.iso8601();
        let mut params: Vec<(&str, &str)> = vec![
            ("Action", self.action),
            ("Version", self.version),
            ("Format", "JSON"),
            ("Timestamp", &timestamp),
            ("SignatureNonce", stamp.nonce),
        ];
        params.extend(own);
        let mut string_to_sign = String::new();
        let signature;
        if let Some(credentials) = credentials {
            params.push(("AccessKeyId", &credentials.access_key_id));
            params.push(("SignatureMethod", "HMAC-SHA1"));
            params.push(("SignatureVersion", "1.0"));
            if let Some(token) = &credentials.security_token {
                params.push(("SecurityToken", token.expose()));
            }
            string_to_sign = sign::rpc_string_to_sign("POST", &params);
            signature =
                sign::rpc_signature(credentials.access_key_secret.expose(), &string_to_sign);
            params.push(("Signature", &signature));
        }
        Signed {
            method: "POST",
            path_and_query: "/".into(),
            headers: vec![
                ("Accept", "application/json".into()),
                ("Content-Type", FORM.into()),
            ],
            body: Some(form(&params)),
            string_to_sign,
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The headers V3 signs for a call: host, action, version, time, nonce, the body's hash
/// (`hashed`, [`v3::hashed_payload`]) and, with STS credentials, the token.
fn v3_headers(
    action: &str,
    version: &str,
    host: &str,
    stamp: &Stamp,
    token: Option<&str>,
    hashed: &str,
) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.into()),
        ("x-acs-action", action.into()),
        ("x-acs-version", version.into()),
        ("x-acs-date", stamp.iso8601()),
        ("x-acs-signature-nonce", stamp.nonce.into()),
        ("x-acs-content-sha256", hashed.into()),
    ];
    if let Some(token) = token {
        headers.push(("x-acs-security-token", token.into()));
    }
    headers
}

/// The V3 string to sign and `Authorization` of a request with these (signed) headers and the
/// body's hash, the one its `x-acs-content-sha256` header carries.
fn v3_sign(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&'static str, String)],
    hashed: &str,
    credentials: &Credentials,
) -> (String, String) {
    let (canonical, signed_headers) =
        v3::canonical_request(method, path, query, &borrowed(headers), hashed);
    let string_to_sign = v3::string_to_sign(&canonical);
    let signature = v3::signature(credentials.access_key_secret.expose(), &string_to_sign);
    let authorization = v3::authorization(&credentials.access_key_id, &signed_headers, &signature);
    (string_to_sign, authorization)
}

fn borrowed<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `name=value&...`, each side percent-encoded: an `application/x-www-form-urlencoded` body
/// as Alibaba Cloud's services read it (the OAuth site's too), a space as `%20`, never `+`.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn sts_key() -> Credentials {
        Credentials {
            access_key_id: "STS.id".into(),
            access_key_secret: Secret::new("secret"),
            security_token: Some(Secret::new("tok/en")),
            expiration: None,
        }
    }

    fn stamp() -> Stamp<'static> {
        Stamp {
            now: DateTime::from_timestamp(1_136_214_245, 0).unwrap(),
            nonce: "n1",
        }
    }

    fn header<'a>(signed: &'a Signed, name: &str) -> Option<&'a str> {
        signed
            .headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    fn cluster_request() -> RoaRequest<'static> {
        RoaRequest {
            action: "DescribeClusterUserKubeconfig",
            version: "2015-12-15",
            target: "cluster c1".into(),
            path: "/k8s/c1/user_config".into(),
            query: vec![
                ("TemporaryDurationMinutes", "180".into()),
                ("A", "x y".into()),
            ],
        }
    }

    fn role_request() -> RpcRequest<'static> {
        RpcRequest {
            action: "AssumeRole",
            version: "2015-04-01",
            target: "role r".into(),
            params: vec![("RoleArn", "acs:ram::1:role/r".into())],
        }
    }

    #[test]
    fn roa_v2_carries_the_token_header_and_an_encoded_query() {
        let signed = cluster_request().sign(Scheme::V2, "cs.example", &sts_key(), &stamp());
        assert_eq!(
            signed.path_and_query,
            "/k8s/c1/user_config?TemporaryDurationMinutes=180&A=x%20y"
        );
        assert_eq!(
            header(&signed, "Date"),
            Some("Mon, 02 Jan 2006 15:04:05 GMT")
        );
        assert_eq!(header(&signed, "x-acs-security-token"), Some("tok/en"));
        assert!(
            header(&signed, "Authorization")
                .unwrap()
                .starts_with("acs STS.id:")
        );
        assert!(
            signed
                .string_to_sign
                .ends_with("/k8s/c1/user_config?A=x y&TemporaryDurationMinutes=180")
        );
    }

    #[test]
    fn roa_v3_signs_host_date_nonce_token_and_the_empty_body() {
        let signed = cluster_request().sign(Scheme::V3, "cs.example:8443", &sts_key(), &stamp());
        assert_eq!(
            signed.path_and_query,
            "/k8s/c1/user_config?TemporaryDurationMinutes=180&A=x%20y"
        );
        assert_eq!(header(&signed, "host"), Some("cs.example:8443"));
        assert_eq!(header(&signed, "x-acs-date"), Some("2006-01-02T15:04:05Z"));
        assert_eq!(header(&signed, "x-acs-security-token"), Some("tok/en"));
        assert_eq!(
            header(&signed, "x-acs-content-sha256"),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(header(&signed, "Date"), None);
        let authorization = header(&signed, "Authorization").unwrap();
        assert!(
            authorization.starts_with(
                "ACS3-HMAC-SHA256 Credential=STS.id,SignedHeaders=host;x-acs-action;\
                 x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;\
                 x-acs-version,Signature="
            ),
            "{authorization}"
        );
        assert!(signed.string_to_sign.starts_with("ACS3-HMAC-SHA256\n"));
    }

    #[test]
    fn rpc_v2_puts_everything_in_the_body_and_signs_only_with_credentials() {
        let signed = role_request().sign(Scheme::V2, "sts.example", Some(&sts_key()), &stamp());
        assert_eq!(signed.path_and_query, "/");
        let body = signed.body.unwrap();
        assert!(body.contains("SecurityToken=tok%2Fen"), "{body}");
        assert!(body.contains("&Signature="), "{body}");
        assert!(
            body.contains("Timestamp=2006-01-02T15%3A04%3A05Z"),
            "{body}"
        );
    }

    #[test]
    fn rpc_v3_keeps_the_calls_parameters_in_the_body_and_signs_its_hash() {
        let signed = role_request().sign(Scheme::V3, "sts.example", Some(&sts_key()), &stamp());
        assert_eq!(signed.path_and_query, "/");
        assert_eq!(
            signed.body.as_deref(),
            Some("RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr")
        );
        assert_eq!(header(&signed, "x-acs-action"), Some("AssumeRole"));
        assert_eq!(
            header(&signed, "x-acs-content-sha256"),
            Some(v3::hashed_payload(b"RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr").as_str())
        );
        assert!(
            header(&signed, "Authorization")
                .unwrap()
                .contains("SignedHeaders=content-type;host;x-acs-action;")
        );
    }

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            sign::percent_encode("a b+c/=&é"),
            "a%20b%2Bc%2F%3D%26%C3%A9"
        );
        assert_eq!(
            sign::percent_encode("2026-01-02T03:04:05Z"),
            "2026-01-02T03%3A04%3A05Z"
        );
    }

    #[test]
    fn unsigned_rpc_is_the_same_in_both_schemes() {
        for scheme in [Scheme::V2, Scheme::V3] {
            let unsigned = role_request().sign(scheme, "sts.example", None, &stamp());
            let body = unsigned.body.clone().unwrap();
            assert!(body.starts_with("Action=AssumeRole&Version=2015-04-01&Format=JSON&"));
            assert!(!body.contains("Signature=") && !body.contains("AccessKeyId"));
            assert_eq!(header(&unsigned, "Authorization"), None);
        }
    }
}

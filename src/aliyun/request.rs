//! Request assembly: a ROA or RPC call, the credentials and the per-attempt values (time,
//! nonce) in; the URL, headers and body to send, signed, out. Pure, so that what goes on the
//! wire can be tested without a network, and a signature scheme is one function to swap.

use super::access_key::Credentials;
use super::sign;

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

/// What changes from one attempt to the next: every attempt is signed afresh.
pub(crate) struct Stamp<'a> {
    /// `Date` for ROA (RFC 1123), `Timestamp` for RPC (`2024-01-01T00:00:00Z`).
    pub(crate) time: &'a str,
    pub(crate) nonce: &'a str,
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
    /// `GET` with the ROA V2 headers and `Authorization`.
    pub(crate) fn sign(&self, credentials: &Credentials, stamp: &Stamp) -> Signed {
        let query: Vec<(&str, &str)> = self.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut headers: Vec<(&'static str, String)> = vec![
            ("Accept", "application/json".into()),
            ("Date", stamp.time.into()),
            ("x-acs-action", self.action.into()),
            ("x-acs-version", self.version.into()),
            ("x-acs-signature-method", "HMAC-SHA1".into()),
            ("x-acs-signature-version", "1.0".into()),
            ("x-acs-signature-nonce", stamp.nonce.into()),
        ];
        if let Some(token) = &credentials.security_token {
            headers.push(("x-acs-security-token", token.expose().into()));
        }
        let signed_headers: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let string_to_sign = sign::roa_string_to_sign("GET", &self.path, &query, &signed_headers);
        headers.push((
            "Authorization",
            sign::roa_authorization(
                &credentials.access_key_id,
                credentials.access_key_secret.expose(),
                &string_to_sign,
            ),
        ));
        Signed {
            method: "GET",
            path_and_query: format!("{}?{}", sign::percent_encode_path(&self.path), form(&query)),
            headers,
            body: None,
            string_to_sign,
        }
    }
}

impl RpcRequest<'_> {
    /// `POST /` with every parameter in the form body, where neither the signature nor the
    /// token shows up in a URL or a proxy's log. With `credentials` it is signed (RPC V2
    /// HMAC-SHA1); without, it goes unsigned, as `AssumeRoleWithOIDC` must.
    pub(crate) fn sign(&self, credentials: Option<&Credentials>, stamp: &Stamp) -> Signed {
        let mut params: Vec<(&str, &str)> = vec![
            ("Action", self.action),
            ("Version", self.version),
            ("Format", "JSON"),
            ("Timestamp", stamp.time),
            ("SignatureNonce", stamp.nonce),
        ];
        params.extend(self.params.iter().map(|(k, v)| (*k, v.as_str())));
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
                ("Content-Type", "application/x-www-form-urlencoded".into()),
            ],
            body: Some(form(&params)),
            string_to_sign,
        }
    }
}

/// `name=value&...`, each side percent-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
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
        }
    }

    const STAMP: Stamp = Stamp {
        time: "Mon, 02 Jan 2006 15:04:05 GMT",
        nonce: "n1",
    };

    #[test]
    fn roa_carries_the_token_header_and_an_encoded_query() {
        let request = RoaRequest {
            action: "DescribeClusterUserKubeconfig",
            version: "2015-12-15",
            target: "cluster c1".into(),
            path: "/k8s/c1/user_config".into(),
            query: vec![
                ("TemporaryDurationMinutes", "180".into()),
                ("A", "x y".into()),
            ],
        };
        let signed = request.sign(&sts_key(), &STAMP);
        assert_eq!(
            signed.path_and_query,
            "/k8s/c1/user_config?TemporaryDurationMinutes=180&A=x%20y"
        );
        let header = |name: &str| {
            signed
                .headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("x-acs-security-token"), Some("tok/en"));
        assert!(header("Authorization").unwrap().starts_with("acs STS.id:"));
        assert!(
            signed
                .string_to_sign
                .ends_with("/k8s/c1/user_config?A=x y&TemporaryDurationMinutes=180")
        );
    }

    #[test]
    fn rpc_puts_everything_in_the_body_and_signs_only_with_credentials() {
        let request = RpcRequest {
            action: "AssumeRole",
            version: "2015-04-01",
            target: "role r".into(),
            params: vec![("RoleArn", "acs:ram::1:role/r".into())],
        };
        let signed = request.sign(Some(&sts_key()), &STAMP);
        assert_eq!(signed.path_and_query, "/");
        let body = signed.body.unwrap();
        assert!(body.contains("SecurityToken=tok%2Fen"), "{body}");
        assert!(body.contains("&Signature="), "{body}");
        let unsigned = request.sign(None, &STAMP).body.unwrap();
        assert!(!unsigned.contains("Signature=") && !unsigned.contains("AccessKeyId"));
    }
}

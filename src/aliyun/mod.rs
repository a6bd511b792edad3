//! Alibaba Cloud OpenAPI: the credentials requests are signed with, request assembly and
//! signing, the HTTP client with its retry policy and hints, and one file per product the
//! plugin calls (cs, servicemesh, adcp, sts), each with its default endpoint.

mod access_key;
mod actions;
pub(crate) mod adcp;
mod answer;
pub(crate) mod client;
pub(crate) mod cs;
pub(crate) mod endpoint;
pub(crate) mod error;
mod hints;
pub(crate) mod probe;
mod proxy;
mod request;
pub(crate) mod retry;
mod roots;
pub(crate) mod servicemesh;
mod sign;
pub(crate) mod sts;

pub(crate) use access_key::Credentials;
pub(crate) use answer::{UNTRUSTED_CERTIFICATE, causes};
pub(crate) use client::Client;
pub(crate) use request::form;

/// Reads an expiry as an API writes it, into Unix seconds.
type ReadExpiry = fn(&str) -> Option<i64>;

/// A kubeconfig issued by the cs, servicemesh or adcp API.
pub(crate) struct IssuedKubeconfig {
    /// The kubeconfig YAML. It holds the private key: never log or show it.
    pub(crate) config: String,
    /// The expiry as the API states it, in Unix seconds.
    pub(crate) expiration: Option<i64>,
    pub(crate) request_id: Option<String>,
}

impl IssuedKubeconfig {
    /// Read an answer holding a kubeconfig in `config_field` and, when the API states one, its
    /// expiry in `expiry` (the field, and how to read it). The body is never quoted: it holds
    /// the private key.
    fn from_answer(
        action: &'static str,
        body: &[u8],
        request_id: Option<&str>,
        config_field: &str,
        expiry: Option<(&str, ReadExpiry)>,
    ) -> Result<Self, crate::error::Error> {
        use serde_json::Value;
        let reading = answer::Reading { action, request_id };
        let body = reading.json(body)?;
        let config = body
            .get(config_field)
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                reading.bad(format!("the body has no `{config_field}` (the kubeconfig)"))
            })?;
        Ok(IssuedKubeconfig {
            config: config.to_string(),
            expiration: expiry
                .and_then(|(field, parse)| body.get(field).and_then(Value::as_str).and_then(parse)),
            request_id: request_id
                .or_else(|| {
                    ["RequestId", "requestId"]
                        .iter()
                        .find_map(|name| body.get(*name).and_then(Value::as_str))
                })
                .map(str::to_string),
        })
    }
}

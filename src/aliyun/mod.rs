//! Alibaba Cloud OpenAPI: request signing, the HTTP client with its retry policy, and one file
//! per product the plugin calls.

pub mod client;
pub mod cs;
pub mod error;
pub mod servicemesh;
pub mod sign;
pub mod sts;

pub use client::Client;
pub use error::ApiError;

/// A kubeconfig issued by the cs or servicemesh API.
pub struct IssuedKubeconfig {
    /// The kubeconfig YAML. It holds the private key: never log or show it.
    pub config: String,
    /// The expiry as the API states it, in Unix seconds.
    pub expiration: Option<i64>,
    pub request_id: Option<String>,
}

//! Alibaba Cloud OpenAPI: request signing, the HTTP client with its retry policy, and one file
//! per product the plugin calls.

pub mod client;
pub mod cs;
pub mod error;
pub mod sign;
pub mod sts;

pub use client::Client;
pub use error::ApiError;

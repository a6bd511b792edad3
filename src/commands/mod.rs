//! One use case per file.

pub mod cache;
pub mod completions;
pub mod credential;
pub mod get_credential;
pub mod kubeconfig;

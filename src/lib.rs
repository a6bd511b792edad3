//! `ack-credential-plugin`: a kubectl exec credential plugin for Alibaba Cloud Container Service
//! for Kubernetes (ACK).
//!
//! kubectl (or k9s, Lens, any client-go program) runs `ack-credential-plugin get-credential` on
//! every invocation. The plugin works out who the caller is without touching the network, looks
//! for a cached certificate for that caller and cluster, and only on a miss asks the ACK API for a
//! short-lived user kubeconfig, takes the client certificate and key out of it and caches them.
//!
//! The stdout contract: on success stdout carries exactly one `ExecCredential` JSON document and
//! nothing else; on failure stdout is empty, the exit code is non-zero and stderr says what failed
//! and what to do. The plugin never reads stdin.

pub mod aliyun;
pub mod cache;
pub mod cert;
pub mod cli;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod error;
pub mod exec_credential;
pub mod fsutil;
#[cfg(test)]
mod fuzz;
pub mod kubeconfig;
pub mod log;
pub mod secret;
pub mod time;

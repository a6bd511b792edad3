//! `ack-credential-plugin`: a kubectl exec credential plugin for Alibaba Cloud Container Service
//! for Kubernetes (ACK) and Service Mesh (ASM).
//!
//! kubectl (or k9s, Lens, any client-go program) runs `ack-credential-plugin get-credential` on
//! every invocation. The plugin works out who the caller is without touching the network, looks
//! for a cached certificate for that caller and cluster, and only on a miss asks the ACK API for a
//! short-lived user kubeconfig, takes the client certificate and key out of it and caches them.
//!
//! The stdout contract: on success stdout carries exactly one `ExecCredential` JSON document and
//! nothing else; on failure stdout is empty, the exit code is non-zero and stderr says what failed
//! and what to do. The plugin never reads stdin.
//!
//! The crate is a binary with a library inside for two callers: `main.rs`, which calls
//! [`main`], and the fuzz targets in `fuzz/`, which call [`fuzzing`]. Everything else is
//! crate-private; docs/ARCHITECTURE.md shows the layers.

mod aliyun;
mod apiserver;
mod cache;
mod cert;
mod cli;
mod commands;
mod config;
#[cfg(test)]
mod conformance;
mod credentials;
mod digest;
mod env;
mod error;
mod exec_credential;
mod fsutil;
#[cfg(test)]
mod fuzz;
pub mod fuzzing;
mod kubeconfig;
#[cfg(test)]
mod layers;
mod log;
mod secret;
mod time;

/// Run the plugin with the process's arguments and environment; the exit code is 0, 2 for a
/// usage error, 1 for anything else.
#[must_use]
pub fn main() -> std::process::ExitCode {
    commands::main()
}

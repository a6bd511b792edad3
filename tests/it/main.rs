//! One integration-test binary: the real `ack-credential-plugin` binary run against an in-process
//! fake of the Alibaba Cloud APIs and, end to end, real kubectl against a TLS API server.
//!
//! `support/` owns what the tests share (the fake, the `Plugin` builder with its leak check,
//! kubectl, goldens); each other module is one topic, and `golden_errors/` pins the whole message
//! of every main error path.

#![allow(
    clippy::too_many_lines,
    reason = "an integration scenario reads top to bottom; cut into helpers, it would hide what it checks"
)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "test timings, ports and seeds: small by construction, and a wrong one fails a test"
)]
#![allow(
    clippy::needless_pass_by_value,
    reason = "test helpers take owned values so that call sites read as builders"
)]

mod support;

mod budgets;
mod cache_cmd;
mod cli;
mod credential_chain;
mod discovery;
mod doctor;
mod fleet;
mod get_credential;
mod golden_errors;
mod kubeconfig_cmd;
mod kubeconfig_merge;
mod kubectl_e2e;
mod mesh;
mod network;
mod reliability;
mod signatures;
